"""The dispatcher: fair hand-off of ready messages to the sender pool.

It owns every account's queue of ready messages (single sends ahead of bulk),
each account's sending-rate bucket (`debitMax`, set by the account's actor), and
the round robin across accounts. It pushes messages into a bounded channel read
by the sender pool: when the SMSC slows down, that channel fills, `serve` waits,
and the queues hold the backlog (counted by `backlog`, which the API checks
before accepting more).

Before a batch leaves, the attempt is recorded in the store, so a message whose
submit may have reached the SMSC before a crash is known as a possible duplicate
when it is sent again after the restart.

Fairness: each turn of the round robin takes at most `_QUANTUM` messages of an
account (its single sends first), within its bucket; an account out of tokens
leaves the ring until its next token. A batch is never larger than the room left
in the channel, so a message that arrives for another account waits behind at
most one channel's worth of messages, not behind a whole bulk send.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from engine.dispatch.message import OutMessage
from engine.dispatch.ratelimit import TokenBucket
from engine.store import Store
from engine.store import messages as q_messages
from engine.types import AccountId, SendRef

_QUANTUM = 32
_BATCH = 256


@dataclass(slots=True)
class _AccountQueue:
    bucket: TokenBucket
    urgent: deque[OutMessage] = field(default_factory=deque)
    bulk: deque[OutMessage] = field(default_factory=deque)
    scheduled: bool = False

    def __len__(self) -> int:
        return len(self.urgent) + len(self.bulk)

    def pop(self) -> OutMessage:
        return self.urgent.popleft() if self.urgent else self.bulk.popleft()


@dataclass(frozen=True, slots=True)
class DispatcherStatistics:
    backlog: int
    accounts_waiting: int
    rate_limited: int
    dispatched: int
    given_back: int
    channel_used: int
    channel_size: int


class Dispatcher:
    def __init__(self, store: Store, out: trio.MemorySendChannel[OutMessage]) -> None:
        self._store = store
        self._out = out
        self._queues: dict[AccountId, _AccountQueue] = {}
        self._ring: deque[AccountId] = deque()
        self._timers: list[tuple[float, AccountId]] = []
        self._wake = trio.Event()
        self._backlog = 0
        self._dispatched = 0
        self._given_back = 0
        self._paused = False

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
        for name in ("urgent", "bulk"):
            kept: deque[OutMessage] = deque()
            for m in getattr(q, name):
                (taken if m.ref == ref else kept).append(m)
            setattr(q, name, kept)
        self._backlog -= len(taken)
        return taken

    def offer(self, messages: Sequence[OutMessage]) -> None:
        """Queue messages (never blocks). Messages with `priority` go ahead of bulk."""
        for m in messages:
            q = self._queue(m.account_id)
            (q.urgent if m.priority else q.bulk).append(m)
            self._schedule(m.account_id, q)
        self._backlog += len(messages)
        self._wake.set()

    def retry_first(self, message: OutMessage) -> None:
        """Put a message back at the head of its account's queue."""
        self.give_back([message])

    def give_back(self, messages: Sequence[OutMessage]) -> None:
        """Put messages back at the head of their accounts' queues, in the order
        given (a sender lost its connection with them); never blocks."""
        for m in reversed(messages):
            q = self._queue(m.account_id)
            q.urgent.appendleft(m)
            self._schedule(m.account_id, q)
        self._backlog += len(messages)
        self._given_back += len(messages)
        self._wake.set()

    def _schedule(self, account_id: AccountId, q: _AccountQueue) -> None:
        if not q.scheduled:
            q.scheduled = True
            self._ring.append(account_id)

    def pause(self) -> None:
        """Hand nothing more to the sender pool (shutdown); queues keep their messages."""
        self._paused = True
        self._wake.set()

    def statistics(self) -> DispatcherStatistics:
        stats = self._out.statistics()
        return DispatcherStatistics(
            backlog=self._backlog,
            accounts_waiting=len(self._ring),
            rate_limited=len(self._timers),
            dispatched=self._dispatched,
            given_back=self._given_back,
            channel_used=stats.current_buffer_used,
            channel_size=int(stats.max_buffer_size),
        )

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Hand messages to the sender pool until cancelled. Blocks on the channel
        when it is full (backpressure); a cancellation leaves the messages of the
        batch in hand EN_ATTENTE in the store, sent again after a restart."""
        task_status.started()
        out = self._out
        while True:
            batch: list[OutMessage] = []
            if not self._paused:
                stats = out.statistics()
                room = int(min(stats.max_buffer_size - stats.current_buffer_used, _BATCH))
                batch = self._collect(max(1, room))
            if not batch:
                self._wake = trio.Event()
                deadline = self._timers[0][0] if self._timers and not self._paused else float("inf")
                with trio.move_on_at(deadline):
                    await self._wake.wait()
                continue
            ids = [m.message_id for m in batch]
            await self._store.transact(partial(q_messages.mark_attempt, message_ids=ids))
            self._backlog -= len(batch)
            for m in batch:
                m.attempts += 1
            await self._hand_over(batch)
            self._dispatched += len(batch)

    async def _hand_over(self, batch: list[OutMessage]) -> None:
        """Put a batch into the channel with one checkpoint, not one per message.
        The batch was sized to the channel's room and senders only take from it
        meanwhile (the dispatcher is its only writer), so it fits; were it not to,
        the rest waits for room as usual."""
        out = self._out
        for index, m in enumerate(batch):
            try:
                out.send_nowait(m)
            except trio.WouldBlock:
                for rest in batch[index:]:
                    await out.send(rest)
                return
        await trio.lowlevel.checkpoint()

    def _collect(self, limit: int) -> list[OutMessage]:
        """Take up to `limit` messages, round robin, each account within its rate."""
        now = trio.current_time()
        while self._timers and self._timers[0][0] <= now:
            _, account_id = heapq.heappop(self._timers)
            q = self._queues.get(account_id)
            if q is not None and len(q) and not q.scheduled:
                q.scheduled = True
                self._ring.append(account_id)
        batch: list[OutMessage] = []
        while self._ring and len(batch) < limit:
            account_id = self._ring.popleft()
            q = self._queues[account_id]
            granted = q.bucket.take(min(_QUANTUM, len(q), limit - len(batch)), now)
            for _ in range(granted):
                batch.append(q.pop())
            if not len(q):
                q.scheduled = False
            elif granted == 0:
                q.scheduled = False
                heapq.heappush(self._timers, (q.bucket.next_token_at(now), account_id))
            else:
                self._ring.append(account_id)
        return batch
