"""The book of one bind's parts: what its sender has taken and not finished, and
what each answer does to it. Synchronous: nothing here blocks or awaits; time is
passed in.

A part is waiting (`PartQueue`: fresh, to send again, or waiting out a backoff)
or in flight (written, its submit_sm_resp not in yet, by sequence number). Each
answer is decided by `engine.dispatch.policy.outcomes` and paced by
`engine.dispatch.policy.pacing`; a message that ends leaves the bind
(`BindLink.finished`) and its outcome goes into the caller's batch of events.
When the connection drops, every unfinished message goes back to the dispatcher
(`BindLink.lost`); those in flight are flagged as possible duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, assert_never

import trio

from engine.dispatch.message import OutMessage
from engine.dispatch.parts import PartQueue, Work
from engine.dispatch.policy.outcomes import Decision, RetryPolicy, classify
from engine.dispatch.policy.pacing import Pacing
from engine.dispatch.policy.receipts import NotAReceipt, interpret_deliver
from engine.dispatch.results import Ended, Event, Receipt
from engine.model import MessageStatus, Outcome, Reason
from engine.smpp.pdu import DataSm, DeliverSm

_SENT = Decision.SENT
_ENVOYE = MessageStatus.ENVOYE
_new_tuple = tuple.__new__
"""`Ended` and `Outcome` made from their values without their Python-level
constructors (one of each a message)."""


class Link(Protocol):
    """What the book needs of its bind's `engine.dispatch.dispatcher.BindLink`
    (`receive_nowait` raises `trio.WouldBlock` when the channel is empty)."""

    def receive_nowait(self) -> OutMessage: ...
    def finished(self, message: OutMessage) -> None: ...
    def lost(self, held: Sequence[OutMessage]) -> None: ...


class Clock(Protocol):
    """What the book needs of `engine.clock.WallClock`: the time of an outcome, and
    wall time to tell whether a message's validity has passed."""

    def now_iso(self) -> str: ...

    def now(self) -> datetime: ...


class PartBook:
    """Owned by one bind's sender. `in_flight` (sequence number -> part) is filled
    by the sender's writer as it writes; everything else goes through methods,
    which append the outcomes and receipts they produce to the `out` they are
    given and never block."""

    __slots__ = (
        "_clock", "_link", "_pacing", "_retry", "accepted", "ended_aside", "expired_count",
        "failed", "in_flight", "receipts", "retries", "throttled", "waiting",
    )

    def __init__(
        self, link: Link, pacing: Pacing, retry: RetryPolicy, clock: Clock
    ) -> None:
        self._link = link
        self._pacing = pacing
        self._retry = retry
        self._clock = clock
        self.in_flight: dict[int, Work] = {}
        self.waiting = PartQueue()
        self.accepted = self.retries = self.throttled = self.failed = self.receipts = 0
        self.expired_count = 0
        self.ended_aside: list[Event] = []
        """Outcomes of messages that expired while `next_work` was asked without an
        `out` list: the sender takes them with its next batch of events."""

    def __bool__(self) -> bool:
        """Parts are in flight or waiting."""
        return bool(self.in_flight or self.waiting)

    def next_work(self, now: float, out: list[Event] | None = None) -> Work | None:
        """The next part to write (`PartQueue.pop`), else the first of the next
        message in the bind's channel; None if there is none."""
        waiting = self.waiting
        while True:
            work = waiting.pop(now)
            if work is None:
                try:
                    waiting.take(self._link.receive_nowait())
                except trio.WouldBlock:
                    return None
                work = waiting.pop(now)
            if work is None or work[0].common.expires_at is None or not self._expire(work[0], out):
                return work

    def _expire(self, message: OutMessage, out: list[Event] | None) -> bool:
        """End `message` EXPIRE if its validity has passed before the SMSC accepted
        any part of it (its other parts still waiting are skipped when popped)."""
        if message.done:
            return True
        if not message.expired(self._clock.now().timestamp()):
            return False
        self.failed += 1
        self.expired_count += 1
        ended = self._end(message, MessageStatus.ECHEC, Reason.EXPIRE)
        if out is not None:
            out.append(ended)
        else:
            self.ended_aside.append(ended)
        return True

    def answered(
        self, seq: int, status: int, smsc_id: str, now: float, out: list[Event],
        at: str | None = None,
    ) -> None:
        """The submit_sm `seq` was answered with `status` (and the SMSC's id) at `now`;
        `at` is the outcome's time when the caller has it (one per read of answers)."""
        entry = self.in_flight.pop(seq, None)
        if entry is None:
            return
        message, part = entry
        if message.done:
            return
        part_ids = message.part_ids
        assert part_ids is not None
        decision = classify(status)
        if decision is _SENT:  # the commonest answer, first
            self._pacing.accepted(now)
            part_ids[part] = smsc_id
            if None not in part_ids:
                self.accepted += 1
                out.append(self._end(message, _ENVOYE, at=at))
            return
        match decision:
            case Decision.SENT:  # taken above
                pass
            case Decision.THROTTLED:
                self.throttled += 1
                self._pacing.throttled(now)
                self.waiting.put_back(entry)
            case Decision.RETRY:
                self._retry_later(message, part, status, now, out)
            case Decision.REJECTED:
                self.failed += 1
                out.append(self._end(message, MessageStatus.ECHEC, Reason.REJET_SMSC, status))
            case unreachable:
                assert_never(unreachable)

    def expired(self, seq: int, now: float, out: list[Event]) -> None:
        """The submit_sm `seq` got no answer in time: it may have reached the SMSC
        (a possible duplicate) and is retried as after a transient status."""
        entry = self.in_flight.pop(seq, None)
        if entry is not None and not entry[0].done:
            entry[0].possible_duplicate = True
            self._retry_later(entry[0], entry[1], None, now, out)

    def _retry_later(
        self, message: OutMessage, part: int, status: int | None, now: float, out: list[Event]
    ) -> None:
        message.retries += 1
        if message.common.expires_at is not None and self._expire(message, out):
            return
        delay = self._retry.delay_s(message.retries)
        if delay is None:
            self.failed += 1
            out.append(self._end(message, MessageStatus.ECHEC, Reason.ERREUR_RESEAU, status))
            return
        self.retries += 1
        self.waiting.retry_at(now + delay, (message, part))

    def _end(
        self,
        message: OutMessage,
        statut: MessageStatus,
        raison: Reason | None = None,
        code: int | None = None,
        *,
        at: str | None = None,
    ) -> Ended:
        message.done = True
        self._link.finished(message)
        sent = statut is _ENVOYE
        common = message.common
        return _new_tuple(Ended, (
            common.account_id,
            _new_tuple(Outcome, (
                message.message_id,
                common.ref,
                statut,
                raison,
                code,
                tuple(message.part_ids or ()) if sent else (),
                self._clock.now_iso() if at is None else at,
                message.possible_duplicate,
            )),
        ))

    def delivered(self, pdu: DeliverSm | DataSm, out: list[Event]) -> bool:
        """A deliver_sm or data_sm: a delivery receipt goes to the router; anything
        else is dropped (`engine.dispatch.policy.receipts`). False when it was an
        inbound message, not a receipt."""
        found = interpret_deliver(pdu)
        if isinstance(found, NotAReceipt):
            return found is not NotAReceipt.INBOUND
        smsc_id, livraison = found
        self.receipts += 1
        out.append(Receipt(smsc_id, livraison.value, self._clock.now_iso()))
        return True

    def hand_back(self) -> None:
        """The connection dropped: give every unfinished message back to the
        dispatcher, with what is still in the bind's channel; the bind gets
        nothing new until it is bound again."""
        pending: dict[int, OutMessage] = {}
        for message, _ in self.in_flight.values():
            message.possible_duplicate = True
            pending.setdefault(message.message_id, message)
        for message in self.waiting.clear():
            pending.setdefault(message.message_id, message)
        self.in_flight.clear()
        self._link.lost([m for m in pending.values() if not m.done])
