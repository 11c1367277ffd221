"""Receipts that match no message: bounded, tried again in batches with backoff,
each counted once. The router runs under trio's mock clock against the store's
own receipt SQL on an in-process SQLite database (the production schema), so the
number of store lookups is exact and the test takes no real time."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import trio
import trio.testing

from engine.dispatch.results import Ended, Event, Receipt, ResultRouter
from engine.model import AccountId, MessageId, MessageStatus, Outcome, PartReceipt, SendRef
from engine.store import messages as q_messages
from engine.store.sqlite import SqliteConnection, migrate

NOW = "2026-01-01T12:00:00.000Z"


class CountingReceipts:
    """The store's `receipts.record`, run in-process, counting its lookups."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None, factory=SqliteConnection)
        migrate(self.conn)
        self.lookups = 0
        self.looked_up = 0

    async def record(
        self, known: Sequence[PartReceipt], looked_up: Sequence[tuple[str, str, str]]
    ) -> tuple[list[tuple[int, int, str, str]], list[int]]:
        if looked_up:
            self.lookups += 1
            self.looked_up += len(looked_up)
        found, missing = q_messages.find_receipted(self.conn, looked_up)
        return q_messages.record_receipts(self.conn, [*known, *found]), missing


class FakeStore:
    def __init__(self) -> None:
        self.receipts = CountingReceipts()


class Accounts:
    def __init__(self) -> None:
        self.settled: list[Outcome] = []

    async def settle(self, account_id: AccountId, outcomes: tuple[Outcome, ...]) -> None:
        self.settled.extend(outcomes)


def unknown(count: int, start: int = 0) -> list[Event]:
    return [Receipt(f"{900_000_000 + start + i}", "LIVRE", NOW) for i in range(count)]


async def run_router(batches: list[list[Event]], *, run_s: float, **options: Any) -> ResultRouter:
    """Feed `batches`, one every 0.1 s, to a router; return it after `run_s`."""
    store = FakeStore()
    send, receive = trio.open_memory_channel[list[Event]](len(batches) + 1)
    router = ResultRouter(Accounts(), store, receive, **options)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(router.serve)
        for events in batches:
            await send.send(events)
            await trio.sleep(0.1)
        await trio.sleep(run_s)
        nursery.cancel_scope.cancel()
    router.lookups = store.receipts.lookups  # type: ignore[attr-defined]
    return router


async def test_unknown_receipts_cost_a_bounded_number_of_store_lookups_whatever_their_count(
    autojump_clock: trio.testing.MockClock,
) -> None:
    few = await run_router([unknown(100, 100 * b) for b in range(20)], run_s=70)
    many = await run_router([unknown(500, 500 * b) for b in range(20)], run_s=70)
    for router, total in ((few, 2_000), (many, 10_000)):
        assert router.receipts_unmatched == total, "each given up once, after its patience"
        assert router.receipts_matched == 0
        assert router.receipts_waiting == 0
        assert router.receipts_dropped == 0
    # one lookup per drain (20), then rounds 1 s apart doubling up to 30 s over the
    # 60 s of patience: a few more, not one per receipt every 0.2 s
    assert many.lookups == few.lookups  # type: ignore[attr-defined]
    assert 20 < many.lookups <= 26, many.lookups  # type: ignore[attr-defined]


async def test_unmatched_receipts_are_capped_and_the_oldest_dropped_are_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    router = await run_router([unknown(3_000), unknown(3_000, 3_000)], run_s=1, unmatched_max=1_000)
    assert router.receipts_waiting == 1_000
    assert router.receipts_dropped == 5_000
    assert router.receipts_unmatched == 5_000, "the dropped count as unmatched, once"


async def test_a_receipt_that_overtakes_its_outcome_is_matched_in_memory_when_the_outcome_comes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # the receipt gives the id in hex, submit_sm_resp in decimal, as some SMSCs do
    outcome = Outcome(MessageId(7), SendRef(3), MessageStatus.ENVOYE, smsc_ids=("0123456",), at=NOW)
    matched: list[tuple[int, int, str, str]] = []
    store = FakeStore()
    send, receive = trio.open_memory_channel[list[Event]](4)
    router = ResultRouter(
        Accounts(), store, receive, on_receipts=matched.extend,  # type: ignore[arg-type]
        retry_first_s=5.0,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(router.serve)
        await send.send([Receipt(format(123456, "X"), "LIVRE", NOW)])
        await trio.testing.wait_all_tasks_blocked()
        assert router.receipts_waiting == 1
        await trio.sleep(1)
        await send.send([Ended(AccountId(1), outcome)])
        await trio.testing.wait_all_tasks_blocked()
        assert router.receipts_waiting == 0
        assert router.receipts_matched == 1
        assert matched == [(7, 3, "LIVRE", NOW)]
        assert store.receipts.lookups == 1, "only the first lookup, no retry round"
        nursery.cancel_scope.cancel()


async def test_a_receipt_id_of_five_thousand_digits_is_unmatched_without_failing_the_router(
    autojump_clock: trio.testing.MockClock,
) -> None:
    router = await run_router([[Receipt("9" * 5_000, "LIVRE", NOW)]], run_s=61)
    assert router.receipts_unmatched == 1


async def test_a_receipt_whose_id_memory_has_forgotten_is_looked_up_in_the_store(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The recent ids are bounded: past the bound, a receipt is matched through the
    store (one lookup for the drain), while a recent one is matched in memory."""
    outcomes: list[Event] = [
        Ended(AccountId(1), Outcome(MessageId(n), SendRef(1), MessageStatus.ENVOYE,
                                    smsc_ids=(str(n),), at=NOW))
        for n in range(1, 11)
    ]
    receipts: list[Event] = [Receipt("1", "LIVRE", NOW), Receipt("10", "LIVRE", NOW)]
    router = await run_router([outcomes, receipts], run_s=0.5, recent_ids=4)
    assert router.store_lookups == 1
    assert router.lookups == 1  # type: ignore[attr-defined]
    assert router.receipts_matched == 1, "the recent one, in memory"
    assert router.receipts_waiting == 1, "the forgotten one, unknown to this empty store"
