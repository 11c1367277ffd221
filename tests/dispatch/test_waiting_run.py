"""A bulk send's waiting recipients held as one compact run: the run reads as the
messages it stands for, and the dispatcher's queue gives them back in order
whatever takes them (a bind, a cancellation, an expiry, a failover, a move of
the account to another node)."""

from __future__ import annotations

from array import array

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.message import OutMessage, SendCommon, WaitingRun
from engine.model import AccountId, MessageId, SendRef
from engine.text import encode_message, parse_sender

ENCODED = encode_message("Bonjour", 0)
SENDER = parse_sender("ION-Networking")


def _common(account: int = 1, ref: int = 1, expires_at: float | None = None) -> SendCommon:
    return SendCommon(AccountId(account), SendRef(ref), SENDER, ENCODED, False, expires_at)


def _seen(messages: list[OutMessage]) -> list[tuple[int, str]]:
    return [(m.message_id, m.destination) for m in messages]


numbers = st.from_regex(r"\+241(06|07)[0-9]{6}", fullmatch=True)


@given(
    recipients=st.lists(st.tuples(st.integers(1, 2**62), numbers), max_size=40),
    consecutive=st.booleans(),
    takes=st.integers(0, 45),
)
def test_a_run_reads_as_the_messages_it_stands_for(
    recipients: list[tuple[int, str]], consecutive: bool, takes: int
) -> None:
    if consecutive:
        ids: range | array[int] = range(1000, 1000 + len(recipients))
        recipients = [(1000 + i, n) for i, (_, n) in enumerate(recipients)]
    else:
        ids = array("q", (i for i, _ in recipients))
    common = _common()
    run = WaitingRun(common, ids, [n for _, n in recipients])
    assert len(run) == len(recipients)
    assert _seen(list(run)) == recipients
    taken = []
    for _ in range(min(takes, len(recipients))):
        taken.append(run.take())
    assert _seen(taken) == recipients[: len(taken)]
    rest = recipients[len(taken):]
    assert len(run) == len(rest) and bool(run) == bool(rest)
    assert _seen(list(run)) == rest
    assert _seen([run[i] for i in range(len(rest))]) == rest
    if rest:
        assert _seen([run[-1]]) == rest[-1:]
        assert _seen(run[1:]) == rest[1:]
    else:
        with pytest.raises(IndexError):
            run.take()
    made = run[0] if rest else None
    assert made is None or (made.common is common and made.attempts == 0 and not made.done)


def test_a_run_needs_an_id_per_number() -> None:
    with pytest.raises(ValueError):
        WaitingRun(_common(), range(3), ["+24106000001"])


def _run(first: int, count: int, *, account: int = 1, ref: int = 1,
         expires_at: float | None = None) -> WaitingRun:
    numbers = [f"+2410700{i:04d}" for i in range(first, first + count)]
    return WaitingRun(_common(account, ref, expires_at), range(first, first + count), numbers)


def _dispatcher() -> Dispatcher:
    return Dispatcher(None, binds=1, channel_size=4)  # type: ignore[arg-type]


async def test_queued_runs_and_messages_come_back_in_order_and_counted() -> None:
    d = _dispatcher()
    d.offer(_run(1, 5))
    d.offer([OutMessage(MessageId(6), AccountId(1), SendRef(2), "+24106000006", SENDER, ENCODED)])
    d.offer(_run(7, 3, ref=3))
    d.offer(_run(10, 0))  # an empty run queues nothing
    d.offer(_run(20, 4, account=2))
    assert d.backlog == 13
    assert d.statistics().accounts_waiting == 2

    cancelled = d.withdraw(AccountId(1), SendRef(3))
    assert [m.message_id for m in cancelled] == [7, 8, 9]
    assert d.backlog == 10

    moved = d.take_queued()
    assert [m.message_id for m in moved] == [1, 2, 3, 4, 5, 6, 20, 21, 22, 23]
    assert [m.destination for m in moved[:2]] == ["+24107000001", "+24107000002"]
    assert d.backlog == 0


async def test_an_expired_run_leaves_whole_and_a_dropped_account_forgets_its_runs() -> None:
    d = _dispatcher()
    d.offer(_run(1, 3, expires_at=100.0))
    d.offer(_run(4, 2, ref=2, expires_at=500.0))
    d.offer(_run(6, 2, account=2))
    assert [m.message_id for m in d.expire(wall_now=99.0)] == []
    assert [m.message_id for m in d.expire(wall_now=100.0)] == [1, 2, 3]
    assert d.backlog == 4
    assert d.forget(lambda account: account == 2) == 2
    assert d.backlog == 2
    assert [m.message_id for m in d.take_queued()] == [4, 5]


async def test_a_bind_takes_a_run_one_recipient_at_a_time_in_order() -> None:
    class Store:
        class messages:  # noqa: N801 - the store's shape: store.messages.mark_attempt
            @staticmethod
            async def mark_attempt(ids: list[int], name: str, *, accounts: list[int]) -> set[int]:
                return set()

    d = Dispatcher(Store(), binds=1, channel_size=3)  # type: ignore[arg-type]
    link = d.link(0)
    d.offer(_run(1, 7))
    got: list[int] = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(d.serve)
            link.bound()
            while len(got) < 7:
                m = await link.receive()
                got.append(m.message_id)
                assert m.attempts == 1, "its attempt was recorded before it left"
                link.finished(m)
            nursery.cancel_scope.cancel()
    assert got == [1, 2, 3, 4, 5, 6, 7]
    assert d.backlog == 0
