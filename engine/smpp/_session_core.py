"""The machinery both sides of a session share: sequence numbers, outstanding
requests, the window, expiry and the decoding of received bytes.

Private to `session`: `SessionBase` is the base of `EsmeSession` and `SmscSession`, which
give it their state tables (`_sends`, `_accepts`) and their side-specific hooks. Rules
cited by number are in `session`'s docstring. Stdlib only; no clock, no socket.
"""

from __future__ import annotations

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
from .codec import HEADER, SmppDecodeError, decode, encode
from .constants import RESPONSE_BIT, CommandId, Status
from .framing import PduReader
from .limits import tlv_fault
from .pdu import (
    PDU_TYPE_BY_ID,
    RESPONSE_TYPE,
    GenericNack,
    Pdu,
    Request,
    Response,
    SubmitSm,
    with_sequence,
)
from .template import SubmitTemplate
from .wire import MESSAGE_ID

MAX_SEQUENCE = 0x7FFFFFFF

_C = CommandId

BINDS = frozenset({_C.BIND_TRANSMITTER, _C.BIND_RECEIVER, _C.BIND_TRANSCEIVER})
"""The three bind requests (rule 4)."""

WINDOWED = frozenset(
    {_C.SUBMIT_SM, _C.DELIVER_SM, _C.DATA_SM, _C.QUERY_SM, _C.REPLACE_SM, _C.CANCEL_SM}
)
"""Requests that count against the window (rule 7)."""

_RESPONSE_BY_REQUEST_ID: dict[int, type[Response]] = {
    request.COMMAND_ID: response for request, response in RESPONSE_TYPE.items()
}

_SUBMIT_SM, _SUBMIT_SM_RESP = int(_C.SUBMIT_SM), int(_C.SUBMIT_SM_RESP)
_header_unpack = HEADER.unpack_from
_new_tuple = tuple.__new__
"""A named tuple made from its values without its Python-level constructor."""


class _Pending:
    """An outstanding request; `request` is None for a submit_sm sent from a
    template (`send_submit`), whose `SubmitSm` is made only if it is ever asked for."""

    __slots__ = ("request", "sent_at", "windowed")

    def __init__(self, request: Request | None, sent_at: float | None, windowed: bool) -> None:
        self.request = request
        self.sent_at = sent_at
        self.windowed = windowed


def _request_of(sequence: int, pending: _Pending) -> Request:
    request = pending.request
    return SubmitSm(sequence=sequence) if request is None else request


class SessionBase:
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

    def send_submit(
        self, template: SubmitTemplate, destination: bytes, reference: int, now: float
    ) -> bytes:
        """Bytes of a submit_sm made from `template` for `destination` (`reference`
        stamped when the template has a reference byte), with the next sequence number
        (`last_sequence`): the rules of `send` for a submit_sm, without a PDU object.
        Its answer comes as `SubmitAnswered` when it is a plain submit_sm_resp."""
        state = self._state
        if _SUBMIT_SM not in self._sends[state]:
            if state is SessionState.CLOSED:
                raise SessionError("session is closed")
            raise SessionError(f"submit_sm not allowed in state {state.name}")
        if self._in_window >= self.window_size:
            raise WindowFull(f"{self._in_window} requests outstanding")
        sequence = self._next_sequence()
        data = template.frame(sequence, destination, reference)
        self._last_sequence = sequence
        self._pending[sequence] = _Pending(None, now, True)
        self._in_window += 1
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
        pending = self._pending
        for frame in frames:
            _, command_id, status, sequence = _header_unpack(frame)
            if command_id == _SUBMIT_SM_RESP:
                entry = pending.get(sequence)
                if entry is not None and entry.request is None:
                    n = len(frame)
                    if n == 16:
                        message_id = ""
                    elif frame.find(b"\x00", 16) == n - 1 and n - 16 <= MESSAGE_ID:
                        message_id = frame[16:-1].decode("latin-1")
                    else:
                        message_id = None
                    if message_id is not None:
                        del pending[sequence]
                        self._in_window -= 1
                        events.append(_new_tuple(SubmitAnswered, (sequence, status, message_id)))
                        continue
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
        request = _request_of(pdu.sequence, pending)
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
            tlvs = getattr(pdu, "tlvs", None)
            if tlvs:
                fault = tlv_fault(tlvs)
                if fault is not None:
                    return PduRejected(fault[1], reply_to(pdu, fault[0]), pdu)
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
        if command_id in BINDS and state is not SessionState.OPEN:
            status = Status.ESME_RALYBND
        return PduRejected(
            f"{command_id.name.lower()} not allowed in state {state.name}",
            reply_to(pdu, status),
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
                request = _request_of(sequence, pending)
                self._forget(request)
                late.append(request)
        return late

    def _forget(self, request: Request) -> None:
        """Side-specific effect of a request given up on."""

    def close(self) -> list[Request]:
        """Move to CLOSED; return the requests that will never be answered."""
        self._state = SessionState.CLOSED
        abandoned = [_request_of(seq, p) for seq, p in self._pending.items()]
        self._pending.clear()
        self._in_window = 0
        return abandoned


def reply_to(pdu: Request, status: int) -> Response:
    """The response refusing `pdu` with `status` (generic_nack when it has none)."""
    cls = RESPONSE_TYPE.get(type(pdu))
    if cls is None:
        return GenericNack(sequence=pdu.sequence, status=status)
    return cls(sequence=pdu.sequence, status=status)
