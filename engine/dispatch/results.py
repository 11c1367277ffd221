"""The result router: final outcomes to their account actor, receipts to the store.

Senders push `Ended` and `Receipt` events without waiting on any actor; the router
drains what has arrived, groups outcomes by account (one `Settle` per account per
drain) and records receipts in one store transaction per drain. A receipt that
arrives before its message's outcome is committed is kept and tried again on the
next drains for a while.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from engine.accounts.commands import Settle
from engine.store import Store
from engine.store import messages as q_messages
from engine.store.messages import Outcome
from engine.types import AccountId

log = logging.getLogger(__name__)

_RECEIPT_PATIENCE_S = 60.0


@dataclass(frozen=True, slots=True)
class Ended:
    account_id: AccountId
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Receipt:
    smsc_id: str
    livraison: str
    at: str


Event = Ended | Receipt


class Teller(Protocol):
    async def tell(self, account_id: AccountId, command: Settle) -> None: ...


def smsc_id_candidates(smsc_id: str) -> list[str]:
    """Spellings under which the SMSC may have given the same id (hex or decimal,
    leading zeros, case)."""
    base = smsc_id.strip().lower()
    stripped = base.lstrip("0") or "0"
    out = [base, stripped]
    if stripped.isdigit():
        out.append(format(int(stripped), "x"))
    try:
        out.append(str(int(stripped, 16)))
    except ValueError:
        pass
    return list(dict.fromkeys(out))


def normalize_smsc_id(smsc_id: str) -> str:
    return smsc_id.strip().lower().lstrip("0") or "0"


class ResultRouter:
    def __init__(
        self,
        registry: Teller,
        store: Store,
        events: trio.MemoryReceiveChannel[Event],
        *,
        on_receipts: Callable[[Sequence[tuple[int, int, str, str]]], None] | None = None,
    ) -> None:
        self._registry = registry
        self._store = store
        self._events = events
        self._on_receipts = on_receipts
        self._late: list[tuple[float, Receipt]] = []
        self.receipts_matched = 0
        self.receipts_unmatched = 0

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            drained: list[Event] = []
            with trio.move_on_after(0.2 if self._late else float("inf")):
                try:
                    drained.append(await self._events.receive())
                except trio.EndOfChannel:
                    return
            while len(drained) < 4096:
                try:
                    drained.append(self._events.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await self._route(drained)

    async def _route(self, events: list[Event]) -> None:
        by_account: dict[AccountId, list[Outcome]] = {}
        receipts: list[Receipt] = []
        for ev in events:
            if isinstance(ev, Ended):
                by_account.setdefault(ev.account_id, []).append(ev.outcome)
            else:
                receipts.append(ev)
        for account_id, outcomes in by_account.items():
            await self._registry.tell(account_id, Settle(tuple(outcomes)))
        now = trio.current_time()
        pending = [(now + _RECEIPT_PATIENCE_S, r) for r in receipts]
        pending.extend((deadline, r) for deadline, r in self._late if deadline > now)
        self.receipts_unmatched += sum(1 for deadline, _ in self._late if deadline <= now)
        self._late = []
        if pending:
            await self._record(pending)

    async def _record(self, pending: list[tuple[float, Receipt]]) -> None:
        def job(conn: sqlite3.Connection) -> tuple[list[tuple[int, int, str, str]], list[int]]:
            matched: list[tuple[int, int, str, str]] = []
            missing: list[int] = []
            for index, (_, r) in enumerate(pending):
                for candidate in smsc_id_candidates(r.smsc_id):
                    found = q_messages.record_receipts(conn, [(candidate, r.livraison, r.at)])
                    if found:
                        matched.extend(found)
                        break
                else:
                    missing.append(index)
            return matched, missing

        matched, missing = await self._store.transact(job)
        self.receipts_matched += len(matched)
        self._late = [pending[i] for i in missing]
        if matched and self._on_receipts is not None:
            self._on_receipts(matched)
