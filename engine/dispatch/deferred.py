"""Deferred sends (`dateEnvoi`): accepted and reserved at once, released at their time.

The account's actor records a deferred send like any other but does not offer
its messages; the facade then `hold`s its ref here until its departure. At that
time the send's messages still EN_ATTENTE are read from the store and offered to
the dispatcher as after a restart (`requeue`). The store is the record: after a
restart, `Runtime` holds again every send whose departure has not come. `cancel`
takes a send out before its time (the facade then ends its recipients ANNULE);
once released, a send cannot be cancelled.

Time is trio's clock mapped to wall time (`WallClock.trio_time_of`), so tests run
departures under `trio.testing.MockClock`.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import trio

from engine.clock import WallClock
from engine.dispatch.recovery import Accounts, Outlet, requeue
from engine.model import AccountId, SendRef
from engine.store import Store, store_failures

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeferredStatistics:
    """Sends held for a later departure, and sends released so far."""

    held: int
    released: int
    next_departure: str | None


class DeferredSends:
    def __init__(self, store: Store, accounts: Accounts, outlet: Outlet, clock: WallClock) -> None:
        self._store = store
        self._accounts = accounts
        self._outlet = outlet
        self._clock = clock
        self._held: dict[SendRef, tuple[AccountId, str]] = {}
        self._timers: list[tuple[float, SendRef]] = []
        self._changed = trio.Event()
        self._released = 0

    def hold(self, account_id: AccountId, ref: SendRef, departure: str) -> None:
        """Keep `ref` until `departure` (ISO 8601); holding it again changes nothing."""
        if ref in self._held:
            return
        self._held[ref] = (account_id, departure)
        at = self._clock.trio_time_of(datetime.fromisoformat(departure))
        heapq.heappush(self._timers, (at, ref))
        self._changed.set()

    def cancel(self, ref: SendRef) -> bool:
        """Take `ref` out before its departure; False when it is not held (never
        deferred, or already released)."""
        return self._held.pop(ref, None) is not None

    def drop(self, owned: Callable[[AccountId], bool]) -> int:
        """Forget the sends held for the accounts `owned` names (they moved to
        another node, which holds them from the store); returns how many."""
        gone = [ref for ref, (account_id, _) in self._held.items() if owned(account_id)]
        for ref in gone:
            del self._held[ref]
        return len(gone)

    def departure(self, ref: SendRef) -> str | None:
        held = self._held.get(ref)
        return held[1] if held is not None else None

    def statistics(self) -> DeferredStatistics:
        upcoming = [d for _, d in self._held.values()]
        return DeferredStatistics(len(self._held), self._released, min(upcoming, default=None))

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self)
        while True:
            self._changed = trio.Event()
            deadline = self._timers[0][0] if self._timers else float("inf")
            with trio.move_on_at(deadline):
                await self._changed.wait()
            now = trio.current_time()
            while self._timers and self._timers[0][0] <= now:
                _, ref = heapq.heappop(self._timers)
                if ref in self._held:
                    await self._release(ref)

    async def _release(self, ref: SendRef) -> None:
        try:
            rows = await self._store.messages.waiting_of(ref)
        except store_failures():
            log.exception("deferred send %s: could not read its messages; trying again", ref)
            heapq.heappush(self._timers, (trio.current_time() + 1.0, ref))
            return
        if self._held.pop(ref, None) is None:
            return  # cancelled while its messages were read
        queued, _ = await requeue(
            rows, store=self._store, accounts=self._accounts, outlet=self._outlet
        )
        self._released += 1
        log.info("deferred send %s released: %d messages", ref, queued)
