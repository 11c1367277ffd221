"""One SMPP session of the sender pool, over trio TCP.

A sender binds as transceiver and keeps that bind up (reconnecting with
exponential backoff) until cancelled. It owns its socket, its sans-IO
`EsmeSession` (sequence numbers, the window of outstanding submit_sm, expiry) and
the parts it has taken from its own channel (its `BindLink` to the dispatcher)
but not finished; it tells the dispatcher when it is bound, when a message ends
and when its connection drops. Three tasks per connection: one reader feeding the
session, one writer pulling work while the window has room, one timer for
enquire_link and expired requests; writes go through one lock. Outcomes and
receipts leave in batches (one per read) on the router's channel; a full channel
makes the reader wait, which is backpressure.

Outcomes (rules, in order):
1. ESME_ROK for every part: the message is ENVOYE with the SMSC's ids.
2. ESME_RTHROTTLED: this bind slows down (`AdaptiveRate`) and the part is sent
   again before anything this bind has not sent yet, in message order: a
   throttled message keeps its place among its account's messages.
3. A transient status (ESME_RSYSERR, ESME_RMSGQFUL, ...) or a response timeout:
   the part is sent again after an exponential backoff, up to `max_retries`
   times, then the message is ECHEC / ERREUR_RESEAU. A part whose response timed
   out may have reached the SMSC: its message is flagged as a possible duplicate.
4. Any other status: ECHEC / REJET_SMSC with the status as `codeSmsc`.
5. Connection lost: every unfinished message, and every message still in this
   bind's channel, goes back to the dispatcher, ahead of its account's queue, with
   what it already has (parts already accepted are not sent again); those that
   were in flight are flagged as possible duplicates.

Order per account: the dispatcher keeps an account's messages on one bind at a
time (until every one handed to that bind has ended or come back), so its order
is the order of one bind. Parts leave a bind in the order they were taken, and
rules 2 and 5 put a part back ahead of every part of its account not yet sent.
A part retried after a backoff (rule 3) is accepted after the parts sent meanwhile.

Probe: a window cannot keep order by itself against a throttling SMSC. When a
token bucket runs dry, the SMSC refuses part k and, a token later, may accept part
k+50 of the same window, already on the wire. So a new connection sends its first
`probe_submits` submits (for at most `_PROBE_MAX_S`) one at a time, ~2,000/s on a
local link. A cap well below that pace runs dry during the probe (a bucket holding
one second of a cap C runs dry after C * pace / (pace - C) submits: ~220 for 200/s,
~500 for 400/s), with one part outstanding: the refused part goes again, first,
and the bind stays one at a time while it paces under the cap (it loses nothing:
the cap is below that pace). A probe that meets no cap opens the window; a cap met
later, with the window open, may still swap parts of one window. Nothing else
reorders an account's messages.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any

import trio

from engine.clock import WallClock
from engine.dispatch.dispatcher import BindLink
from engine.dispatch.message import OutMessage
from engine.dispatch.results import Ended, Event, Receipt
from engine.dispatch.throttle import AdaptiveRate
from engine.model import Outcome
from engine.smpp import codec
from engine.smpp.constants import (
    ESM_DELIVERY_RECEIPT,
    NPI_ISDN,
    TON_INTERNATIONAL,
    MessageState,
    Status,
    Tag,
    is_transient,
)
from engine.smpp.pdu import (
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    Unbind,
    UnbindResp,
)
from engine.smpp.receipts import ReceiptParseError, parse_receipt
from engine.smpp.session import (
    EsmeSession,
    PduRejected,
    RequestReceived,
    ResponseReceived,
    SessionState,
    StreamBroken,
)
from engine.text import ReferenceCounter
from engine.types import Livraison, Raison, Statut

log = logging.getLogger(__name__)

_WRITE_BATCH = 64
"""Submits written with one send_all at most (one syscall, one TCP segment run)."""

_PROBE_MAX_S = 1.0
"""A probe ends after this long from its first submit, whatever it has sent: on a
slow link one at a time is slow (and a cap it could meet is lower still), and on
a busy gateway a probe holds a backlog back (P1 of bench/bench_gateway.py: 2 s
cost ~3% of the rate, 1 s nothing measurable; a 200/s cap shows within ~0.1 s)."""

_LIVRAISON = {
    "DELIVRD": Livraison.LIVRE,
    "EXPIRED": Livraison.EXPIRE,
    "UNDELIV": Livraison.NON_LIVRE,
    "REJECTD": Livraison.NON_LIVRE,
    "DELETED": Livraison.NON_LIVRE,
    "UNKNOWN": Livraison.NON_LIVRE,
}
_LIVRAISON_BY_STATE: dict[int, Livraison] = {
    MessageState.DELIVERED: Livraison.LIVRE,
    MessageState.EXPIRED: Livraison.EXPIRE,
    MessageState.DELETED: Livraison.NON_LIVRE,
    MessageState.UNDELIVERABLE: Livraison.NON_LIVRE,
    MessageState.UNKNOWN: Livraison.NON_LIVRE,
    MessageState.REJECTED: Livraison.NON_LIVRE,
}
"""Final message_state TLV values (ENROUTE and ACCEPTED are not final: ignored)."""


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
    (module docstring, "Probe"); 0: the window is open at once."""


@dataclass(frozen=True, slots=True)
class SenderStatistics:
    index: int
    state: str
    window_used: int
    window_size: int
    """Submits that may be outstanding now: 1 while the bind probes or keeps under a
    cap it met when probing, else the configured window."""
    mode: str
    """FENETRE (the window is open), SONDE (probing) or UN_A_UN (under a cap met
    when probing)."""
    submitted: int
    accepted: int
    retries: int
    throttled: int
    failed: int
    reconnects: int
    receipts: int
    waiting: int
    rate_limit_per_s: float | None
    last_error: str
    channel_used: int
    """Messages in this bind's channel, not yet taken."""
    channel_size: int
    outstanding: int
    """Messages handed to this bind and not finished (channel, window, retries)."""
    accounts: int
    """Accounts whose messages are on this bind."""


Work = tuple[OutMessage, int]
"""One part of one message: (message, part index)."""


def _order(work: Work) -> tuple[int, int]:
    return work[0].message_id, work[1]


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
    ) -> None:
        self.index = index
        self._s = settings
        self._link = link
        self._events = events
        self._clock = clock
        self._refs = refs
        self._state = "DECONNECTE"
        self._session: EsmeSession | None = None
        self._in_flight: dict[int, Work] = {}
        self._fresh: deque[Work] = deque()
        self._again: list[Work] = []
        self._later: list[tuple[float, int, OutMessage, int]] = []
        self._tie = itertools.count()
        self._rate = AdaptiveRate()
        self._probe_left = 0
        self._probe_ends: float | None = None
        self._held = False
        self._single = False
        self._room = trio.Event()
        self._waiting: trio.CancelScope | None = None
        self._send_lock = trio.Lock()
        self._outbox: list[Event] = []
        self._bound = False
        self._submitted = self._accepted = self._retries = self._throttled = 0
        self._failed = self._reconnects = self._receipts = 0
        self._last_error = ""

    @property
    def busy(self) -> bool:
        """Parts are in flight or waiting in this sender."""
        return bool(
            self._in_flight or self._fresh or self._again or self._later or self._outbox
        )

    def statistics(self) -> SenderStatistics:
        link = self._link.statistics()
        return SenderStatistics(
            index=self.index,
            state=self._state,
            window_used=len(self._in_flight),
            window_size=1 if self._single else self._s.window,
            mode="UN_A_UN" if self._held else "SONDE" if self._single else "FENETRE",
            submitted=self._submitted,
            accepted=self._accepted,
            retries=self._retries,
            throttled=self._throttled,
            failed=self._failed,
            reconnects=self._reconnects,
            receipts=self._receipts,
            waiting=len(self._fresh) + len(self._again) + len(self._later),
            rate_limit_per_s=round(r, 1) if (r := self._rate.rate_per_s) is not None else None,
            last_error=self._last_error,
            channel_used=link.channel_used,
            channel_size=link.channel_size,
            outstanding=link.outstanding,
            accounts=link.accounts,
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
                self._state = "DECONNECTE"
                self._session = None
                self._hand_back()
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
        self._state = "CONNEXION"
        stream = await trio.open_tcp_stream(self._s.host, self._s.port)
        async with stream:
            stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = EsmeSession(
                window_size=self._s.window, response_timeout_s=self._s.response_timeout_s
            )
            await self._bind(stream, session)
            self._session = session
            self._state = "LIE"
            self._bound = True
            self._link.bound()
            self._rate = AdaptiveRate()
            self._probe_left, self._probe_ends = self._s.probe_submits, None
            self._held = self._single = False
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
                            raise SessionLost(f"bind refused: {_status_name(event.pdu.status)}")
                    elif isinstance(event, StreamBroken):
                        raise SessionLost(event.reason)

    def _hand_back(self) -> None:
        """Give every unfinished message back to the dispatcher, with what is still
        in this bind's channel (connection lost); this bind gets nothing new until
        it is bound again."""
        pending: dict[int, OutMessage] = {}
        for message, _ in self._in_flight.values():
            message.possible_duplicate = True
            pending.setdefault(message.message_id, message)
        for message, _ in itertools.chain(self._again, self._fresh):
            pending.setdefault(message.message_id, message)
        for _, _, message, _ in self._later:
            pending.setdefault(message.message_id, message)
        self._in_flight.clear()
        self._fresh.clear()
        self._again.clear()
        self._later.clear()
        self._link.lost([m for m in pending.values() if not m.done])

    # -- writing ----------------------------------------------------------------------

    async def _send(self, stream: trio.SocketStream, data: bytes) -> None:
        async with self._send_lock:
            await stream.send_all(data)

    def _take(self, message: OutMessage) -> None:
        """Own a message from the channel: queue each of its parts not yet accepted."""
        if message.part_ids is None:
            message.part_ids = [None] * len(message.encoded.parts)
        self._fresh.extend((message, i) for i, sid in enumerate(message.part_ids) if sid is None)

    def _next_work(self) -> Work | None:
        """Resent parts first (message order), then fresh ones; pulls the channel."""
        later = self._later
        if later:
            now = trio.current_time()
            while later and later[0][0] <= now:
                _, _, message, part = heapq.heappop(later)
                bisect.insort(self._again, (message, part), key=_order)
        if self._again:
            return self._again.pop(0)
        if not self._fresh:
            try:
                self._take(self._link.receive_nowait())
            except trio.WouldBlock:
                return None
        return self._fresh.popleft() if self._fresh else None

    def _put_back(self, work: Work) -> None:
        bisect.insort(self._again, work, key=_order)

    async def _wait_for_work(self) -> None:
        """Until a part is waiting here: a message arrives or a retry falls due
        (`_retry_later` brings the deadline forward while this waits)."""
        deadline = self._later[0][0] if self._later else float("inf")
        with trio.move_on_at(deadline) as scope:
            self._waiting = scope
            try:
                message = await self._link.receive()
            finally:
                self._waiting = None
            self._take(message)

    def _single_file(self, now: float) -> bool:
        """Whether this bind sends one submit at a time now: while it probes, and
        while it paces under a cap it met when probing ("Probe")."""
        if self._held:
            if self._rate.rate_per_s is not None:
                return True
            self._held = False  # paced until its rate grew past the ceiling: no cap now
        if self._probe_left > 0:
            if self._probe_ends is None or now < self._probe_ends:
                return True
            self._probe_left = 0
        return False

    def _wake_writer(self, session: EsmeSession) -> None:
        if not self._room.is_set() and session.can_submit() and not (
            self._single and self._in_flight
        ):
            self._room.set()

    async def _write_loop(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        rate = self._rate
        while True:
            now = trio.current_time()
            single = self._single = self._single_file(now)
            if not session.can_submit() or (single and self._in_flight):
                self._room = trio.Event()
                await self._room.wait()
                continue
            if not rate.take(now):
                await trio.sleep_until(rate.next_at(now))
                continue
            work = self._next_work()
            if work is None:
                rate.untake()
                await self._wait_for_work()
                continue
            chunks: list[bytes] = []
            while True:
                message, part = work
                if not message.done:
                    chunks.append(self._submit_bytes(session, message, part, now))
                if single or len(chunks) >= _WRITE_BATCH or not session.can_submit():
                    break
                if not rate.take(now):
                    break
                nxt = self._next_work()
                if nxt is None:
                    rate.untake()
                    break
                work = nxt
            if chunks:
                if self._probe_left and self._probe_ends is None:
                    self._probe_ends = now + _PROBE_MAX_S  # from the first submit
                await self._send(stream, b"".join(chunks))

    def _submit_bytes(
        self, session: EsmeSession, message: OutMessage, part: int, now: float
    ) -> bytes:
        encoded = message.encoded
        payload = encoded.parts[part]
        if len(encoded.parts) > 1:
            if message.udh_reference is None:
                message.udh_reference = self._refs.next(message.destination)
            payload = payload[:3] + bytes((message.udh_reference,)) + payload[4:]
        sender = message.sender
        data = session.send(
            SubmitSm(
                source_addr_ton=sender.ton,
                source_addr_npi=sender.npi,
                source_addr=sender.address,
                dest_addr_ton=TON_INTERNATIONAL,
                dest_addr_npi=NPI_ISDN,
                destination_addr=message.destination.lstrip("+"),
                esm_class=encoded.esm_class,
                registered_delivery=1 if self._s.registered_delivery else 0,
                data_coding=encoded.data_coding,
                short_message=payload,
            ),
            now,
        )
        self._in_flight[session.last_sequence] = (message, part)
        self._submitted += 1
        return data

    # -- reading ----------------------------------------------------------------------

    async def _read_loop(self, stream: trio.SocketStream, session: EsmeSession) -> None:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise SessionLost("connection closed by the SMSC")
            out = self._outbox
            replies: list[bytes] = []
            lost: str | None = None
            for event in session.receive_data(data):
                if isinstance(event, ResponseReceived):
                    request = event.request
                    if isinstance(request, SubmitSm):
                        pdu = event.pdu
                        status = pdu.status
                        if isinstance(pdu, GenericNack) and not status:
                            status = Status.ESME_RSYSERR
                        self._on_response(
                            request.sequence, status, getattr(pdu, "message_id", ""), out
                        )
                elif isinstance(event, RequestReceived):
                    asked = event.pdu
                    if isinstance(asked, DeliverSm):
                        replies.append(session.send(DeliverSmResp(sequence=asked.sequence)))
                        self._on_deliver(asked, out)
                    elif isinstance(asked, EnquireLink):
                        replies.append(session.send(EnquireLinkResp(sequence=asked.sequence)))
                    elif isinstance(asked, Unbind):
                        replies.append(session.send(UnbindResp(sequence=asked.sequence)))
                        lost = "the SMSC unbound"
                elif isinstance(event, PduRejected):
                    if event.reply is not None:
                        replies.append(session.send(event.reply))
                elif isinstance(event, StreamBroken):
                    replies.append(codec.encode(event.reply))
                    lost = f"unreadable stream: {event.reason}"
            self._wake_writer(session)
            await self._flush_outbox()
            if replies:
                await self._send(stream, b"".join(replies))
            if lost is not None:
                raise SessionLost(lost)

    def _on_response(self, seq: int, status: int, smsc_id: str, out: list[Event]) -> None:
        entry = self._in_flight.pop(seq, None)
        if entry is None:
            return
        message, part = entry
        if message.done:
            return
        assert message.part_ids is not None
        now = trio.current_time()
        if status == Status.ESME_ROK:
            self._rate.accepted(now)
            if self._probe_left:
                self._probe_left -= 1
            message.part_ids[part] = smsc_id
            if None not in message.part_ids:
                self._accepted += 1
                out.append(self._end(message, Statut.ENVOYE))
        elif status == Status.ESME_RTHROTTLED:
            self._throttled += 1
            self._rate.throttled(now)
            if self._single:  # a cap below one-at-a-time: stay so while paced under it
                self._held, self._probe_left = True, 0
            self._put_back(entry)
        elif is_transient(status):
            self._retry_later(message, part, status, out)
        else:
            self._failed += 1
            out.append(self._end(message, Statut.ECHEC, Raison.REJET_SMSC, status))

    def _retry_later(
        self, message: OutMessage, part: int, status: int | None, out: list[Event]
    ) -> None:
        message.retries += 1
        if message.retries > self._s.max_retries:
            self._failed += 1
            out.append(self._end(message, Statut.ECHEC, Raison.ERREUR_RESEAU, status))
            return
        self._retries += 1
        delay = min(self._s.retry_min_s * 2 ** (message.retries - 1), self._s.retry_max_s)
        due = trio.current_time() + delay
        heapq.heappush(self._later, (due, next(self._tie), message, part))
        if self._waiting is not None and due < self._waiting.deadline:
            self._waiting.deadline = due

    def _end(
        self,
        message: OutMessage,
        statut: Statut,
        raison: Raison | None = None,
        code: int | None = None,
    ) -> Ended:
        message.done = True
        self._link.finished(message)
        sent = statut is Statut.ENVOYE
        return Ended(
            message.account_id,
            Outcome(
                message_id=message.message_id,
                ref=message.ref,
                statut=statut,
                raison=raison,
                code_smsc=code,
                smsc_ids=tuple(message.part_ids or ()) if sent else (),  # type: ignore[arg-type]
                at=self._clock.now_iso(),
                doublon_possible=message.possible_duplicate,
            ),
        )

    def _on_deliver(self, pdu: DeliverSm, out: list[Event]) -> None:
        """A delivery receipt: its SMSC id and final state from the SMPP 3.4 TLVs
        (receipted_message_id, message_state) when both are there, else from the
        text (`id:` and `stat:`); a non-final state is ignored."""
        if not pdu.esm_class & ESM_DELIVERY_RECEIPT:
            return
        livraison: Livraison | None = None
        tlv = state = None
        for t in pdu.tlvs:
            if t.tag == Tag.RECEIPTED_MESSAGE_ID:
                tlv = tlv if tlv is not None else t.value
            elif t.tag == Tag.MESSAGE_STATE and len(t.value) == 1:
                state = state if state is not None else t.value[0]
        if tlv and state is not None:
            livraison = _LIVRAISON_BY_STATE.get(state)
            smsc_id = tlv.rstrip(b"\0").decode("latin-1")
        else:
            try:
                receipt = parse_receipt(pdu.short_message)
            except ReceiptParseError:
                return
            livraison = _LIVRAISON.get(receipt.stat.upper())
            smsc_id = tlv.rstrip(b"\0").decode("latin-1") if tlv else receipt.id
        if livraison is None or not smsc_id:
            return
        self._receipts += 1
        out.append(Receipt(smsc_id, livraison.value, self._clock.now_iso()))

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
                entry = self._in_flight.pop(request.sequence, None)
                if entry is not None and not entry[0].done:
                    entry[0].possible_duplicate = True
                    self._retry_later(entry[0], entry[1], None, out)
            self._wake_writer(session)
            await self._flush_outbox()
            if now >= next_link:
                next_link = now + self._s.enquire_link_s
                await self._send(stream, session.send(EnquireLink(), now))


def _status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"0x{status:08X}"
