"""What a session reports and refuses: its states, its errors and the events
`receive_data` returns.

Private: import these from `engine.smpp.session` (or `engine.smpp`), whose docstring
holds the numbered rules they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple, TypeAlias

from .pdu import GenericNack, Pdu, Request, Response


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


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request from the peer, allowed in the current state. The caller answers it."""

    pdu: Request


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response; `request` is the outstanding request it answers, or None."""

    pdu: Response
    request: Request | None


class SubmitAnswered(NamedTuple):
    """The submit_sm_resp of a submit_sm sent with `send_submit`: its sequence, its
    command_status and the SMSC's message_id ("" when the body was empty). Only the
    commonest form (a message_id and no TLV) comes this way; any other answer to such
    a submit_sm comes as `ResponseReceived`, its `request` a `SubmitSm` carrying the
    sequence alone."""

    sequence: int
    status: int
    message_id: str


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


Event: TypeAlias = (
    RequestReceived | ResponseReceived | SubmitAnswered | PduRejected | StreamBroken
)
