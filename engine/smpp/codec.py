"""Bytes <-> PDU values for SMPP 3.4.

`encode(pdu)` returns one complete PDU (16-byte header + body); `decode(frame)` parses
exactly one. Both are pure functions on immutable values.

Decoding is defensive: for any input, the only exception `decode` raises is
`SmppDecodeError`, which carries the command_id and sequence when the header was
readable, and the command_status a peer should answer with (ESME_RINVCMDID for an
unknown command, ESME_RINVCMDLEN for a bad length, ...). C-octet strings are checked
against their SMPP 3.4 maximum sizes; a response whose body is empty decodes with
default field values (SMPP allows an empty body on error responses, and some peers send
one on deliver_sm_resp).

Encoding refuses values the wire cannot carry (overlong or NUL-containing strings,
non-latin-1 characters, out-of-range integers, short_message over 254 octets) with
`SmppEncodeError`.

Speed: every fixed layout is a precompiled `struct.Struct`; each PDU kind has its own
encoder and decoder, with no per-call reflection. submit_sm / deliver_sm, the hot path,
are packed by one cached Struct per length combination, and decoded through a mutable
draft with the same slot layout (see `_ShortMessageDraft`).
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from struct import error as StructError
from typing import Any, NoReturn

from .constants import RESPONSE_BIT, CommandId, Status
from .pdu import (
    PDU_TYPE_BY_ID,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    UnbindResp,
    _HasTlvs,
    _ShortMessage,
)

HEADER = Struct(">IIII")
HEADER_SIZE = 16
MAX_SHORT_MESSAGE = 254

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

_NUL = b"\x00"
_header_pack = HEADER.pack
_header_unpack = HEADER.unpack_from
_BB = Struct(">BB").pack
_BBB = Struct(">BBB").pack
_TLV_HEAD = Struct(">HH")
_tlv_head_pack = _TLV_HEAD.pack
_tlv_head_unpack = _TLV_HEAD.unpack_from

_FIELD_STATUS = {
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


# --- decoding helpers --------------------------------------------------------------------


def _cstr_fail(buf: bytes, off: int, size: int, field: str) -> NoReturn:
    if buf.find(_NUL, off) < 0:
        raise SmppDecodeError(f"{field}: unterminated C-octet string")
    raise SmppDecodeError(
        f"{field}: longer than {size - 1} octets",
        status=_FIELD_STATUS.get(field, Status.ESME_RINVPARLEN),
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


_Decoder = Callable[[Any, bytes, int, int], Pdu]

_DECODERS: dict[int, tuple[type[Pdu], _Decoder]] = {
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


def decode(frame: bytes) -> Pdu:
    """Parse exactly one complete PDU. Raises only `SmppDecodeError`."""
    if len(frame) < HEADER_SIZE:
        raise SmppDecodeError(f"{len(frame)} octets: shorter than the 16-octet header")
    length, command_id, status, sequence = _header_unpack(frame)
    if length != len(frame):
        raise SmppDecodeError(
            f"command_length {length} but {len(frame)} octets given",
            command_id=command_id,
            sequence=sequence,
        )
    entry = _DECODERS.get(command_id)
    if entry is None:
        raise SmppDecodeError(
            f"unknown command_id 0x{command_id:08x}",
            command_id=command_id,
            sequence=sequence,
            status=Status.ESME_RINVCMDID,
        )
    cls, decoder = entry
    if length == HEADER_SIZE and command_id & RESPONSE_BIT:
        return cls(sequence=sequence, status=status)
    if type(frame) is not bytes:
        frame = bytes(frame)
    try:
        return decoder(cls, frame, sequence, status)
    except SmppDecodeError as exc:
        exc.command_id = command_id
        exc.sequence = sequence
        raise
    except IndexError:
        raise SmppDecodeError(
            f"{CommandId(command_id).name.lower()}: body truncated",
            command_id=command_id,
            sequence=sequence,
        ) from None


# --- encoding ---------------------------------------------------------------------------------


def _c(value: str, size: int, field: str) -> bytes:
    raw = value.encode("latin-1")
    if len(raw) >= size or _NUL in raw:
        raise SmppEncodeError(f"{field}: {value!r} is not a C-octet string of < {size} octets")
    return raw + _NUL


def _enc_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    if not tlvs:
        return b""
    return b"".join([_tlv_head_pack(t.tag, len(t.value)) + t.value for t in tlvs])


# submit_sm / deliver_sm are packed, header included, by one Struct per combination of
# string and short_message lengths: "{n+1}s" writes a string and its NUL terminator.
# A few distinct combinations cover a traffic mix; the cache is bounded.
_SHORT_MESSAGE_FIXED = HEADER_SIZE + 5 + 12  # header, 5 NULs, 12 one-octet fields
_LAYOUT_CACHE_MAX = 4096
_layouts: dict[tuple[int, ...], Callable[..., bytes]] = {}


def _layout(key: tuple[int, ...]) -> Callable[..., bytes]:
    st, sa, da, sd, vp, sm = key
    if len(_layouts) >= _LAYOUT_CACHE_MAX:
        _layouts.clear()
    pack = Struct(
        f">IIII{st + 1}sBB{sa + 1}sBB{da + 1}sBBB{sd + 1}s{vp + 1}sBBBBB{sm}s"
    ).pack
    _layouts[key] = pack
    return pack


def _enc_short_message_frame(p: Any) -> bytes:
    service_type = p.service_type
    source_addr = p.source_addr
    destination_addr = p.destination_addr
    schedule = p.schedule_delivery_time
    validity = p.validity_period
    short_message = p.short_message
    # Checked on the str: its length equals the latin-1 length.
    n_st = len(service_type)
    n_sa = len(source_addr)
    n_da = len(destination_addr)
    n_sd = len(schedule)
    n_vp = len(validity)
    n_sm = len(short_message)
    if (
        n_st >= SERVICE_TYPE
        or n_sa >= ADDR
        or n_da >= ADDR
        or n_sd >= TIME
        or n_vp >= TIME
        or n_sm > MAX_SHORT_MESSAGE
        or "\x00" in service_type
        or "\x00" in source_addr
        or "\x00" in destination_addr
        or "\x00" in schedule
        or "\x00" in validity
    ):
        _c(service_type, SERVICE_TYPE, "service_type")
        _c(source_addr, ADDR, "source_addr")
        _c(destination_addr, ADDR, "destination_addr")
        _c(schedule, TIME, "schedule_delivery_time")
        _c(validity, TIME, "validity_period")
        raise SmppEncodeError(f"short_message: {n_sm} octets, over 254")
    key = (n_st, n_sa, n_da, n_sd, n_vp, n_sm)
    pack = _layouts.get(key) or _layout(key)
    tlvs = _enc_tlvs(p.tlvs) if p.tlvs else b""
    frame = pack(
        _SHORT_MESSAGE_FIXED + n_st + n_sa + n_da + n_sd + n_vp + n_sm + len(tlvs),
        p.COMMAND_ID,
        p.status,
        p.sequence,
        service_type.encode("latin-1"),
        p.source_addr_ton,
        p.source_addr_npi,
        source_addr.encode("latin-1"),
        p.dest_addr_ton,
        p.dest_addr_npi,
        destination_addr.encode("latin-1"),
        p.esm_class,
        p.protocol_id,
        p.priority_flag,
        schedule.encode("latin-1"),
        validity.encode("latin-1"),
        p.registered_delivery,
        p.replace_if_present_flag,
        p.data_coding,
        p.sm_default_msg_id,
        n_sm,
        short_message,
    )
    return frame + tlvs if tlvs else frame


def _enc_message_id_resp(p: Any) -> bytes:
    return _c(p.message_id, MESSAGE_ID, "message_id")


def _enc_header_only(p: Any) -> bytes:
    return b""


def _enc_bind(p: Any) -> bytes:
    return b"".join(
        [
            _c(p.system_id, SYSTEM_ID, "system_id"),
            _c(p.password, PASSWORD, "password"),
            _c(p.system_type, SYSTEM_TYPE, "system_type"),
            _BBB(p.interface_version, p.addr_ton, p.addr_npi),
            _c(p.address_range, ADDRESS_RANGE, "address_range"),
        ]
    )


def _enc_bind_resp(p: Any) -> bytes:
    return _c(p.system_id, SYSTEM_ID, "system_id") + _enc_tlvs(p.tlvs)


def _enc_outbind(p: Any) -> bytes:
    return _c(p.system_id, SYSTEM_ID, "system_id") + _c(p.password, PASSWORD, "password")


def _enc_data_sm(p: Any) -> bytes:
    return b"".join(
        [
            _c(p.service_type, SERVICE_TYPE, "service_type"),
            _BB(p.source_addr_ton, p.source_addr_npi),
            _c(p.source_addr, ADDR_65, "source_addr"),
            _BB(p.dest_addr_ton, p.dest_addr_npi),
            _c(p.destination_addr, ADDR_65, "destination_addr"),
            _BBB(p.esm_class, p.registered_delivery, p.data_coding),
            _enc_tlvs(p.tlvs),
        ]
    )


def _enc_data_sm_resp(p: Any) -> bytes:
    return _c(p.message_id, MESSAGE_ID, "message_id") + _enc_tlvs(p.tlvs)


def _enc_query_sm(p: Any) -> bytes:
    return b"".join(
        [
            _c(p.message_id, MESSAGE_ID, "message_id"),
            _BB(p.source_addr_ton, p.source_addr_npi),
            _c(p.source_addr, ADDR, "source_addr"),
        ]
    )


def _enc_query_sm_resp(p: Any) -> bytes:
    return b"".join(
        [
            _c(p.message_id, MESSAGE_ID, "message_id"),
            _c(p.final_date, TIME, "final_date"),
            _BB(p.message_state, p.error_code),
        ]
    )


def _enc_replace_sm(p: Any) -> bytes:
    if len(p.short_message) > MAX_SHORT_MESSAGE:
        raise SmppEncodeError(f"short_message: {len(p.short_message)} octets, over 254")
    return b"".join(
        [
            _c(p.message_id, MESSAGE_ID, "message_id"),
            _BB(p.source_addr_ton, p.source_addr_npi),
            _c(p.source_addr, ADDR, "source_addr"),
            _c(p.schedule_delivery_time, TIME, "schedule_delivery_time"),
            _c(p.validity_period, TIME, "validity_period"),
            _BBB(p.registered_delivery, p.sm_default_msg_id, len(p.short_message)),
            p.short_message,
        ]
    )


def _enc_cancel_sm(p: Any) -> bytes:
    return b"".join(
        [
            _c(p.service_type, SERVICE_TYPE, "service_type"),
            _c(p.message_id, MESSAGE_ID, "message_id"),
            _BB(p.source_addr_ton, p.source_addr_npi),
            _c(p.source_addr, ADDR, "source_addr"),
            _BB(p.dest_addr_ton, p.dest_addr_npi),
            _c(p.destination_addr, ADDR, "destination_addr"),
        ]
    )


def _enc_alert_notification(p: Any) -> bytes:
    return b"".join(
        [
            _BB(p.source_addr_ton, p.source_addr_npi),
            _c(p.source_addr, ADDR_65, "source_addr"),
            _BB(p.esme_addr_ton, p.esme_addr_npi),
            _c(p.esme_addr, ADDR_65, "esme_addr"),
            _enc_tlvs(p.tlvs),
        ]
    )


_ENCODERS: dict[type[Pdu], Callable[[Any], bytes]] = {
    BindTransmitter: _enc_bind,
    BindReceiver: _enc_bind,
    BindTransceiver: _enc_bind,
    BindTransmitterResp: _enc_bind_resp,
    BindReceiverResp: _enc_bind_resp,
    BindTransceiverResp: _enc_bind_resp,
    Outbind: _enc_outbind,
    SubmitSmResp: _enc_message_id_resp,
    DeliverSmResp: _enc_message_id_resp,
    DataSm: _enc_data_sm,
    DataSmResp: _enc_data_sm_resp,
    QuerySm: _enc_query_sm,
    QuerySmResp: _enc_query_sm_resp,
    ReplaceSm: _enc_replace_sm,
    ReplaceSmResp: _enc_header_only,
    CancelSm: _enc_cancel_sm,
    CancelSmResp: _enc_header_only,
    AlertNotification: _enc_alert_notification,
    EnquireLink: _enc_header_only,
    EnquireLinkResp: _enc_header_only,
    Unbind: _enc_header_only,
    UnbindResp: _enc_header_only,
    GenericNack: _enc_header_only,
}


_FRAME_ENCODERS: dict[type[Pdu], Callable[[Any], bytes]] = {
    SubmitSm: _enc_short_message_frame,
    DeliverSm: _enc_short_message_frame,
}


def encode(pdu: Pdu) -> bytes:
    """The complete wire form of `pdu` (header included). Raises `SmppEncodeError`."""
    frame_encoder = _FRAME_ENCODERS.get(type(pdu))
    try:
        if frame_encoder is not None:
            return frame_encoder(pdu)
        body = _ENCODERS[type(pdu)](pdu)
        return _header_pack(HEADER_SIZE + len(body), pdu.COMMAND_ID, pdu.status, pdu.sequence) + body
    except KeyError:
        raise TypeError(f"not an SMPP PDU: {pdu!r}") from None
    except (StructError, UnicodeEncodeError, OverflowError) as exc:
        raise SmppEncodeError(f"{type(pdu).__name__}: {exc}") from exc
