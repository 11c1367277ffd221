"""The PDUs that carry or manage a short message: submit_sm, deliver_sm, data_sm,
query_sm, replace_sm, cancel_sm and alert_notification, with their responses.

Private: import them from `engine.smpp.pdu` (or `engine.smpp`), which also holds the
unions and lookup tables over every PDU kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._tlv import Tlv, _HasTlvs
from .constants import CommandId

# --- short messages --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ShortMessage(_HasTlvs):
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class SubmitSm(_ShortMessage):
    COMMAND_ID: ClassVar[CommandId] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True)
class DeliverSm(_ShortMessage):
    COMMAND_ID: ClassVar[CommandId] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.SUBMIT_SM_RESP
    message_id: str = ""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class DeliverSmResp:
    """`message_id` is unused by SMPP 3.4 and normally empty."""

    COMMAND_ID: ClassVar[CommandId] = CommandId.DELIVER_SM_RESP
    message_id: str = ""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class DataSm(_HasTlvs):
    COMMAND_ID: ClassVar[CommandId] = CommandId.DATA_SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: tuple[Tlv, ...] = ()
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class DataSmResp(_HasTlvs):
    COMMAND_ID: ClassVar[CommandId] = CommandId.DATA_SM_RESP
    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    sequence: int = 0
    status: int = 0


# --- message management ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuerySm:
    COMMAND_ID: ClassVar[CommandId] = CommandId.QUERY_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class QuerySmResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.QUERY_SM_RESP
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class ReplaceSm:
    COMMAND_ID: ClassVar[CommandId] = CommandId.REPLACE_SM
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class ReplaceSmResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.REPLACE_SM_RESP
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class CancelSm:
    COMMAND_ID: ClassVar[CommandId] = CommandId.CANCEL_SM
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class CancelSmResp:
    COMMAND_ID: ClassVar[CommandId] = CommandId.CANCEL_SM_RESP
    sequence: int = 0
    status: int = 0


@dataclass(frozen=True, slots=True)
class AlertNotification(_HasTlvs):
    COMMAND_ID: ClassVar[CommandId] = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""
    tlvs: tuple[Tlv, ...] = ()
    sequence: int = 0
    status: int = 0
