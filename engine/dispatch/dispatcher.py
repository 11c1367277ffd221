"""The dispatcher: fair hand-off of ready messages to the binds of the sender pool.

It owns every account's queue of ready messages (single sends ahead of bulk),
each account's sending-rate bucket (`debitMax`, set by the account's actor), the
round robin across accounts, and one bounded channel per bind, read by that
bind's sender only (through its `BindLink`). Each channel holds
`engine.dispatch_queue` messages: a bulk send, on one bind, keeps the pipeline it
had with the single shared channel (batches of up to 256 per store write); the
binds together hold at most binds x that. When the SMSC slows down, the channels
fill, `serve` waits, and the queues hold the backlog (counted by `backlog`, which
the API checks before accepting more).

Bind affinity: an account's messages are on one bind at a time. The dispatcher
counts, per account, the messages handed to its bind and not yet finished (ended
by the sender, or handed back when its connection dropped; a message of several
parts counts once). While that count is above zero, the account's next messages
go to the same bind; at zero, they go to the bound bind with the fewest
outstanding messages. A bind takes its submits in order and resends a throttled
part ahead of its later ones, so an account's order holds across binds: the only
swap left is a part refused while a later part of the same window was accepted
(and a part retried after a transient error's backoff, see `sender`).
A bind whose sender is not bound gets nothing; when its connection drops, what it
held, its channel included, comes back ahead of the accounts' queues, in message
order, and goes to another bind.

Before a batch leaves, the attempt is recorded in the store, so a message whose
submit may have reached the SMSC before a crash is known as a possible duplicate
when it is sent again after the restart.

Fairness: each turn of the round robin takes at most `_QUANTUM` messages of an
account (its single sends first), within its bucket; an account out of tokens
leaves the ring until its next token. An account whose bind's channel is full
keeps its place in the ring and waits. A batch never puts more into a bind's
channel than the room left there, so a message that arrives for another account
waits behind at most one channel's worth of messages, not behind a whole bulk
send. When nothing can move, `serve` sleeps until a sender takes from its
channel, binds, or finishes an account's last outstanding message.

One dispatcher serves one SMSC connection (its `name`): a message's attempt is
recorded with the connection it leaves on. Several connections are several
dispatchers behind `engine.dispatch.routes.Routes`, told through `on_binds`
whenever one of their binds binds or drops, and emptied of their queues by
`take_queued` when their recipients go through another connection (failover).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from engine.dispatch.message import OutMessage, WaitingRun
from engine.dispatch.states import BindStatistics, DispatcherStatistics
from engine.model import AccountId, SendRef, TokenBucket
from engine.store import Store

_QUANTUM = 32
_BATCH = 256
_NO_BIND = -1


@dataclass(slots=True)
class _AccountQueue:
    bucket: TokenBucket
    urgent: deque[OutMessage] = field(default_factory=deque)
    bulk: deque[OutMessage | WaitingRun] = field(default_factory=deque)
    """Bulk messages, and bulk sends' waiting recipients as one run each."""
    in_bulk: int = 0
    """The messages `bulk` holds, its runs' recipients counted one by one."""
    scheduled: bool = False
    bind: int = _NO_BIND
    """The bind holding this account's outstanding messages, if any."""
    outstanding: int = 0
    """Messages handed to `bind` and not yet ended or handed back."""

    def __len__(self) -> int:
        return len(self.urgent) + self.in_bulk

    def pop(self) -> OutMessage:
        if self.urgent:
            return self.urgent.popleft()
        bulk = self.bulk
        head = bulk[0]
        self.in_bulk -= 1
        if isinstance(head, WaitingRun):
            m = head.take()
            if not head:
                bulk.popleft()
            return m
        return bulk.popleft()  # type: ignore[return-value]

    def filter_bulk(self, take: Callable[[OutMessage | WaitingRun], bool]) -> list[OutMessage]:
        """Take the bulk items `take` names out of the queue, as messages in order."""
        taken: list[OutMessage] = []
        kept: deque[OutMessage | WaitingRun] = deque()
        for item in self.bulk:
            if take(item):
                if isinstance(item, WaitingRun):
                    taken.extend(item)
                else:
                    taken.append(item)
            else:
                kept.append(item)
        self.bulk = kept
        self.in_bulk -= len(taken)
        return taken

    def clear(self) -> list[OutMessage]:
        """Every queued message, taken out, single sends first."""
        taken = list(self.urgent)
        self.urgent.clear()
        taken.extend(self.filter_bulk(lambda _: True))
        return taken


@dataclass(slots=True)
class _Bind:
    out: trio.MemorySendChannel[OutMessage]
    source: trio.MemoryReceiveChannel[OutMessage]
    size: int
    up: bool = False
    failed: bool = False
    """Its connection dropped or could not be made since it was last bound."""
    outstanding: int = 0
    accounts: int = 0

    def room(self) -> int:
        return self.size - self.out.statistics().current_buffer_used if self.up else 0


class BindLink:
    """One bind's end of the dispatcher, held by that bind's sender. Only `receive`
    blocks; every other method is synchronous and never blocks."""

    def __init__(self, dispatcher: Dispatcher, index: int) -> None:
        self._dispatcher = dispatcher
        self._bind = dispatcher._binds[index]
        self.index = index

    def bound(self) -> None:
        """The sender is bound: this bind may be given messages."""
        self._bind.up = True
        self._bind.failed = False
        self._dispatcher._wake.set()
        self._dispatcher._on_binds()

    def receive_nowait(self) -> OutMessage:
        """Take the next message handed to this bind; `trio.WouldBlock` if none."""
        message = self._bind.source.receive_nowait()
        self._dispatcher._took()
        return message

    async def receive(self) -> OutMessage:
        """Wait for the next message handed to this bind. Cancelled, nothing is taken."""
        message = await self._bind.source.receive()
        self._dispatcher._took()
        return message

    def finished(self, message: OutMessage) -> None:
        """`message` ended (ENVOYE or ECHEC): it no longer holds its account here."""
        self._dispatcher._release(message.common.account_id, 1)

    def lost(self, held: Sequence[OutMessage]) -> None:
        """The connection dropped: this bind gets nothing more until `bound`. `held`
        (the unfinished messages its sender had taken) and what is still in its
        channel go back ahead of their accounts' queues, in message order."""
        self._dispatcher._lost(self.index, held)

    def statistics(self) -> BindStatistics:
        bind = self._bind
        return BindStatistics(
            channel_used=bind.out.statistics().current_buffer_used,
            channel_size=bind.size,
            outstanding=bind.outstanding,
            accounts=bind.accounts,
        )


class Dispatcher:
    def __init__(
        self,
        store: Store,
        *,
        binds: int,
        channel_size: int,
        name: str = "defaut",
        on_binds: Callable[[], None] | None = None,
    ) -> None:
        """`binds` channels of `channel_size` messages each, one per bind; each
        bind's sender takes its own through `link(index)`. `name` is the SMSC
        connection recorded with each attempt; `on_binds` (never blocking) is
        called after a bind binds or drops."""
        self._store = store
        self.name = name
        self._on_binds = on_binds or (lambda: None)
        self._binds: list[_Bind] = []
        for _ in range(binds):
            out, source = trio.open_memory_channel[OutMessage](channel_size)
            self._binds.append(_Bind(out, source, channel_size))
        self._queues: dict[AccountId, _AccountQueue] = {}
        self._ring: deque[AccountId] = deque()
        self._with_validity: set[AccountId] = set()
        """Accounts whose queues may hold a message with a validity (`expire`)."""
        self._validity = trio.Event()
        """Set while `_with_validity` is not empty (`wait_validity`)."""
        self._timers: list[tuple[float, AccountId]] = []
        self._wake = trio.Event()
        self._stuck = False
        """`serve` sleeps with accounts waiting for room on a bind (or for a bind)."""
        self._backlog = 0
        self._dispatched = 0
        self._given_back = 0
        self._paused = False
        self._in_hand: dict[int, list[OutMessage]] = {}
        """The batch being recorded in the store, per bind."""

    def link(self, index: int) -> BindLink:
        """Bind `index`'s end, for its sender."""
        return BindLink(self, index)

    @property
    def backlog(self) -> int:
        """Messages accepted and not yet handed to a sender."""
        return self._backlog

    def _queue(self, account_id: AccountId) -> _AccountQueue:
        q = self._queues.get(account_id)
        if q is None:
            q = self._queues[account_id] = _AccountQueue(
                TokenBucket.full(1_000_000.0, trio.current_time())
            )
        return q

    def set_rate(self, account_id: AccountId, bucket: TokenBucket) -> None:
        """Draw the account's sends from `bucket`: its `debitMax`, owned and replaced
        by the account's actor; the dispatcher only takes tokens from it."""
        self._queue(account_id).bucket = bucket

    def withdraw(self, account_id: AccountId, ref: SendRef) -> list[OutMessage]:
        """Take back every queued message of send `ref` (a cancelled campaign);
        messages already handed to the sender pool are not among them."""
        q = self._queues.get(account_id)
        if q is None:
            return []
        taken: list[OutMessage] = []
        kept: deque[OutMessage] = deque()
        for m in q.urgent:
            (taken if m.ref == ref else kept).append(m)
        q.urgent = kept
        taken.extend(q.filter_bulk(lambda item: item.ref == ref))
        self._backlog -= len(taken)
        return taken

    def expire(self, wall_now: float) -> list[OutMessage]:
        """Take out of the queues every message whose validity has passed (POSIX
        seconds): it never reached a bind, the caller ends it EXPIRE. Only the
        accounts that were offered messages with a validity are looked at."""
        taken: list[OutMessage] = []
        for account_id in list(self._with_validity):
            q = self._queues.get(account_id)
            if q is None:
                self._with_validity.discard(account_id)
                continue
            if any(m.expires_at is not None for m in q.urgent):
                kept: deque[OutMessage] = deque()
                for m in q.urgent:
                    (taken if m.expired(wall_now) else kept).append(m)
                q.urgent = kept
            if any(item.expires_at is not None for item in q.bulk):
                taken.extend(q.filter_bulk(lambda item: item.expired(wall_now)))
            if not any(m.expires_at is not None for m in (*q.urgent, *q.bulk)):
                self._with_validity.discard(account_id)
        self._backlog -= len(taken)
        if not self._with_validity:
            self._validity = trio.Event()
        return taken

    async def wait_validity(self) -> None:
        """Until a queue may hold a message with a validity (nothing to sweep before)."""
        await self._validity.wait()

    def offer(self, messages: Sequence[OutMessage]) -> None:
        """Queue messages (never blocks). Messages with `priority` (single sends and
        HAUTE sends) go ahead of the account's bulk. A bulk send's `WaitingRun`
        stays one compact item until its recipients are taken."""
        if not messages:
            return
        if isinstance(messages, WaitingRun) and not messages.common.priority:
            common = messages.common
            q = self._queue(common.account_id)
            q.bulk.append(messages)
            q.in_bulk += len(messages)
            self._offered(common.account_id, q, common.expires_at)
        else:
            for m in messages:
                common = m.common
                q = self._queue(common.account_id)
                if common.priority:
                    q.urgent.append(m)
                else:
                    q.bulk.append(m)
                    q.in_bulk += 1
                self._offered(common.account_id, q, common.expires_at)
        self._backlog += len(messages)
        self._wake.set()

    def _offered(self, account_id: AccountId, q: _AccountQueue, expires_at: float | None) -> None:
        self._schedule(account_id, q)
        if expires_at is not None:
            self._with_validity.add(account_id)
            self._validity.set()

    def retry_first(self, message: OutMessage) -> None:
        """Put a message back at the head of its account's queue."""
        self.give_back([message])

    def give_back(self, messages: Sequence[OutMessage]) -> None:
        """Put messages back at the head of their accounts' queues, in the order
        given; never blocks."""
        for m in reversed(messages):
            q = self._queue(m.account_id)
            q.urgent.appendleft(m)
            self._schedule(m.account_id, q)
            if m.expires_at is not None:
                self._with_validity.add(m.account_id)
                self._validity.set()
        self._backlog += len(messages)
        self._given_back += len(messages)
        self._wake.set()

    def _schedule(self, account_id: AccountId, q: _AccountQueue) -> None:
        if not q.scheduled:
            q.scheduled = True
            self._ring.append(account_id)

    def _took(self) -> None:
        if self._stuck:
            self._stuck = False
            self._wake.set()

    def _release(self, account_id: AccountId, count: int) -> None:
        q = self._queues[account_id]
        assert count <= q.outstanding and q.bind != _NO_BIND, (account_id, q.bind, q.outstanding)
        bind = self._binds[q.bind]
        q.outstanding -= count
        bind.outstanding -= count
        if q.outstanding == 0:
            q.bind = _NO_BIND
            bind.accounts -= 1
            self._took()

    def _lost(self, index: int, held: Sequence[OutMessage]) -> None:
        """Bind `index` is down: everything it holds comes back in message order,
        its share of a batch being recorded in the store included."""
        bind = self._binds[index]
        bind.up = False
        bind.failed = True
        back = [*held, *self._in_hand.pop(index, ())]
        while True:
            try:
                back.append(bind.source.receive_nowait())
            except trio.WouldBlock:
                break
        back.sort(key=lambda m: m.message_id)
        self._take_back(back)
        self._on_binds()

    @property
    def bound(self) -> bool:
        """At least one bind is bound."""
        return any(b.up for b in self._binds)

    @property
    def down(self) -> bool:
        """No bind is bound and one has dropped or failed to connect since it was
        last bound (a connection still making its first bind is not down)."""
        return not self.bound and any(b.failed for b in self._binds)

    def take_queued(self) -> list[OutMessage]:
        """Take every queued message (not those handed to a bind), each account's
        in its order, for another connection; never blocks."""
        taken: list[OutMessage] = []
        for q in self._queues.values():
            taken.extend(q.clear())
        self._backlog -= len(taken)
        taken.sort(key=lambda m: m.message_id)
        return taken

    def _take_back(self, messages: Sequence[OutMessage]) -> None:
        """Messages that left the dispatcher and did not reach the SMSC's answer:
        no longer outstanding, queued again ahead of their accounts' messages."""
        for m in messages:
            self._release(m.account_id, 1)
        if messages:
            self.give_back(messages)

    def _refuse(self, accounts: set[int]) -> None:
        """The store refused the attempts of these accounts' messages (this node no
        longer holds them): take them out of the batch in hand, and forget what
        else of theirs is queued. They stay EN_ATTENTE for the accounts' holder."""
        for index, share in self._in_hand.items():
            kept = []
            for m in share:
                if m.account_id in accounts:
                    self._release(m.account_id, 1)
                else:
                    kept.append(m)
            self._in_hand[index] = kept
        self.forget(lambda account_id: account_id in accounts)

    def forget(self, owned: Callable[[AccountId], bool]) -> int:
        """Drop every queued message (not those handed to a bind) of the accounts
        `owned` names: they stay EN_ATTENTE in the store for whoever holds the
        accounts next. Returns how many were dropped."""
        dropped = 0
        for account_id, q in self._queues.items():
            if owned(account_id) and len(q):
                dropped += len(q)
                q.urgent.clear()
                q.bulk.clear()
                q.in_bulk = 0
        self._backlog -= dropped
        return dropped

    def outstanding(self, owned: Callable[[AccountId], bool]) -> int:
        """Messages of the accounts `owned` names handed to a bind and not yet
        answered."""
        return sum(q.outstanding for a, q in self._queues.items() if owned(a))

    def pause(self) -> None:
        """Hand nothing more to the sender pool (shutdown); queues keep their messages."""
        self._paused = True
        self._wake.set()

    def statistics(self) -> DispatcherStatistics:
        return DispatcherStatistics(
            backlog=self._backlog,
            accounts_waiting=len(self._ring),
            rate_limited=len(self._timers),
            dispatched=self._dispatched,
            given_back=self._given_back,
            channel_used=sum(b.out.statistics().current_buffer_used for b in self._binds),
            channel_size=sum(b.size for b in self._binds),
            binds_up=sum(b.up for b in self._binds),
        )

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Hand messages to the binds until cancelled. Sleeps while nothing can
        move (no message, every bind with work for it full or down); a cancellation
        leaves the messages of the batch in hand EN_ATTENTE in the store, sent again
        after a restart. Restarted after a failure (its supervisor's), it first puts
        the batch the failed run had in hand back ahead of its accounts' queues."""
        if self._in_hand:
            back = sorted(
                (m for share in self._in_hand.values() for m in share), key=lambda m: m.message_id
            )
            self._in_hand = {}
            self._take_back(back)
            self._backlog -= len(back)  # the failed run had not counted them out
        task_status.started()
        while True:
            batch = [] if self._paused else self._collect()
            if not batch:
                self._stuck = not self._paused and bool(self._ring)
                self._wake = trio.Event()
                deadline = self._timers[0][0] if self._timers and not self._paused else float("inf")
                with trio.move_on_at(deadline):
                    await self._wake.wait()
                self._stuck = False
                continue
            ids = [m.message_id for m in batch]
            refused = await self._store.messages.mark_attempt(
                ids, self.name, accounts=[m.common.account_id for m in batch]
            )
            self._backlog -= len(batch)
            if refused:
                self._refuse(refused)
            for m in batch:
                m.attempts += 1
            self._hand_over()
            await trio.lowlevel.checkpoint()

    def _hand_over(self) -> None:
        """Put each bind's share of the batch in hand into its channel, without
        blocking: the share was sized to the channel's room and its sender only
        takes from it meanwhile (a bind lost during the store write took its share
        back with the rest, see `_lost`)."""
        back: list[OutMessage] = []
        for index, messages in self._in_hand.items():
            out = self._binds[index].out
            sent = 0
            for m in messages:
                try:
                    out.send_nowait(m)
                except trio.WouldBlock:
                    break
                sent += 1
            self._dispatched += sent
            back.extend(messages[sent:])
        self._in_hand = {}
        if back:
            back.sort(key=lambda m: m.message_id)
            self._take_back(back)

    def _pick_bind(self, rooms: list[int]) -> int:
        """The bound bind with room and the fewest outstanding messages."""
        best = _NO_BIND
        for index, room in enumerate(rooms):
            if room and (best == _NO_BIND or
                         self._binds[index].outstanding < self._binds[best].outstanding):
                best = index
        return best

    def _collect(self) -> list[OutMessage]:
        """Take up to `_BATCH` messages, round robin, each account within its rate
        and within the room of its bind's channel; count them as outstanding there.
        Returns them all; `_in_hand` keeps each bind's share."""
        now = trio.current_time()
        while self._timers and self._timers[0][0] <= now:
            _, account_id = heapq.heappop(self._timers)
            q = self._queues.get(account_id)
            if q is not None and len(q) and not q.scheduled:
                q.scheduled = True
                self._ring.append(account_id)
        rooms = [b.room() for b in self._binds]
        batch: list[OutMessage] = []
        shares = self._in_hand
        waiting = 0  # accounts in a row that found no room
        while self._ring and len(batch) < _BATCH and waiting < len(self._ring):
            account_id = self._ring.popleft()
            q = self._queues[account_id]
            index = q.bind if q.outstanding else self._pick_bind(rooms)
            if index == _NO_BIND or not rooms[index]:
                self._ring.append(account_id)
                waiting += 1
                continue
            waiting = 0
            granted = q.bucket.take(min(_QUANTUM, len(q), rooms[index], _BATCH - len(batch)), now)
            if granted:
                bind = self._binds[index]
                if not q.outstanding:
                    q.bind = index
                    bind.accounts += 1
                q.outstanding += granted
                bind.outstanding += granted
                rooms[index] -= granted
                share = shares.setdefault(index, [])
                for _ in range(granted):
                    m = q.pop()
                    share.append(m)
                    batch.append(m)
            if not len(q):
                q.scheduled = False
            elif granted == 0:
                q.scheduled = False
                heapq.heappush(self._timers, (q.bucket.next_token_at(now), account_id))
            else:
                self._ring.append(account_id)
        return batch
