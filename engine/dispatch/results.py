"""The result router: final outcomes to their account actor, receipts to the store.

Senders push batches of `Ended` and `Receipt` events without waiting on any
actor; the router drains what has arrived, groups outcomes by account (one
`Settle` per account per drain) and records receipts in one store transaction
per drain.

Receipts are matched to their message by the SMSC's message id, whatever its
spelling (hex or decimal, leading zeros, case). The router remembers the ids of
the outcomes it routed recently (`recent_ids`, bounded), so a receipt arriving
right after its submit_sm_resp is matched in memory, even before the outcome is
committed; older ones are looked up in the store, all the receipts of one drain
in one store operation.

A receipt that matches nothing yet waits (`receipt_patience_s`) among the
unmatched, which are bounded (`unmatched_max`; past it the oldest is dropped and
counted) and tried again two ways: in memory, at no cost, when an outcome with
one of its ids is routed (the receipt that overtook its submit_sm_resp), and in
the store, all of them in one operation per round, rounds spaced from
`retry_first_s` doubling up to `retry_max_s`. Each receipt is counted once:
matched, or unmatched when its patience runs out or it is dropped.

A concatenated message gets `livraison` once every part has its receipt (rule in
`engine.store.messages.combine_livraison`); each part's receipt is kept meanwhile.

Restart: what a run of `serve` had drained and not finished stays on the router.
The next run (the supervisor's restart) settles the outcomes again, which cannot
bill twice (the ledger leaves out messages already ended, in the same
transaction), and puts the receipts among the unmatched, so a receipt that makes
the store fail is given up after its patience like any other.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import trio

from engine.actor import NotHeld
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


RECENT_IDS = 20_000
"""The router's default bound of recent SMSC ids (`RecentIds`, ~120 octets each: 2.4 MB
at most). A receipt that comes within a second of its submit_sm_resp at a bind's
full rate (20,000 ids are 0.4 to 0.8 s at 25,000 messages a second, longer at a
lower rate) is matched in memory; a later one is matched in the store, in one
lookup per drain of the router. The ids are kept among the many short-lived
objects of a bulk run: at 100,000 they held ~13 MB more of the process's memory
after a run of 100,000 messages than at 20,000."""


class Ended(NamedTuple):
    """A message ended on a bind, for its account's actor. A named tuple: one is
    made per message sent, at the cost of a tuple."""

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


_PARTS_BITS = 16
_REF_BITS = 64


class RecentIds:
    """The SMSC ids of recently routed outcomes, each with its message: a map from
    an id's normalised spelling to (message id, send ref, parts), bounded to about
    `capacity` ids, the oldest forgotten first.

    Kept compact, as it holds an entry per message sent for a long while (hundreds
    of thousands): an id written in decimal digits is keyed by its number, the
    three values are packed into one integer, and the bound is kept by two
    generations of plain dicts (the older one dropped whole when the newer one
    holds half the capacity) rather than a linked ordered map. An id of decimal
    digits without a leading zero is the only text that its number reads back to,
    so keying it by that number confuses no two spellings."""

    __slots__ = ("_half", "_new", "_old")

    def __init__(self, capacity: int) -> None:
        self._half = max(1, capacity // 2)
        self._new: dict[int | str, int] = {}
        self._old: dict[int | str, int] = {}

    @staticmethod
    def _key(spelling: str) -> int | str:
        if (spelling.isdigit() and spelling.isascii() and len(spelling) <= 18
                and (spelling[0] != "0" or spelling == "0")):
            return int(spelling)
        return spelling

    def put(self, spelling: str, message_id: int, ref: int, parts: int) -> None:
        new = self._new
        new[self._key(spelling)] = ((message_id << _REF_BITS | ref) << _PARTS_BITS) | parts
        if len(new) >= self._half:
            self._old, self._new = new, {}

    def get(self, spelling: str) -> tuple[int, int, int] | None:
        key = self._key(spelling)
        packed = self._new.get(key)
        if packed is None:
            packed = self._old.get(key)
            if packed is None:
                return None
        parts = packed & ((1 << _PARTS_BITS) - 1)
        rest = packed >> _PARTS_BITS
        return rest >> _REF_BITS, rest & ((1 << _REF_BITS) - 1), parts

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


@dataclass(slots=True)
class _Late:
    receipt: Receipt
    spellings: list[str]
    deadline: float


class ResultRouter:
    """Owns the memory of recent SMSC ids, the receipts still unmatched and what
    it has drained and not finished. `serve` drains the events channel until it is
    closed or cancelled."""

    def __init__(
        self,
        registry: Accounts,
        store: Store,
        events: trio.MemoryReceiveChannel[list[Event]],
        *,
        on_receipts: Callable[[Sequence[tuple[int, int, str, str]]], None] | None = None,
        recent_ids: int = RECENT_IDS,
        receipt_patience_s: float = 60.0,
        unmatched_max: int = 20_000,
        retry_first_s: float = 1.0,
        retry_max_s: float = 30.0,
    ) -> None:
        self._registry = registry
        self._store = store
        self._events = events
        self._on_receipts = on_receipts
        self._recent = RecentIds(recent_ids)
        self._patience_s = receipt_patience_s
        self._late: OrderedDict[int, _Late] = OrderedDict()
        self._late_by_id: dict[str, int] = {}
        self._late_max = unmatched_max
        self._late_seq = 0
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._retry_s = retry_first_s
        self._next_round = float("inf")
        self._unsettled: dict[AccountId, list[Outcome]] = {}
        self._fresh: list[Receipt] = []
        self._found: list[PartReceipt] = []
        self.outcomes_routed = 0
        self.outcomes_dropped = 0
        """Outcomes of accounts that moved to another node while on a bind."""
        self.receipts_matched = 0
        self.receipts_unmatched = 0
        self.receipts_dropped = 0
        """Unmatched receipts given up before their patience ran out (over `unmatched_max`)."""
        self.store_lookups = 0
        """Store operations that looked receipts up (one per drain or retry round)."""

    def holds(self, owned: Callable[[AccountId], bool]) -> bool:
        """Outcomes of the accounts `owned` names not yet handed to their actors,
        or outcomes not read yet (whoever's they are)."""
        return bool(self._events.statistics().current_buffer_used) or any(
            owned(a) for a in self._unsettled
        )

    @property
    def receipts_waiting(self) -> int:
        """Unmatched receipts still tried again."""
        return len(self._late)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self._resume()
        task_status.started()
        while True:
            drained: list[Event] = []
            wake_at = self._next_round
            if self._late:
                wake_at = min(wake_at, next(iter(self._late.values())).deadline)
            with trio.move_on_at(wake_at):
                try:
                    drained.extend(await self._events.receive())
                except trio.EndOfChannel:
                    return
            while len(drained) < 8192:
                try:
                    drained.extend(self._events.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            self._take(drained)
            await self._route()

    def _resume(self) -> None:
        """After a failed run: its receipts join the unmatched (tried again at
        once); its outcomes are settled again by the next `_route`."""
        fresh, self._fresh = self._fresh, []
        if fresh:
            self._wait(fresh, trio.current_time())
            self._next_round = trio.current_time()
        if self._unsettled or self._found:
            self._next_round = trio.current_time()

    def _remember(self, outcome: Outcome) -> None:
        ids = outcome.smsc_ids
        recent = self._recent
        late = self._late_by_id
        message_id, ref, parts = outcome.message_id, outcome.ref, len(ids)
        for sid in ids:
            spelling = normalize_smsc_id(sid)
            recent.put(spelling, message_id, ref, parts)
            if late and spelling in late:
                waiting = self._late.pop(late[spelling], None)
                if waiting is not None:
                    self._forget_late(waiting)
                    r = waiting.receipt
                    self._found.append(
                        PartReceipt(spelling, message_id, ref, parts, r.livraison, r.at)
                    )

    def _take(self, events: list[Event]) -> None:
        unsettled = self._unsettled
        fresh = self._fresh
        for ev in events:
            if isinstance(ev, Ended):
                unsettled.setdefault(ev.account_id, []).append(ev.outcome)
                if ev.outcome.smsc_ids:
                    self._remember(ev.outcome)
            else:
                fresh.append(ev)

    async def _route(self) -> None:
        unsettled = self._unsettled
        while unsettled:
            account_id, outcomes = next(iter(unsettled.items()))
            try:
                await self._registry.settle(account_id, tuple(outcomes))
            except NotHeld:
                # its shard moved to another node while these were on a bind: they
                # stay EN_ATTENTE with their attempt, and the new holder sends them
                # again flagged doublonPossible (at least once, never hidden)
                log.warning("account %s: %d outcomes dropped, the account moved to another "
                            "node", account_id, len(outcomes))
                self.outcomes_dropped += len(outcomes)
            del unsettled[account_id]
            self.outcomes_routed += len(outcomes)
        now = trio.current_time()
        self._expire(now)
        if self._fresh or self._found:
            await self._record_fresh(now)
        if self._late and now >= self._next_round:
            await self._retry_round(now)

    def _expire(self, now: float) -> None:
        late = self._late
        expired = 0
        while late:
            key, oldest = next(iter(late.items()))
            if oldest.deadline > now:
                break
            del late[key]
            self._forget_late(oldest)
            expired += 1
        if expired:
            self.receipts_unmatched += expired
            log.info("%d delivery receipts matched no message", expired)
        if not late:
            self._next_round = float("inf")

    async def _record_fresh(self, now: float) -> None:
        """The receipts of this drain: matched in memory, or looked up in the store
        in one operation; those matching nothing join the unmatched."""
        known = list(self._found)
        unknown: list[Receipt] = []
        recent = self._recent
        for r in self._fresh:
            spelling = normalize_smsc_id(r.smsc_id)
            hit = recent.get(spelling)  # the id as the SMSC gave it in submit_sm_resp
            if hit is None:
                for spelling in smsc_id_candidates(r.smsc_id)[1:]:
                    hit = recent.get(spelling)
                    if hit is not None:
                        break
            if hit is None:
                unknown.append(r)
            else:
                known.append(PartReceipt(spelling, hit[0], hit[1], hit[2], r.livraison, r.at))
        if unknown:
            self.store_lookups += 1
        matched, missing = await self._store.receipts.record(
            known, [(r.smsc_id, r.livraison, r.at) for r in unknown]
        )
        self.receipts_matched += len(known) + len(unknown) - len(missing)
        self._found = []
        self._fresh = []
        if missing:
            self._wait([unknown[i] for i in missing], now)
        if matched and self._on_receipts is not None:
            self._on_receipts(matched)

    def _wait(self, receipts: list[Receipt], now: float) -> None:
        """Add receipts to the unmatched; past `unmatched_max`, drop the oldest."""
        if not self._late:
            self._retry_s = self._retry_first_s
            self._next_round = now + self._retry_s
        late, index = self._late, self._late_by_id
        deadline = now + self._patience_s
        for r in receipts:
            self._late_seq += 1
            spellings = smsc_id_candidates(r.smsc_id)
            late[self._late_seq] = _Late(r, spellings, deadline)
            for spelling in spellings:
                index[spelling] = self._late_seq
        dropped = 0
        while len(late) > self._late_max:
            _, oldest = late.popitem(last=False)
            self._forget_late(oldest)
            dropped += 1
        if dropped:
            self.receipts_dropped += dropped
            self.receipts_unmatched += dropped
            log.warning(
                "%d unmatched delivery receipts dropped: over %d waiting", dropped, self._late_max
            )

    def _forget_late(self, gone: _Late) -> None:
        index = self._late_by_id
        for spelling in gone.spellings:
            key = index.get(spelling)
            if key is not None and self._late.get(key) is None:
                del index[spelling]

    async def _retry_round(self, now: float) -> None:
        """Look every unmatched receipt up in the store, in one operation."""
        keys = list(self._late)
        waiting = [self._late[k] for k in keys]
        self.store_lookups += 1
        matched, missing = await self._store.receipts.record(
            [], [(w.receipt.smsc_id, w.receipt.livraison, w.receipt.at) for w in waiting]
        )
        still = set(missing)
        for i, key in enumerate(keys):
            if i not in still:
                gone = self._late.pop(key, None)
                if gone is not None:
                    self.receipts_matched += 1
                    self._forget_late(gone)
        self._retry_s = min(self._retry_s * 2, self._retry_max_s)
        self._next_round = now + self._retry_s if self._late else float("inf")
        if matched and self._on_receipts is not None:
            self._on_receipts(matched)
