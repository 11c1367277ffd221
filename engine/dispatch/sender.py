"""One SMPP session of the sender pool, over trio TCP: the I/O shell.

A sender binds as transceiver and keeps that bind up (reconnecting with
exponential backoff) until cancelled. It owns its socket, its sans-IO
`EsmeSession` (sequence numbers, the window of outstanding submit_sm, expiry) and
its `PartBook` (`engine.dispatch.book`: the parts it has taken from its own
channel, its `BindLink` to the dispatcher, and not finished); it tells the
dispatcher when it is bound, when a message ends and when its connection drops.
Three tasks per connection: one reader feeding the session, one writer pulling
work while the window has room, one timer for enquire_link and expired requests;
writes go through one lock. Outcomes and receipts leave in batches (one per read)
on the router's channel; a full channel makes the reader wait, which is
backpressure. Cancelled, a sender hands back what it holds, like a lost
connection.

Its decisions are pure policies it calls: what a submit_sm_resp status means and
how a retry backs off (`engine.dispatch.policy.outcomes`), how many submits it keeps
outstanding and how fast it sends them, the probe included
(`engine.dispatch.policy.pacing`), and what a deliver_sm reports
(`engine.dispatch.policy.receipts`).

A sender belongs to one SMSC connection (`SenderSettings.smsc`): every bind of
the connection takes each submit from the connection's shared `ConnectionPace`
(its `max_rate`, `engine.dispatch.throttle`) after its own adaptive rate. An
inbound message (a deliver_sm that is no receipt) goes to `inbound` (the
gateway stores it) and is answered only once that returns: durable before the
SMSC may forget it; a failure to store it answers ESME_RX_T_APPN, so the SMSC
delivers it again.

Connection lost: every unfinished message, and every message still in this
bind's channel, goes back to the dispatcher, ahead of its account's queue, with
what it already has (parts already accepted are not sent again); those that were
in flight are flagged as possible duplicates.

Order per account: the dispatcher keeps an account's messages on one bind at a
time (until every one handed to that bind has ended or come back), so its order
is the order of one bind. Parts leave a bind in the order they were taken; a
throttled part, and every part of a lost connection, goes back ahead of every part
of its account not yet sent. A part retried after a transient error's backoff is
accepted after the parts sent meanwhile; a cap met with the window open may swap
parts of one window (`pacing`, "Probe").
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import trio

from engine.clock import WallClock
from engine.dispatch.book import PartBook
from engine.dispatch.dispatcher import BindLink
from engine.dispatch.message import SubmitTemplates
from engine.dispatch.parts import Work
from engine.dispatch.policy.outcomes import RetryPolicy, status_name, submit_status
from engine.dispatch.policy.pacing import Pacing
from engine.dispatch.policy.receipts import INBOUND_DATA_SM_STATUS, read_inbound
from engine.dispatch.results import Event
from engine.dispatch.states import SenderStatistics
from engine.dispatch.throttle import ConnectionPace
from engine.model import BindState, InboundMessage
from engine.smpp import codec
from engine.smpp.constants import Status
from engine.smpp.pdu import (
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    Unbind,
    UnbindResp,
)
from engine.smpp.session import (
    EsmeSession,
    PduRejected,
    RequestReceived,
    ResponseReceived,
    SessionState,
    StreamBroken,
    SubmitAnswered,
)
from engine.text import ReferenceCounter

log = logging.getLogger(__name__)

_WRITE_BATCH = 256
"""Submits written with one send_all at most (one syscall, one TCP segment run): above
the default window, so that a bind writes what its window has room for at once."""


class SessionLost(Exception):
    """The SMSC closed the connection, refused the bind or broke the protocol."""


_LINK_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError,
                SessionLost)
"""What ends one connection (and starts the reconnect backoff), not the sender."""


@dataclass(frozen=True, slots=True)
class SenderSettings:
    host: str
    port: int
    system_id: str
    password: str
    window: int = 100
    response_timeout_s: float = 10.0
    enquire_link_s: float = 30.0
    max_retries: int = 5
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    registered_delivery: bool = True
    retry_min_s: float = 0.05
    retry_max_s: float = 5.0
    probe_submits: int = 0
    """Submits a new connection sends one at a time before opening its window
    (`engine.dispatch.policy.pacing`, "Probe"); 0: the window is open at once."""
    smsc: str = "defaut"
    """The SMSC connection this bind belongs to."""


Inbound = Callable[[Sequence[InboundMessage]], Awaitable[None]]
"""Stores inbound messages; returns once they are durable."""


async def _drop_inbound(messages: Sequence[InboundMessage]) -> None:
    """Without a store for them, inbound messages are answered and dropped."""


class SmppSender:
    """Owns one bind. `serve` runs until cancelled; what it holds when its
    connection drops goes back to the dispatcher through `link.lost`."""

    def __init__(
        self,
        index: int,
        settings: SenderSettings,
        link: BindLink,
        events: trio.MemorySendChannel[list[Event]],
        clock: WallClock,
        refs: ReferenceCounter,
        *,
        pace: ConnectionPace | None = None,
        inbound: Inbound = _drop_inbound,
    ) -> None:
        self.index = index
        self._pace = pace if pace is not None else ConnectionPace()
        self._inbound = inbound
        self.inbound_received = 0
        self._s = settings
        self._link = link
        self._events = events
        self._clock = clock
        self._refs = refs
        self._state = BindState.DISCONNECTED
        self._session: EsmeSession | None = None
        self._pacing = Pacing(settings.probe_submits)
        retry = RetryPolicy(settings.max_retries, settings.retry_min_s, settings.retry_max_s)
        self._book = PartBook(link, self._pacing, retry, clock)
        self._in_flight = self._book.in_flight
        self._templates = SubmitTemplates()
        self._room = trio.Event()
        self._waiting: trio.CancelScope | None = None
        self._send_lock = trio.Lock()
        self._outbox: list[Event] = []
        self._bound = False
        self._submitted = self._reconnects = 0
        self._refused = 0
        self._refused_here = 0
        self._last_error = ""
        self._last_refusal = ""

    @property
    def busy(self) -> bool:
        """Parts are in flight or waiting in this sender."""
        return bool(self._book or self._outbox)

    def statistics(self) -> SenderStatistics:
        link = self._link.statistics()
        pacing, book = self._pacing, self._book
        return SenderStatistics(
            index=self.index,
            state=self._state,
            window_used=len(self._in_flight),
            window_size=pacing.window_size(self._s.window),
            mode=pacing.mode,
            submitted=self._submitted,
            accepted=book.accepted,
            retries=book.retries,
            throttled=book.throttled,
            failed=book.failed,
            reconnects=self._reconnects,
            receipts=book.receipts,
            waiting=len(book.waiting),
            rate_limit_per_s=round(r, 1) if (r := pacing.rate_limit_per_s) is not None else None,
            last_error=self._last_error,
            pdus_refused=self._refused,
            last_refusal=self._last_refusal,
            channel_used=link.channel_used,
            channel_size=link.channel_size,
            outstanding=link.outstanding,
            accounts=link.accounts,
            smsc=self._s.smsc,
            inbound=self.inbound_received,
        )

    # -- supervision ------------------------------------------------------------------

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one bound session up until cancelled; reconnect with backoff."""
        task_status.started()
        backoff = self._s.reconnect_min_s
        while True:
            self._bound = False
            try:
                await self._connect_and_run()
            except _LINK_ERRORS as exc:
                self._link_failed(exc)
            except BaseExceptionGroup as group:
                lost, rest = group.split(_LINK_ERRORS)
                if rest is not None:
                    raise rest from None
                first: BaseException | None = lost
                while isinstance(first, BaseExceptionGroup):
                    first = first.exceptions[0]
                self._link_failed(first)
            finally:
                self._state = BindState.DISCONNECTED
                self._session = None
                self._book.hand_back()
            await self._flush_outbox()
            if self._bound:
                backoff = self._s.reconnect_min_s
            self._reconnects += 1
            await trio.sleep(backoff)
            backoff = min(backoff * 2, self._s.reconnect_max_s)

    def _link_failed(self, exc: BaseException | None) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        log.warning("smpp bind %d: %s", self.index, self._last_error)

    async def _flush_outbox(self) -> None:
        """Hand the router the outcomes and receipts taken so far. Cancelled, they
        stay in the outbox (their messages stay EN_ATTENTE in the store)."""
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            await self._events.send(batch)
        except BaseException:
            self._outbox = batch + self._outbox
            raise

    async def _connect_and_run(self) -> None:
        self._state = BindState.CONNECTING
        stream = await trio.open_tcp_stream(self._s.host, self._s.port)
        async with stream:
            stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = EsmeSession(
                window_size=self._s.window, response_timeout_s=self._s.response_timeout_s
            )
            await self._bind(stream, session)
            self._session = session
            self._state = BindState.BOUND
            self._bound = True
            self._refused_here = 0
            self._link.bound()
            self._pacing.bound()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_loop, stream, session)
                nursery.start_soon(self._timer_loop, stream, session)
                await self._write_loop(stream, session)

    async def _bind(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        data = session.bind(
            SessionState.BOUND_TRX, self._s.system_id, self._s.password,
            now=trio.current_time(),
        )
        await stream.send_all(data)
        with trio.fail_after(self._s.response_timeout_s):
            while session.state is SessionState.OPEN:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    raise SessionLost("connection closed during bind")
                for event in session.receive_data(chunk):
                    if isinstance(event, ResponseReceived) and event.request is not None:
                        if event.pdu.status != Status.ESME_ROK:
                            raise SessionLost(f"bind refused: {status_name(event.pdu.status)}")
                    elif isinstance(event, StreamBroken):
                        raise SessionLost(event.reason)

    # -- writing ----------------------------------------------------------------------

    async def _send(self, stream: trio.SocketStream, data: bytes) -> None:
        async with self._send_lock:
            await stream.send_all(data)

    async def _wait_for_work(self) -> None:
        """Until a part is waiting here: a message arrives or a retry falls due
        (`_answered` brings the deadline forward while this waits)."""
        waiting = self._book.waiting
        with trio.move_on_at(waiting.next_due) as scope:
            self._waiting = scope
            try:
                message = await self._link.receive()
            finally:
                self._waiting = None
            waiting.take(message)

    def _answered(self, session: EsmeSession) -> None:
        """After a run of answers or expiries: a retry due earlier than the writer
        waits for brings its wait forward; room in the window wakes it."""
        if self._waiting is not None:
            due = self._book.waiting.next_due
            if due < self._waiting.deadline:
                self._waiting.deadline = due
        if not self._room.is_set() and session.can_submit() and not (
            self._pacing.single and self._in_flight
        ):
            self._room.set()

    async def _write_loop(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        pacing = self._pacing
        rate = pacing.rate
        cap = self._pace
        book = self._book
        next_work = book.next_work
        in_flight, refs, templates = self._in_flight, self._refs, self._templates
        registered = 1 if self._s.registered_delivery else 0
        while True:
            now = trio.current_time()
            single = pacing.one_at_a_time(now)
            if not session.can_submit() or (single and in_flight):
                self._room = trio.Event()
                await self._room.wait()
                continue
            # as many submits as the window has room for (one while probing), then as
            # many of those as the bind's rate and the connection's cap let leave now
            room = 1 if single else min(_WRITE_BATCH, session.window_size - session.in_window)
            allowed = rate.take_upto(now, room)
            if not allowed:
                await trio.sleep_until(rate.next_at(now))
                continue
            capped = cap.take_upto(now, allowed)
            if capped < allowed:
                rate.untake(allowed - capped)
                if not capped:
                    await trio.sleep_until(cap.next_at(now))
                    continue
            works: list[Work] = []
            while len(works) < capped:
                work = next_work(now)
                if work is None:
                    break
                works.append(work)
            if len(works) < capped:
                rate.untake(capped - len(works))
                cap.untake(capped - len(works))
            if book.ended_aside:
                await self._flush_aside()
            if not works:
                await self._wait_for_work()
                continue
            chunks = self._encode(session, works, now, registered, templates, refs, in_flight)
            if chunks:
                pacing.wrote(now)
                await self._send(stream, b"".join(chunks))
            if book.ended_aside:
                await self._flush_aside()

    def _encode(
        self, session: EsmeSession, works: list[Work], now: float, registered: int,
        templates: SubmitTemplates, refs: ReferenceCounter, in_flight: dict[int, Work],
    ) -> list[bytes]:
        """The submit_sm of each part of `works` still to send, each then in flight
        under its sequence number. If one cannot be encoded, the parts after it go
        back to the bind's queue, in their place, before the error leaves."""
        chunks: list[bytes] = []
        send_submit = session.send_submit
        done = 0
        try:
            for work in works:
                message, part = work
                if not message.done:
                    chunks.append(send_submit(
                        templates.get(message, part, registered),
                        message.destination.lstrip("+").encode("latin-1"),
                        message.reference(refs),
                        now,
                    ))
                    in_flight[session.last_sequence] = work
                done += 1
        except BaseException:
            for work in works[done:]:
                self._book.waiting.put_back(work)
            raise
        finally:
            self._submitted += len(chunks)
        return chunks

    async def _flush_aside(self) -> None:
        """Hand the router the messages that expired while the writer took work."""
        aside = self._book.ended_aside
        self._outbox.extend(aside)
        aside.clear()
        await self._flush_outbox()

    # -- reading ----------------------------------------------------------------------

    async def _read_loop(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise SessionLost("connection closed by the SMSC")
            out = self._outbox
            book = self._book
            now = trio.current_time()
            replies: list[bytes] = []
            inbound: list[DeliverSm] = []
            lost: str | None = None
            answered = book.answered
            at = self._clock.now_iso()
            for event in session.receive_data(data):
                if type(event) is SubmitAnswered:
                    answered(event[0], event[1], event[2], now, out, at)
                elif isinstance(event, ResponseReceived):
                    request = event.request
                    if isinstance(request, SubmitSm):
                        pdu = event.pdu
                        answered(
                            request.sequence, submit_status(pdu), getattr(pdu, "message_id", ""),
                            now, out, at,
                        )
                elif isinstance(event, RequestReceived):
                    asked = event.pdu
                    if isinstance(asked, DeliverSm):
                        if book.delivered(asked, out):
                            replies.append(session.send(DeliverSmResp(sequence=asked.sequence)))
                        else:
                            inbound.append(asked)
                    elif isinstance(asked, DataSm):
                        status = 0 if book.delivered(asked, out) else INBOUND_DATA_SM_STATUS
                        replies.append(
                            session.send(DataSmResp(sequence=asked.sequence, status=status))
                        )
                    elif isinstance(asked, EnquireLink):
                        replies.append(session.send(EnquireLinkResp(sequence=asked.sequence)))
                    elif isinstance(asked, Unbind):
                        replies.append(session.send(UnbindResp(sequence=asked.sequence)))
                        lost = "the SMSC unbound"
                elif isinstance(event, PduRejected):
                    self._refusal(event)
                    if event.reply is not None:
                        replies.append(session.send(event.reply))
                elif isinstance(event, StreamBroken):
                    replies.append(codec.encode(event.reply))
                    lost = f"unreadable stream: {event.reason}"
            self._answered(session)
            await self._flush_outbox()
            if inbound:
                status = await self._store_inbound(inbound)
                replies.extend(
                    session.send(DeliverSmResp(sequence=pdu.sequence, status=status))
                    for pdu in inbound
                )
            if replies:
                await self._send(stream, b"".join(replies))
            if lost is not None:
                raise SessionLost(lost)

    async def _store_inbound(self, pdus: list[DeliverSm]) -> int:
        """Hand the inbound messages of one read to `inbound`; the status their
        deliver_sm_resp carries: OK once stored, ESME_RX_T_APPN (try again) if
        storing failed."""
        at = self._clock.now_iso()
        messages = [InboundMessage(*read_inbound(pdu), at, self._s.smsc) for pdu in pdus]
        try:
            await self._inbound(messages)
        except Exception as exc:  # noqa: BLE001 - the SMSC delivers it again; the link stays up
            log.warning("smpp bind %d: could not store %d inbound messages: %s",
                        self.index, len(messages), exc)
            return int(Status.ESME_RX_T_APPN)
        self.inbound_received += len(messages)
        return int(Status.ESME_ROK)

    def _refusal(self, event: PduRejected) -> None:
        """A PDU from the SMSC refused by the session (a field or TLV over SMPP 3.4's
        size, an undecodable body, a request its state forbids): counted; the first
        of each connection is logged, the link stays up."""
        self._refused += 1
        self._refused_here += 1
        self._last_refusal = event.reason[:200]
        if self._refused_here == 1:
            log.warning(
                "smpp bind %d (%s:%d): refused a PDU from the SMSC: %s"
                " (later refusals on this connection are only counted)",
                self.index, self._s.host, self._s.port, self._last_refusal,
            )

    # -- time -------------------------------------------------------------------------

    async def _timer_loop(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        """enquire_link every `enquire_link_s`; requests unanswered for
        `response_timeout_s` expire (a silent enquire_link means the link is dead)."""
        tick = min(self._s.response_timeout_s / 4, self._s.enquire_link_s, 1.0)
        next_link = trio.current_time() + self._s.enquire_link_s
        while True:
            # idle (nothing outstanding): nothing can expire before a quarter timeout
            idle_s = min(next_link - trio.current_time(), self._s.response_timeout_s / 4)
            await trio.sleep(tick if session.outstanding else max(tick, idle_s))
            now = trio.current_time()
            out = self._outbox
            for request in session.expired(now):
                if isinstance(request, EnquireLink):
                    raise SessionLost("no answer to enquire_link")
                self._book.expired(request.sequence, now, out)
            self._answered(session)
            await self._flush_outbox()
            if now >= next_link:
                next_link = now + self._s.enquire_link_s
                await self._send(stream, session.send(EnquireLink(), now))

