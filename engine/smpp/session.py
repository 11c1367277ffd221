"""SMPP 3.4 session state machines, sans-IO.

An `EsmeSession` (client side) or `SmscSession` (server side) owns the protocol state of
one SMPP connection: the bind state, the sequence counter, the outstanding requests and
the receive buffer. Bytes go in through `receive_data`, events come out; PDUs go in
through `send`, bytes come out. Nothing here reads a clock or touches a socket: the
current time is passed in by the caller.

Rules
-----
1. States: OPEN -> BOUND_TX | BOUND_RX | BOUND_TRX -> UNBOUND -> CLOSED. Every session
   starts OPEN. `close()` moves any state to CLOSED; nothing can be sent or received
   after that.
2. Requests are sent with `send(pdu)`, which assigns the next sequence number
   (1..0x7FFFFFFF, wrapping to 1, skipping numbers still outstanding). The sequence the
   caller put in a request is ignored. Responses are sent with the sequence of the
   request they answer (`pdu.response_for` copies it) and are allowed in every state
   but CLOSED.
3. Which requests a side may send, and accept, depends on the state (tables
   `ESME_SENDS` / `SMSC_SENDS` below; each side accepts what the other sends). Sending
   a request the state forbids raises `SessionError` and changes nothing; receiving one
   yields `PduRejected` whose `reply` (a response with ESME_RINVBNDSTS, ESME_RALYBND for
   a second bind, or a generic_nack with ESME_RINVCMDID for a command this side never
   accepts) the caller should send.
4. ESME binding: one bind request may be outstanding at a time. Its response with
   status 0 moves the session to the matching BOUND state; any other status leaves it
   OPEN. SMSC binding: a received bind is reported as `RequestReceived`; the server
   decides, and sending its bind response with status 0 moves it to BOUND (a bind
   response with status 0 that answers no pending bind raises `SessionError`; error
   responses can always be sent).
5. Sending or receiving unbind moves the session to UNBOUND. Responses to earlier
   requests are still matched there; the unbind itself must be answered with
   unbind_resp, then the caller closes.
6. Every request that has a response (all but outbind and alert_notification) is
   outstanding until a response with its sequence arrives, whose command is its
   response command or generic_nack. `ResponseReceived.request` is that request (with
   its assigned sequence); a response matching nothing has `request=None`.
7. Window: submit_sm, deliver_sm, data_sm, query_sm, replace_sm and cancel_sm count
   against `window_size`. `can_send()` tells whether one more fits; sending one when
   the window is full raises `WindowFull`. Bind, enquire_link and unbind are never
   held back by the window, but are counted in `outstanding`.
8. Time: `send(pdu, now)` stamps the request with `now`. Without `now`, the request is
   stamped by the first `expired(now)` call after it was sent, so it can expire late,
   never early. `expired(now)` removes and returns every request outstanding for longer
   than `response_timeout_s`; a response arriving later matches nothing.
9. Bytes that are not SMPP: a PDU whose header is readable but body is not yields
   `PduRejected` with the reply to send (the request's response carrying the error
   status, or generic_nack for an unknown command_id; no reply for a broken response).
   A command_length under 16 or over `max_command_length` makes the stream unusable:
   the session yields `StreamBroken` with a generic_nack to write, and moves to CLOSED.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

from .codec import SmppDecodeError, decode, encode
from .constants import RESPONSE_BIT, CommandId, Status
from .framing import PduReader
from .pdu import (
    PDU_TYPE_BY_ID,
    RESPONSE_TYPE,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    GenericNack,
    Pdu,
    Request,
    Response,
    with_sequence,
)

MAX_SEQUENCE = 0x7FFFFFFF


class SessionState(IntEnum):
    OPEN = 0
    BOUND_TX = 1
    BOUND_RX = 2
    BOUND_TRX = 3
    UNBOUND = 4
    CLOSED = 5


class SessionError(Exception):
    """The caller asked for something the session state does not allow."""


class WindowFull(SessionError):
    """A windowed request was sent while `window_size` requests were outstanding."""


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request from the peer, allowed in the current state. The caller answers it."""

    pdu: Request


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response; `request` is the outstanding request it answers, or None."""

    pdu: Response
    request: Request | None


@dataclass(frozen=True, slots=True)
class PduRejected:
    """A PDU the session refused (wrong state, wrong direction, undecodable body).

    `reply` is what the caller should send back (None when the refused PDU was a
    response); `pdu` is the refused PDU when it could be decoded.
    """

    reason: str
    reply: Response | None
    pdu: Pdu | None = None


@dataclass(frozen=True, slots=True)
class StreamBroken:
    """The byte stream cannot be read any further; the session is now CLOSED.

    Write `codec.encode(reply)` if the connection is still writable, then close it.
    """

    reason: str
    reply: GenericNack


Event: TypeAlias = RequestReceived | ResponseReceived | PduRejected | StreamBroken


# --- rule tables -----------------------------------------------------------------------

_S = SessionState
_C = CommandId

_TX_REQUESTS = frozenset({_C.SUBMIT_SM, _C.DATA_SM, _C.QUERY_SM, _C.REPLACE_SM, _C.CANCEL_SM})
_RX_REQUESTS = frozenset({_C.DELIVER_SM, _C.DATA_SM, _C.ALERT_NOTIFICATION})
_LINK = frozenset({_C.ENQUIRE_LINK, _C.UNBIND})
_BINDS = frozenset({_C.BIND_TRANSMITTER, _C.BIND_RECEIVER, _C.BIND_TRANSCEIVER})

ESME_SENDS: dict[SessionState, frozenset[int]] = {
    _S.OPEN: _BINDS | {_C.ENQUIRE_LINK},
    _S.BOUND_TX: _TX_REQUESTS | _LINK,
    _S.BOUND_RX: _LINK,
    _S.BOUND_TRX: _TX_REQUESTS | _LINK,
    _S.UNBOUND: frozenset(),
    _S.CLOSED: frozenset(),
}
"""Requests an ESME may send, per state. An SMSC accepts exactly these."""

SMSC_SENDS: dict[SessionState, frozenset[int]] = {
    _S.OPEN: frozenset({_C.OUTBIND, _C.ENQUIRE_LINK}),
    _S.BOUND_TX: _LINK,
    _S.BOUND_RX: _RX_REQUESTS | _LINK,
    _S.BOUND_TRX: _RX_REQUESTS | _LINK,
    _S.UNBOUND: frozenset(),
    _S.CLOSED: frozenset(),
}
"""Requests an SMSC may send, per state. An ESME accepts exactly these."""

WINDOWED = frozenset(
    {_C.SUBMIT_SM, _C.DELIVER_SM, _C.DATA_SM, _C.QUERY_SM, _C.REPLACE_SM, _C.CANCEL_SM}
)

_BOUND_BY_BIND: dict[type[Pdu], SessionState] = {
    BindTransmitter: _S.BOUND_TX,
    BindReceiver: _S.BOUND_RX,
    BindTransceiver: _S.BOUND_TRX,
    BindTransmitterResp: _S.BOUND_TX,
    BindReceiverResp: _S.BOUND_RX,
    BindTransceiverResp: _S.BOUND_TRX,
}
_BIND_FOR_MODE: dict[
    SessionState, type[BindTransmitter] | type[BindReceiver] | type[BindTransceiver]
] = {
    _S.BOUND_TX: BindTransmitter,
    _S.BOUND_RX: BindReceiver,
    _S.BOUND_TRX: BindTransceiver,
}
_RESPONSE_BY_REQUEST_ID: dict[int, type[Response]] = {
    request.COMMAND_ID: response for request, response in RESPONSE_TYPE.items()
}


class _Pending:
    __slots__ = ("request", "sent_at", "windowed")

    def __init__(self, request: Request, sent_at: float | None, windowed: bool) -> None:
        self.request = request
        self.sent_at = sent_at
        self.windowed = windowed


class _Session:
    """Shared machinery: sequence numbers, outstanding requests, window, decoding."""

    _sends: dict[SessionState, frozenset[int]]
    _accepts: dict[SessionState, frozenset[int]]

    def __init__(
        self,
        *,
        window_size: int = 10,
        response_timeout_s: float = 30.0,
        max_command_length: int = 65536,
    ) -> None:
        if window_size < 1:
            raise ValueError("window_size must be at least 1")
        self.window_size = window_size
        self.response_timeout_s = response_timeout_s
        self._state = SessionState.OPEN
        self._reader = PduReader(max_command_length)
        self._pending: dict[int, _Pending] = {}
        self._in_window = 0
        self._last_sequence = 0
        self._accepted_anywhere = frozenset().union(*self._accepts.values())

    # -- observation ------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def outstanding(self) -> int:
        """Requests sent and neither answered nor expired."""
        return len(self._pending)

    @property
    def in_window(self) -> int:
        """Outstanding windowed requests (rule 7)."""
        return self._in_window

    @property
    def last_sequence(self) -> int:
        """Sequence number given to the most recent request sent (0 before any)."""
        return self._last_sequence

    def can_send(self) -> bool:
        """True when one more windowed request fits (the state may still forbid it)."""
        return self._state is not SessionState.CLOSED and self._in_window < self.window_size

    def can_submit(self) -> bool:
        """True when a submit_sm may be sent now: transmit-capable state and room."""
        return _C.SUBMIT_SM in self._sends[self._state] and self._in_window < self.window_size

    # -- sending ----------------------------------------------------------------------

    def send(self, pdu: Pdu, now: float | None = None) -> bytes:
        """Bytes for `pdu`; a request gets the next sequence number (rules 2, 3, 7, 8)."""
        state = self._state
        if state is SessionState.CLOSED:
            raise SessionError("session is closed")
        command_id = pdu.COMMAND_ID
        if command_id & RESPONSE_BIT:
            data = encode(pdu)
            self._sent_response(pdu)  # type: ignore[arg-type]
            return data
        if command_id not in self._sends[state]:
            raise SessionError(f"{command_id.name.lower()} not allowed in state {state.name}")
        windowed = command_id in WINDOWED
        if windowed and self._in_window >= self.window_size:
            raise WindowFull(f"{self._in_window} requests outstanding")
        self._check_request(pdu)  # type: ignore[arg-type]
        sequence = self._next_sequence()
        request = with_sequence(pdu, sequence)
        data = encode(request)
        self._last_sequence = sequence
        self._sent_request(request)  # type: ignore[arg-type]
        if type(request) in RESPONSE_TYPE:
            self._pending[sequence] = _Pending(request, now, windowed)  # type: ignore[arg-type]
            if windowed:
                self._in_window += 1
        if command_id == _C.UNBIND:
            self._state = SessionState.UNBOUND
        return data

    def _next_sequence(self) -> int:
        sequence = self._last_sequence
        pending = self._pending
        while True:
            sequence = sequence + 1 if sequence < MAX_SEQUENCE else 1
            if sequence not in pending:
                return sequence

    def _check_request(self, pdu: Request) -> None:
        """Side-specific refusal (raise `SessionError`) before a request is sent."""

    def _sent_request(self, pdu: Request) -> None:
        """Side-specific effect of sending a request."""

    def _sent_response(self, pdu: Response) -> None:
        """Side-specific effect of sending a response."""

    # -- receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed received bytes; return the events they complete, in order (rules 3-6, 9)."""
        if self._state is SessionState.CLOSED:
            raise SessionError("session is closed")
        try:
            frames = self._reader.feed_frames(data)
            broken = None
        except SmppDecodeError as exc:
            frames, broken = exc.frames, exc
        events: list[Event] = []
        for frame in frames:
            try:
                pdu = decode(frame)
            except SmppDecodeError as exc:
                events.append(self._undecodable(exc))
                continue
            if pdu.COMMAND_ID & RESPONSE_BIT:
                events.append(self._match(pdu))  # type: ignore[arg-type]
            else:
                events.append(self._request(pdu))  # type: ignore[arg-type]
        if broken is not None:
            self._state = SessionState.CLOSED
            nack = GenericNack(sequence=broken.sequence or 0, status=Status.ESME_RINVCMDLEN)
            events.append(StreamBroken(str(broken), nack))
        return events

    def _match(self, pdu: Response) -> ResponseReceived:
        pending = self._pending.get(pdu.sequence)
        if pending is None:
            return ResponseReceived(pdu, None)
        request = pending.request
        if type(pdu) is not GenericNack and RESPONSE_TYPE[type(request)] is not type(pdu):
            return ResponseReceived(pdu, None)
        del self._pending[pdu.sequence]
        if pending.windowed:
            self._in_window -= 1
        self._answered(request, pdu)
        return ResponseReceived(pdu, request)

    def _answered(self, request: Request, response: Response) -> None:
        """Side-specific effect of a matched response."""

    def _request(self, pdu: Request) -> RequestReceived | PduRejected:
        command_id = pdu.COMMAND_ID
        state = self._state
        if command_id in self._accepts[state]:
            refusal = self._refuse(pdu)
            if refusal is not None:
                return refusal
            if command_id == _C.UNBIND:
                self._state = SessionState.UNBOUND
            return RequestReceived(pdu)
        if command_id not in self._accepted_anywhere:
            reason = f"{command_id.name.lower()} is never accepted from this peer"
            return PduRejected(reason, GenericNack(pdu.sequence, Status.ESME_RINVCMDID), pdu)
        status = Status.ESME_RINVBNDSTS
        if command_id in _BINDS and state is not SessionState.OPEN:
            status = Status.ESME_RALYBND
        return PduRejected(
            f"{command_id.name.lower()} not allowed in state {state.name}",
            _reply(pdu, status),
            pdu,
        )

    def _refuse(self, pdu: Request) -> PduRejected | None:
        """Side-specific refusal of a request the state table allows."""
        return None

    def _undecodable(self, exc: SmppDecodeError) -> PduRejected:
        command_id = exc.command_id
        sequence = exc.sequence or 0
        if command_id is None or command_id not in PDU_TYPE_BY_ID:
            return PduRejected(str(exc), GenericNack(sequence, Status.ESME_RINVCMDID))
        if command_id & RESPONSE_BIT:
            return PduRejected(str(exc), None)
        cls = _RESPONSE_BY_REQUEST_ID.get(command_id, GenericNack)
        reply = cls(sequence=sequence, status=exc.status)
        return PduRejected(str(exc), reply)

    # -- time and teardown ---------------------------------------------------------------

    def expired(self, now: float) -> list[Request]:
        """Remove and return requests outstanding for longer than the timeout (rule 8)."""
        deadline = now - self.response_timeout_s
        late: list[Request] = []
        for sequence, pending in list(self._pending.items()):
            if pending.sent_at is None:
                pending.sent_at = now
            elif pending.sent_at <= deadline:
                del self._pending[sequence]
                if pending.windowed:
                    self._in_window -= 1
                self._forget(pending.request)
                late.append(pending.request)
        return late

    def _forget(self, request: Request) -> None:
        """Side-specific effect of a request given up on."""

    def close(self) -> list[Request]:
        """Move to CLOSED; return the requests that will never be answered."""
        self._state = SessionState.CLOSED
        abandoned = [p.request for p in self._pending.values()]
        self._pending.clear()
        self._in_window = 0
        return abandoned


def _reply(pdu: Request, status: int) -> Response:
    cls = RESPONSE_TYPE.get(type(pdu))
    if cls is None:
        return GenericNack(sequence=pdu.sequence, status=status)
    return cls(sequence=pdu.sequence, status=status)


class EsmeSession(_Session):
    """The client (ESME) side of one SMPP connection.

    Owns the bind state, sequence numbers and outstanding requests of that connection.
    A single reader feeds `receive_data`; writers call `send` and write the bytes in the
    order `send` produced them.
    """

    _sends = ESME_SENDS
    _accepts = SMSC_SENDS

    def __init__(
        self,
        *,
        window_size: int = 10,
        response_timeout_s: float = 30.0,
        max_command_length: int = 65536,
    ) -> None:
        super().__init__(
            window_size=window_size,
            response_timeout_s=response_timeout_s,
            max_command_length=max_command_length,
        )
        self._binding = False

    def bind(
        self,
        mode: SessionState,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        interface_version: int = 0x34,
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
        now: float | None = None,
    ) -> bytes:
        """Bytes of a bind request for `mode` (BOUND_TX, BOUND_RX or BOUND_TRX)."""
        cls = _BIND_FOR_MODE.get(mode)
        if cls is None:
            raise ValueError(f"not a bound state: {mode!r}")
        request = cls(
            system_id=system_id,
            password=password,
            system_type=system_type,
            interface_version=interface_version,
            addr_ton=addr_ton,
            addr_npi=addr_npi,
            address_range=address_range,
        )
        return self.send(request, now)

    def _check_request(self, pdu: Request) -> None:
        if pdu.COMMAND_ID in _BINDS and self._binding:
            raise SessionError("a bind request is already outstanding")

    def _sent_request(self, pdu: Request) -> None:
        if pdu.COMMAND_ID in _BINDS:
            self._binding = True

    def _answered(self, request: Request, response: Response) -> None:
        if request.COMMAND_ID in _BINDS:
            self._binding = False
            if response.status == Status.ESME_ROK and self._state is SessionState.OPEN:
                self._state = _BOUND_BY_BIND[type(request)]

    def _forget(self, request: Request) -> None:
        if request.COMMAND_ID in _BINDS:
            self._binding = False


class SmscSession(_Session):
    """The server (SMSC) side of one SMPP connection, as used by the simulator.

    Owns the bind state, the sequence numbers of the deliver_sm it sends and their
    outstanding window. Authentication is the caller's: a bind arrives as
    `RequestReceived`, and the bind response the caller sends decides the state.
    """

    _sends = SMSC_SENDS
    _accepts = ESME_SENDS

    def __init__(
        self,
        *,
        window_size: int = 10,
        response_timeout_s: float = 30.0,
        max_command_length: int = 65536,
    ) -> None:
        super().__init__(
            window_size=window_size,
            response_timeout_s=response_timeout_s,
            max_command_length=max_command_length,
        )
        self._bind_request: Request | None = None
        self._system_id: str | None = None

    @property
    def system_id(self) -> str | None:
        """The system_id of the accepted bind; None until a bind was accepted."""
        return self._system_id

    def _refuse(self, pdu: Request) -> PduRejected | None:
        if pdu.COMMAND_ID in _BINDS:
            if self._bind_request is not None:
                return PduRejected(
                    "a bind is already being processed", _reply(pdu, Status.ESME_RALYBND), pdu
                )
            self._bind_request = pdu
        return None

    def _sent_response(self, pdu: Response) -> None:
        target = _BOUND_BY_BIND.get(type(pdu))
        if target is None:
            return
        request = self._bind_request
        answers_pending = request is not None and request.sequence == pdu.sequence
        if pdu.status != Status.ESME_ROK:
            if answers_pending:
                self._bind_request = None
            return
        if request is None or not answers_pending:
            raise SessionError("bind accepted without a matching bind request")
        if _BOUND_BY_BIND[type(request)] is not target:
            raise SessionError(f"{type(pdu).__name__} does not answer {type(request).__name__}")
        self._bind_request = None
        if self._state is SessionState.OPEN:
            self._state = target
            self._system_id = request.system_id  # type: ignore[union-attr]
