"""The result router: final outcomes to their account actor, receipts to the store.

Senders push batches of `Ended` and `Receipt` events without waiting on any
actor; the router drains what has arrived, groups outcomes by account (one
`Settle` per account per drain) and records receipts in one store transaction
per drain.

Receipts are matched to their message by the SMSC's message id, whatever its
spelling (hex or decimal, leading zeros, case). The router remembers the ids of
the outcomes it routed recently (`recent_ids`, bounded), so a receipt arriving
right after its submit_sm_resp is matched in memory, even before the outcome is
committed; older ones are looked up in the store; one that matches nothing yet is
tried again for a while (`receipt_patience_s`).

A concatenated message gets `livraison` once every part has its receipt (rule in
`engine.store.messages.combine_livraison`); each part's receipt is kept meanwhile.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from engine.model import AccountId, Outcome, PartReceipt
from engine.store import Store
from engine.store.messages import normalize_smsc_id, smsc_id_candidates

log = logging.getLogger(__name__)

__all__ = [
    "Ended",
    "Event",
    "Receipt",
    "ResultRouter",
    "normalize_smsc_id",
    "smsc_id_candidates",
]


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


class Accounts(Protocol):
    """The account registry, as the router uses it."""

    async def settle(self, account_id: AccountId, outcomes: tuple[Outcome, ...]) -> None:
        """Hand final outcomes to the account's actor (waits while its mailbox is full)."""


class ResultRouter:
    """Owns the memory of recent SMSC ids and the receipts still unmatched.
    `serve` drains the events channel until it is closed or cancelled."""

    def __init__(
        self,
        registry: Accounts,
        store: Store,
        events: trio.MemoryReceiveChannel[list[Event]],
        *,
        on_receipts: Callable[[Sequence[tuple[int, int, str, str]]], None] | None = None,
        recent_ids: int = 400_000,
        receipt_patience_s: float = 60.0,
    ) -> None:
        self._registry = registry
        self._store = store
        self._events = events
        self._on_receipts = on_receipts
        self._recent: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
        self._recent_max = recent_ids
        self._patience_s = receipt_patience_s
        self._late: list[tuple[float, Receipt]] = []
        self.outcomes_routed = 0
        self.receipts_matched = 0
        self.receipts_unmatched = 0

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            drained: list[Event] = []
            with trio.move_on_after(0.2 if self._late else float("inf")):
                try:
                    drained.extend(await self._events.receive())
                except trio.EndOfChannel:
                    return
            while len(drained) < 8192:
                try:
                    drained.extend(self._events.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await self._route(drained)

    def _remember(self, outcome: Outcome) -> None:
        ids = outcome.smsc_ids
        recent = self._recent
        for sid in ids:
            recent[normalize_smsc_id(sid)] = (outcome.message_id, outcome.ref, len(ids))
        while len(recent) > self._recent_max:
            recent.popitem(last=False)

    async def _route(self, events: list[Event]) -> None:
        by_account: dict[AccountId, list[Outcome]] = {}
        receipts: list[Receipt] = []
        for ev in events:
            if isinstance(ev, Ended):
                by_account.setdefault(ev.account_id, []).append(ev.outcome)
                if ev.outcome.smsc_ids:
                    self._remember(ev.outcome)
            else:
                receipts.append(ev)
        for account_id, outcomes in by_account.items():
            self.outcomes_routed += len(outcomes)
            await self._registry.settle(account_id, tuple(outcomes))
        now = trio.current_time()
        pending = [(now + self._patience_s, r) for r in receipts]
        expired = sum(1 for deadline, _ in self._late if deadline <= now)
        if expired:
            self.receipts_unmatched += expired
            log.info("%d delivery receipts matched no message", expired)
        pending.extend((deadline, r) for deadline, r in self._late if deadline > now)
        self._late = []
        if pending:
            await self._record(pending)

    async def _record(self, pending: list[tuple[float, Receipt]]) -> None:
        known: list[PartReceipt] = []
        unknown: list[int] = []
        recent = self._recent
        for index, (_, r) in enumerate(pending):
            spelling = normalize_smsc_id(r.smsc_id)
            hit = recent.get(spelling)  # the id as the SMSC gave it in submit_sm_resp
            if hit is None:
                for spelling in smsc_id_candidates(r.smsc_id)[1:]:
                    hit = recent.get(spelling)
                    if hit is not None:
                        break
            if hit is None:
                unknown.append(index)
            else:
                known.append(PartReceipt(spelling, hit[0], hit[1], hit[2], r.livraison, r.at))
        looked_up = [pending[i][1] for i in unknown]
        matched, missing = await self._store.receipts.record(
            known, [(r.smsc_id, r.livraison, r.at) for r in looked_up]
        )
        self.receipts_matched += len(pending) - len(missing)
        self._late = [pending[unknown[i]] for i in missing]
        if matched and self._on_receipts is not None:
            self._on_receipts(matched)
