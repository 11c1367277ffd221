"""Wire facts shared by the SMPP encoder and decoder: header layout, field size
limits (SMPP 3.4 section 4, sizes include the terminating NUL) and the codec errors."""

from __future__ import annotations

from struct import Struct
from typing import TYPE_CHECKING

from .constants import Status

if TYPE_CHECKING:
    from .pdu import Pdu

HEADER = Struct(">IIII")
HEADER_SIZE = 16
MAX_SHORT_MESSAGE = 254
TLV_HEAD = Struct(">HH")

# Maximum C-octet string sizes, terminating NUL included (SMPP 3.4 section 4).
SYSTEM_ID = 16
PASSWORD = 9
SYSTEM_TYPE = 13
ADDRESS_RANGE = 41
SERVICE_TYPE = 6
ADDR = 21
ADDR_65 = 65
TIME = 17
MESSAGE_ID = 65

FIELD_STATUS = {
    "system_id": Status.ESME_RINVSYSID,
    "password": Status.ESME_RINVPASWD,
    "system_type": Status.ESME_RINVSYSTYP,
    "service_type": Status.ESME_RINVSERTYP,
    "source_addr": Status.ESME_RINVSRCADR,
    "destination_addr": Status.ESME_RINVDSTADR,
    "message_id": Status.ESME_RINVMSGID,
    "schedule_delivery_time": Status.ESME_RINVSCHED,
    "validity_period": Status.ESME_RINVEXPIRY,
}
"""The command_status reported for an overlong or unterminated field, by field name."""


class SmppDecodeError(ValueError):
    """Bytes that are not a valid SMPP 3.4 PDU.

    `command_id` and `sequence` are set when the header was readable (None otherwise);
    `status` is the command_status to answer with (in a generic_nack, or in the
    response to the offending request). When raised by `framing.PduReader`, `frames`
    and `pdus` hold what was read successfully before the fault in the same call.
    """

    frames: list[bytes]
    pdus: list[Pdu]

    def __init__(
        self,
        message: str,
        *,
        command_id: int | None = None,
        sequence: int | None = None,
        status: int = Status.ESME_RINVCMDLEN,
    ) -> None:
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.status = status
        self.frames = []
        self.pdus = []


class SmppEncodeError(ValueError):
    """A PDU value that cannot be put on the wire (field too long, out of range, ...)."""
