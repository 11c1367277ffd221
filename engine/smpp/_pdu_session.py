"""The PDUs that open, keep and close a session: binds, outbind, enquire_link, unbind,
generic_nack.

Private: import them from `engine.smpp.pdu` (or `engine.smpp`), which also holds the
unions and lookup tables over every PDU kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._tlv import Tlv, _HasTlvs
from .constants import INTERFACE_VERSION, CommandId

# --- bind ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bind:
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class BindTransmitter(_Bind):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True)
class BindReceiver(_Bind):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True)
class BindTransceiver(_Bind):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True)
class _BindResp(_HasTlvs):
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class BindTransmitterResp(_BindResp):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True)
class BindReceiverResp(_BindResp):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True)
class BindTransceiverResp(_BindResp):
    COMMAND_ID: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True)
class Outbind:
    COMMAND_ID: ClassVar[CommandId] = CommandId.OUTBIND
    system_id: str = ""
    password: str = ""
    sequence: int = 0
    status: int = 0


# --- session management ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnquireLink:
    COMMAND_ID: ClassVar[CommandId] = CommandId.ENQUIRE_LINK
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class EnquireLinkResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.ENQUIRE_LINK_RESP
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class Unbind:
    COMMAND_ID: ClassVar[CommandId] = CommandId.UNBIND
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class UnbindResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.UNBIND_RESP
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class GenericNack:
    COMMAND_ID: ClassVar[CommandId] = CommandId.GENERIC_NACK
    sequence: int = 0
    status: int = 0
