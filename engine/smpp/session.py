"""SMPP 3.4 session state machines, sans-IO.

An `EsmeSession` (client side) or `SmscSession` (server side) owns the protocol state of
one SMPP connection: the bind state, the sequence counter, the outstanding requests and
the receive buffer. Bytes go in through `receive_data`, events come out; PDUs go in
through `send`, bytes come out. Nothing here reads a clock or touches a socket: the
current time is passed in by the caller.

This module holds the rules, their state tables and the two sides; the machinery they
share (sequence numbers, outstanding requests, window, expiry, decoding) is in
`_session_core`, the states, errors and events in `_session_events`.

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
   its assigned sequence); a response matching nothing has `request=None`. A submit_sm
   sent with `send_submit` (bytes from a `template.SubmitTemplate`, no PDU object) is
   outstanding the same way; its plain submit_sm_resp (a message_id, no TLV) comes as
   `SubmitAnswered`, any other answer as `ResponseReceived` whose `request` is a
   `SubmitSm` carrying only its sequence.
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
10. Sizes: the codec holds every mandatory field to SMPP 3.4's maximum; a request
   the state allows whose known TLV has the wrong size (`limits.TLV_SIZES`: a
   receipted_message_id over 65 octets, a message_state of two) yields `PduRejected`
   with its response carrying ESME_RINVPARLEN. Nothing else changes: the session stays
   bound and the next PDU is read as usual.
"""

from __future__ import annotations

from ._session_core import BINDS, MAX_SEQUENCE, WINDOWED, SessionBase, reply_to
from ._session_events import (
    Event,
    PduRejected,
    RequestReceived,
    ResponseReceived,
    SessionError,
    SessionState,
    StreamBroken,
    SubmitAnswered,
    WindowFull,
)
from .constants import CommandId, Status
from .pdu import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    Pdu,
    Request,
    Response,
)

__all__ = [
    "ESME_SENDS",
    "MAX_SEQUENCE",
    "SMSC_SENDS",
    "WINDOWED",
    "EsmeSession",
    "Event",
    "PduRejected",
    "RequestReceived",
    "ResponseReceived",
    "SessionError",
    "SessionState",
    "SmscSession",
    "StreamBroken",
    "SubmitAnswered",
    "WindowFull",
]

# --- rule tables -----------------------------------------------------------------------

_S = SessionState
_C = CommandId

_TX_REQUESTS = frozenset({_C.SUBMIT_SM, _C.DATA_SM, _C.QUERY_SM, _C.REPLACE_SM, _C.CANCEL_SM})
_RX_REQUESTS = frozenset({_C.DELIVER_SM, _C.DATA_SM, _C.ALERT_NOTIFICATION})
_LINK = frozenset({_C.ENQUIRE_LINK, _C.UNBIND})

ESME_SENDS: dict[SessionState, frozenset[int]] = {
    _S.OPEN: BINDS | {_C.ENQUIRE_LINK},
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


class EsmeSession(SessionBase):
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
        if pdu.COMMAND_ID in BINDS and self._binding:
            raise SessionError("a bind request is already outstanding")

    def _sent_request(self, pdu: Request) -> None:
        if pdu.COMMAND_ID in BINDS:
            self._binding = True

    def _answered(self, request: Request, response: Response) -> None:
        if request.COMMAND_ID in BINDS:
            self._binding = False
            if response.status == Status.ESME_ROK and self._state is SessionState.OPEN:
                self._state = _BOUND_BY_BIND[type(request)]

    def _forget(self, request: Request) -> None:
        if request.COMMAND_ID in BINDS:
            self._binding = False


class SmscSession(SessionBase):
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
        if pdu.COMMAND_ID in BINDS:
            if self._bind_request is not None:
                return PduRejected(
                    "a bind is already being processed", reply_to(pdu, Status.ESME_RALYBND), pdu
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
