"""One encoder per SMPP PDU kind, and the class -> encoder tables.

Private to `codec`. `BODY_ENCODERS` return the body (the caller adds the header);
`FRAME_ENCODERS` return the whole frame. Encoders raise `SmppEncodeError`, or
struct.error / UnicodeEncodeError, which `codec.encode` turns into `SmppEncodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from typing import Any

from .pdu import (
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
)
from .wire import (
    ADDR,
    ADDR_65,
    ADDRESS_RANGE,
    HEADER_SIZE,
    MAX_SHORT_MESSAGE,
    MESSAGE_ID,
    PASSWORD,
    SERVICE_TYPE,
    SYSTEM_ID,
    SYSTEM_TYPE,
    TIME,
    TLV_HEAD,
    SmppEncodeError,
)

_NUL = b"\x00"
_BB = Struct(">BB").pack
_BBB = Struct(">BBB").pack
_tlv_head_pack = TLV_HEAD.pack


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
    pack = Struct(f">IIII{st + 1}sBB{sa + 1}sBB{da + 1}sBBB{sd + 1}s{vp + 1}sBBBBB{sm}s").pack
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


BODY_ENCODERS: dict[type[Pdu], Callable[[Any], bytes]] = {
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


FRAME_ENCODERS: dict[type[Pdu], Callable[[Any], bytes]] = {
    SubmitSm: _enc_short_message_frame,
    DeliverSm: _enc_short_message_frame,
}
