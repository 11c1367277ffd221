"""The dispatcher's bind affinity, without a network: a fake store, the
dispatcher's own channels, and fake senders that take, finish and lose messages
through their `BindLink`s as a real sender does."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from engine.dispatch.dispatcher import BindLink, Dispatcher
from engine.dispatch.message import OutMessage, SendCommon, WaitingRun
from engine.model import AccountId, MessageId, SendRef
from engine.text import encode_message, parse_sender

ENCODED = encode_message("Bonjour", 0)
SENDER = parse_sender("ION-Networking")


class FakeStore:
    """Records attempts as the store does, after a wait that `open` can hold."""

    def __init__(self) -> None:
        self.open = trio.Event()
        self.open.set()
        self.writing = False
        self.messages = self

    async def mark_attempt(self, message_ids: Any, smsc: str = "", accounts: Any = ()) -> set[int]:
        self.writing = True
        await self.open.wait()
        await trio.lowlevel.checkpoint()
        self.writing = False
        return set()


class FakeSender:
    """What a sender does with its link: bind, take, end, lose its connection."""

    def __init__(self, link: BindLink, finished: list[OutMessage]) -> None:
        self.link = link
        self.up = False
        self.held: deque[OutMessage] = deque()
        self._finished = finished

    def bind(self) -> None:
        self.up = True
        self.link.bound()

    def take(self, count: int) -> list[OutMessage]:
        taken: list[OutMessage] = []
        for _ in range(count):
            try:
                taken.append(self.link.receive_nowait())
            except trio.WouldBlock:
                break
        self.held.extend(taken)
        return taken

    def finish(self, count: int) -> None:
        for _ in range(min(count, len(self.held))):
            message = self.held.popleft()
            message.done = True
            self.link.finished(message)
            self._finished.append(message)

    def lose(self) -> None:
        self.up = False
        self.link.lost(list(self.held))
        self.held.clear()


class Pool:
    def __init__(self, binds: int, channel_size: int) -> None:
        self.store = FakeStore()
        self.dispatcher = Dispatcher(self.store, binds=binds, channel_size=channel_size)  # type: ignore[arg-type]
        self.finished: list[OutMessage] = []
        self.senders = [FakeSender(self.dispatcher.link(i), self.finished) for i in range(binds)]
        self._ids = 0

    def offer(
        self, account: int, count: int, *, priority: bool = False, as_run: bool = False
    ) -> list[OutMessage]:
        """`count` messages of `account`, as a list of messages or, `as_run`, as one
        send's compact run (the messages returned are then copies: compare ids)."""
        first = self._ids + 1
        self._ids += count
        if as_run:
            common = SendCommon(AccountId(account), SendRef(account), SENDER, ENCODED, priority)
            numbers = [f"+2410600{i:04d}" for i in range(first, first + count)]
            run = WaitingRun(common, range(first, first + count), numbers)
            messages = list(run)
            self.dispatcher.offer(run)
            return messages
        messages = [
            OutMessage(
                MessageId(i), AccountId(account), SendRef(account), f"+2410600{i:04d}",
                SENDER, ENCODED, priority=priority,
            )
            for i in range(first, first + count)
        ]
        self.dispatcher.offer(messages)
        return messages

    @asynccontextmanager
    async def running(self, within_s: float) -> AsyncIterator[None]:
        """The dispatcher serving for the body of the `with`, bounded in time."""
        with trio.fail_after(within_s):
            async with trio.open_nursery() as nursery:
                await nursery.start(self.dispatcher.serve)
                yield
                nursery.cancel_scope.cancel()

    def used(self) -> list[int]:
        return [s.link.statistics().channel_used for s in self.senders]

    def outstanding(self) -> list[int]:
        return [s.link.statistics().outstanding for s in self.senders]


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_an_account_stays_on_its_bind_while_it_has_messages_there() -> None:
    pool = Pool(binds=2, channel_size=4)
    a, b = pool.senders
    async with pool.running(within_s=5):
        a.bind()
        b.bind()
        pool.offer(1, 10)
        await settle()
        # bind 1 has room, but account 1 already has messages on bind 0
        assert pool.used() == [4, 0]
        assert pool.dispatcher.backlog == 6
        pool.offer(2, 3)
        await settle()
        assert pool.used() == [4, 3], "another account goes to the free bind"
        assert [m.account_id for m in a.take(2)] == [1, 1]
        await settle()
        assert pool.used() == [4, 3], "taking wakes the dispatcher: bind 0 refilled"
        a.take(4)
        a.finish(6)
        await settle()
        assert pool.used() == [4, 3], "account 1 still holds bind 0 (4 in its channel)"
        assert pool.dispatcher.backlog == 0
        assert [m.account_id for m in a.take(10)] == [1] * 4
        assert [m.account_id for m in b.take(10)] == [2] * 3


async def test_an_account_with_nothing_outstanding_moves_to_the_emptiest_bind() -> None:
    pool = Pool(binds=2, channel_size=8)
    a, b = pool.senders
    async with pool.running(within_s=5):
        a.bind()
        b.bind()
        pool.offer(1, 1)
        await settle()
        pool.offer(2, 1)
        await settle()
        pool.offer(3, 1)
        await settle()
        # 1 on bind 0, 2 on the emptier bind 1, 3 on the first of two equals
        assert [m.account_id for m in a.take(8)] == [1, 3]
        assert [m.account_id for m in b.take(8)] == [2]
        a.finish(1)  # account 1 has nothing outstanding
        b.finish(1)  # bind 1 is now the emptiest
        assert pool.outstanding() == [1, 0]
        pool.offer(1, 2)
        pool.offer(3, 2)
        await settle()
        assert [m.account_id for m in b.take(8)] == [1, 1], "account 1 moved"
        assert [m.account_id for m in a.take(8)] == [3, 3], "account 3 stayed"
        stats = [s.link.statistics() for s in pool.senders]
        assert [(s.accounts, s.outstanding) for s in stats] == [(1, 3), (1, 2)]


async def test_a_bind_that_is_down_gets_nothing_and_what_it_held_goes_to_another() -> None:
    pool = Pool(binds=2, channel_size=4)
    a, b = pool.senders
    async with pool.running(within_s=5):
        sent = pool.offer(1, 6)
        await settle()
        assert pool.used() == [0, 0] and pool.dispatcher.backlog == 6, "no bind is up"
        a.bind()
        await settle()
        assert pool.used() == [4, 0], "binding wakes the dispatcher"
        a.take(3)
        await settle()
        assert pool.used() == [3, 0]
        a.lose()
        await settle()
        assert pool.used() == [0, 0], "nothing for a bind that is down"
        assert pool.dispatcher.backlog == 6
        b.bind()
        await settle()
        assert pool.used() == [0, 4]
        # what bind 0 held and had in its channel comes first, in message order
        assert b.take(4) == sent[:4]
        await settle()
        assert b.take(4) == sent[4:]
        stats = pool.dispatcher.statistics()
        assert (stats.given_back, stats.binds_up) == (6, 1)


async def test_a_bind_lost_while_its_batch_is_recorded_takes_the_batch_back_in_order() -> None:
    pool = Pool(binds=2, channel_size=4)
    a, b = pool.senders
    async with pool.running(within_s=5):
        a.bind()
        sent = pool.offer(1, 6)
        await settle()
        pool.store.open = trio.Event()
        assert a.take(4) == sent[:4]
        await settle()
        assert pool.store.writing, "the next batch (5 and 6) is being recorded"
        a.lose()
        b.bind()
        pool.store.open.set()
        await settle()
        assert pool.used() == [0, 4]
        assert b.take(4) == sent[:4]
        await settle()
        assert b.take(4) == sent[4:]
        assert pool.outstanding() == [0, 6]


async def test_random_takes_ends_and_drops_keep_each_account_on_one_bind_and_in_order() -> None:
    rng = random.Random(20240611)  # noqa: S311 - a seeded, repeatable schedule, not a secret
    pool = Pool(binds=3, channel_size=5)
    offered: dict[int, list[OutMessage]] = {account: [] for account in range(1, 6)}

    def check_take(index: int, taken: list[OutMessage]) -> None:
        sender = pool.senders[index]
        assert sender.up, "a bind that is down is handed nothing"
        for m in taken:
            held_on = {i for i, s in enumerate(pool.senders)
                       if any(h.account_id == m.account_id for h in s.held)}
            assert held_on == {index}, f"account {m.account_id} on binds {held_on}"

    async with pool.running(within_s=20):
        for sender in pool.senders:
            sender.bind()
        for _ in range(3_000):
            index = rng.randrange(3)
            sender = pool.senders[index]
            roll = rng.random()
            if roll < 0.25:
                account = rng.randrange(1, 6)
                as_run = rng.random() < 0.5
                offered[account] += pool.offer(account, rng.randrange(1, 12), as_run=as_run)
            elif roll < 0.6 and sender.up:
                check_take(index, sender.take(rng.randrange(1, 8)))
            elif roll < 0.95:
                sender.finish(rng.randrange(1, 8))
            elif sender.up:
                sender.lose()
            else:
                sender.bind()
            await settle()
            for s in pool.senders:
                if not s.up:
                    assert s.link.statistics().channel_used == 0
        for sender in pool.senders:
            if not sender.up:
                sender.bind()
        while len(pool.finished) < sum(map(len, offered.values())):
            for index, sender in enumerate(pool.senders):
                check_take(index, sender.take(8))
                sender.finish(8)
            await settle()

    for account, messages in offered.items():
        ended = [(m.message_id, m.destination) for m in pool.finished if m.account_id == account]
        assert ended == [(m.message_id, m.destination) for m in messages], (
            f"account {account} ended out of order")
    assert pool.dispatcher.statistics().given_back > 0, "some binds were lost on the way"
    assert pool.outstanding() == [0, 0, 0]
    assert all(s.link.statistics().accounts == 0 for s in pool.senders)
    assert pool.dispatcher.backlog == 0
