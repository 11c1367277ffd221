"""One decoder per SMPP PDU kind, and the command_id -> (class, decoder) table.

Private to `codec`: each decoder takes (cls, frame, sequence, status), parses the body
from offset 16 and may raise `SmppDecodeError` or IndexError (a truncated body), which
`codec.decode` turns into `SmppDecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ._pdu_message import _ShortMessage
from ._tlv import _HasTlvs
from .constants import CommandId, Status
from .pdu import PDU_TYPE_BY_ID, Pdu, Tlv
from .wire import (
    ADDR,
    ADDR_65,
    ADDRESS_RANGE,
    FIELD_STATUS,
    MAX_SHORT_MESSAGE,
    MESSAGE_ID,
    PASSWORD,
    SERVICE_TYPE,
    SYSTEM_ID,
    SYSTEM_TYPE,
    TIME,
    TLV_HEAD,
    SmppDecodeError,
)

_NUL = b"\x00"
_tlv_head_unpack = TLV_HEAD.unpack_from


def _cstr_fail(buf: bytes, off: int, size: int, field: str) -> NoReturn:
    if buf.find(_NUL, off) < 0:
        raise SmppDecodeError(f"{field}: unterminated C-octet string")
    raise SmppDecodeError(
        f"{field}: longer than {size - 1} octets",
        status=FIELD_STATUS.get(field, Status.ESME_RINVPARLEN),
    )


def _cstr(buf: bytes, off: int, size: int, field: str) -> tuple[str, int]:
    end = buf.find(_NUL, off, off + size)
    if end < 0:
        _cstr_fail(buf, off, size, field)
    return buf[off:end].decode("latin-1"), end + 1


def _tlvs(buf: bytes, off: int) -> tuple[Tlv, ...]:
    n = len(buf)
    if off == n:
        return ()
    out = []
    while off < n:
        if off + 4 > n:
            raise SmppDecodeError("truncated TLV header", status=Status.ESME_RINVOPTPARSTREAM)
        tag, length = _tlv_head_unpack(buf, off)
        off += 4
        end = off + length
        if end > n:
            raise SmppDecodeError(
                f"TLV 0x{tag:04x} longer than the PDU", status=Status.ESME_RINVOPTPARSTREAM
            )
        out.append(Tlv(tag, buf[off:end]))
        off = end
    return tuple(out)


def _end(buf: bytes, off: int) -> None:
    if off != len(buf):
        raise SmppDecodeError(f"{len(buf) - off} unexpected octets after the last field")


def _short_message(buf: bytes, off: int) -> tuple[bytes, int]:
    sm_length = buf[off - 1]
    if sm_length > MAX_SHORT_MESSAGE:
        raise SmppDecodeError("sm_length over 254", status=Status.ESME_RINVMSGLEN)
    end = off + sm_length
    if end > len(buf):
        raise SmppDecodeError("short_message runs past the PDU", status=Status.ESME_RINVMSGLEN)
    return buf[off:end], end


# --- decoders, one per PDU kind ------------------------------------------------------------
# Each takes (cls, frame, sequence, status) and parses the body starting at offset 16.


class _ShortMessageDraft(_HasTlvs):
    """Same slots, in the same order, as `_ShortMessage`, but mutable.

    The submit_sm / deliver_sm decoder fills a draft with plain attribute stores and
    then turns it into the frozen class by `__class__` assignment (allowed between
    classes with identical slot layouts). This costs about a third of filling the
    frozen instance through its slot descriptors, and a fifth of calling `__init__`.
    """

    __slots__ = _ShortMessage.__slots__
    service_type: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    protocol_id: int
    priority_flag: int
    schedule_delivery_time: str
    validity_period: str
    registered_delivery: int
    replace_if_present_flag: int
    data_coding: int
    sm_default_msg_id: int
    short_message: bytes
    sequence: int
    status: int


_new = object.__new__


def _dec_short_message(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    # Empty C-strings are the common case: a single octet test skips find() and decode().
    find = buf.find
    if buf[16]:
        end = find(_NUL, 16, 16 + SERVICE_TYPE)
        if end < 0:
            _cstr_fail(buf, 16, SERVICE_TYPE, "service_type")
        service_type = buf[16:end].decode("latin-1")
    else:
        end, service_type = 16, ""
    source_addr_ton = buf[end + 1]
    source_addr_npi = buf[end + 2]
    off = end + 3
    if buf[off]:
        end = find(_NUL, off, off + ADDR)
        if end < 0:
            _cstr_fail(buf, off, ADDR, "source_addr")
        source_addr = buf[off:end].decode("latin-1")
    else:
        end, source_addr = off, ""
    dest_addr_ton = buf[end + 1]
    dest_addr_npi = buf[end + 2]
    off = end + 3
    if buf[off]:
        end = find(_NUL, off, off + ADDR)
        if end < 0:
            _cstr_fail(buf, off, ADDR, "destination_addr")
        destination_addr = buf[off:end].decode("latin-1")
    else:
        end, destination_addr = off, ""
    esm_class = buf[end + 1]
    protocol_id = buf[end + 2]
    priority_flag = buf[end + 3]
    off = end + 4
    if buf[off]:
        end = find(_NUL, off, off + TIME)
        if end < 0:
            _cstr_fail(buf, off, TIME, "schedule_delivery_time")
        schedule_delivery_time = buf[off:end].decode("latin-1")
    else:
        end, schedule_delivery_time = off, ""
    off = end + 1
    if buf[off]:
        end = find(_NUL, off, off + TIME)
        if end < 0:
            _cstr_fail(buf, off, TIME, "validity_period")
        validity_period = buf[off:end].decode("latin-1")
    else:
        end, validity_period = off, ""
    registered_delivery = buf[end + 1]
    replace_if_present_flag = buf[end + 2]
    data_coding = buf[end + 3]
    sm_default_msg_id = buf[end + 4]
    sm_length = buf[end + 5]
    off = end + 6
    end = off + sm_length
    if sm_length > MAX_SHORT_MESSAGE or end > len(buf):
        _short_message(buf, off)
    short_message = buf[off:end]
    tlvs = _tlvs(buf, end) if end < len(buf) else ()

    pdu = _new(_ShortMessageDraft)
    pdu.service_type = service_type
    pdu.source_addr_ton = source_addr_ton
    pdu.source_addr_npi = source_addr_npi
    pdu.source_addr = source_addr
    pdu.dest_addr_ton = dest_addr_ton
    pdu.dest_addr_npi = dest_addr_npi
    pdu.destination_addr = destination_addr
    pdu.esm_class = esm_class
    pdu.protocol_id = protocol_id
    pdu.priority_flag = priority_flag
    pdu.schedule_delivery_time = schedule_delivery_time
    pdu.validity_period = validity_period
    pdu.registered_delivery = registered_delivery
    pdu.replace_if_present_flag = replace_if_present_flag
    pdu.data_coding = data_coding
    pdu.sm_default_msg_id = sm_default_msg_id
    pdu.short_message = short_message
    pdu.tlvs = tlvs
    pdu.sequence = sequence
    pdu.status = status
    pdu.__class__ = cls
    return pdu


def _dec_message_id_resp(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    end = buf.find(_NUL, 16, 16 + MESSAGE_ID)
    if end < 0:
        _cstr_fail(buf, 16, MESSAGE_ID, "message_id")
    if end + 1 != len(buf):
        _end(buf, end + 1)
    return cls(buf[16:end].decode("latin-1"), sequence, status)


def _dec_header_only(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    _end(buf, 16)
    return cls(sequence, status)


def _dec_bind(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    system_id, off = _cstr(buf, 16, SYSTEM_ID, "system_id")
    password, off = _cstr(buf, off, PASSWORD, "password")
    system_type, off = _cstr(buf, off, SYSTEM_TYPE, "system_type")
    interface_version = buf[off]
    addr_ton = buf[off + 1]
    addr_npi = buf[off + 2]
    address_range, off = _cstr(buf, off + 3, ADDRESS_RANGE, "address_range")
    _end(buf, off)
    return cls(
        system_id,
        password,
        system_type,
        interface_version,
        addr_ton,
        addr_npi,
        address_range,
        sequence,
        status,
    )


def _dec_bind_resp(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    system_id, off = _cstr(buf, 16, SYSTEM_ID, "system_id")
    return cls(system_id, _tlvs(buf, off), sequence, status)


def _dec_outbind(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    system_id, off = _cstr(buf, 16, SYSTEM_ID, "system_id")
    password, off = _cstr(buf, off, PASSWORD, "password")
    _end(buf, off)
    return cls(system_id, password, sequence, status)


def _dec_data_sm(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    service_type, off = _cstr(buf, 16, SERVICE_TYPE, "service_type")
    source_addr_ton = buf[off]
    source_addr_npi = buf[off + 1]
    source_addr, off = _cstr(buf, off + 2, ADDR_65, "source_addr")
    dest_addr_ton = buf[off]
    dest_addr_npi = buf[off + 1]
    destination_addr, off = _cstr(buf, off + 2, ADDR_65, "destination_addr")
    esm_class = buf[off]
    registered_delivery = buf[off + 1]
    data_coding = buf[off + 2]
    return cls(
        service_type,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        dest_addr_ton,
        dest_addr_npi,
        destination_addr,
        esm_class,
        registered_delivery,
        data_coding,
        _tlvs(buf, off + 3),
        sequence,
        status,
    )


def _dec_data_sm_resp(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    message_id, off = _cstr(buf, 16, MESSAGE_ID, "message_id")
    return cls(message_id, _tlvs(buf, off), sequence, status)


def _dec_query_sm(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    message_id, off = _cstr(buf, 16, MESSAGE_ID, "message_id")
    source_addr_ton = buf[off]
    source_addr_npi = buf[off + 1]
    source_addr, off = _cstr(buf, off + 2, ADDR, "source_addr")
    _end(buf, off)
    return cls(message_id, source_addr_ton, source_addr_npi, source_addr, sequence, status)


def _dec_query_sm_resp(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    message_id, off = _cstr(buf, 16, MESSAGE_ID, "message_id")
    final_date, off = _cstr(buf, off, TIME, "final_date")
    message_state = buf[off]
    error_code = buf[off + 1]
    _end(buf, off + 2)
    return cls(message_id, final_date, message_state, error_code, sequence, status)


def _dec_replace_sm(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    message_id, off = _cstr(buf, 16, MESSAGE_ID, "message_id")
    source_addr_ton = buf[off]
    source_addr_npi = buf[off + 1]
    source_addr, off = _cstr(buf, off + 2, ADDR, "source_addr")
    schedule_delivery_time, off = _cstr(buf, off, TIME, "schedule_delivery_time")
    validity_period, off = _cstr(buf, off, TIME, "validity_period")
    registered_delivery = buf[off]
    sm_default_msg_id = buf[off + 1]
    short_message, off = _short_message(buf, off + 3)
    _end(buf, off)
    return cls(
        message_id,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        sm_default_msg_id,
        short_message,
        sequence,
        status,
    )


def _dec_cancel_sm(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    service_type, off = _cstr(buf, 16, SERVICE_TYPE, "service_type")
    message_id, off = _cstr(buf, off, MESSAGE_ID, "message_id")
    source_addr_ton = buf[off]
    source_addr_npi = buf[off + 1]
    source_addr, off = _cstr(buf, off + 2, ADDR, "source_addr")
    dest_addr_ton = buf[off]
    dest_addr_npi = buf[off + 1]
    destination_addr, off = _cstr(buf, off + 2, ADDR, "destination_addr")
    _end(buf, off)
    return cls(
        service_type,
        message_id,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        dest_addr_ton,
        dest_addr_npi,
        destination_addr,
        sequence,
        status,
    )


def _dec_alert_notification(cls: Any, buf: bytes, sequence: int, status: int) -> Any:
    source_addr_ton = buf[16]
    source_addr_npi = buf[17]
    source_addr, off = _cstr(buf, 18, ADDR_65, "source_addr")
    esme_addr_ton = buf[off]
    esme_addr_npi = buf[off + 1]
    esme_addr, off = _cstr(buf, off + 2, ADDR_65, "esme_addr")
    return cls(
        source_addr_ton,
        source_addr_npi,
        source_addr,
        esme_addr_ton,
        esme_addr_npi,
        esme_addr,
        _tlvs(buf, off),
        sequence,
        status,
    )


Decoder = Callable[[Any, bytes, int, int], Pdu]

DECODERS: dict[int, tuple[type[Pdu], Decoder]] = {
    cid: (PDU_TYPE_BY_ID[cid], dec)
    for cid, dec in (
        (CommandId.BIND_TRANSMITTER, _dec_bind),
        (CommandId.BIND_RECEIVER, _dec_bind),
        (CommandId.BIND_TRANSCEIVER, _dec_bind),
        (CommandId.BIND_TRANSMITTER_RESP, _dec_bind_resp),
        (CommandId.BIND_RECEIVER_RESP, _dec_bind_resp),
        (CommandId.BIND_TRANSCEIVER_RESP, _dec_bind_resp),
        (CommandId.OUTBIND, _dec_outbind),
        (CommandId.SUBMIT_SM, _dec_short_message),
        (CommandId.DELIVER_SM, _dec_short_message),
        (CommandId.SUBMIT_SM_RESP, _dec_message_id_resp),
        (CommandId.DELIVER_SM_RESP, _dec_message_id_resp),
        (CommandId.DATA_SM, _dec_data_sm),
        (CommandId.DATA_SM_RESP, _dec_data_sm_resp),
        (CommandId.QUERY_SM, _dec_query_sm),
        (CommandId.QUERY_SM_RESP, _dec_query_sm_resp),
        (CommandId.REPLACE_SM, _dec_replace_sm),
        (CommandId.REPLACE_SM_RESP, _dec_header_only),
        (CommandId.CANCEL_SM, _dec_cancel_sm),
        (CommandId.CANCEL_SM_RESP, _dec_header_only),
        (CommandId.ALERT_NOTIFICATION, _dec_alert_notification),
        (CommandId.ENQUIRE_LINK, _dec_header_only),
        (CommandId.ENQUIRE_LINK_RESP, _dec_header_only),
        (CommandId.UNBIND, _dec_header_only),
        (CommandId.UNBIND_RESP, _dec_header_only),
        (CommandId.GENERIC_NACK, _dec_header_only),
    )
}
