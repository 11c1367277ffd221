"""Hypothesis strategies for every SMPP 3.4 PDU, within the spec's field limits.

Limits are written from the SMPP 3.4 specification (sizes include the terminating NUL),
independently of the codec's own constants.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engine.smpp import pdu as P

LATIN1_NO_NUL = st.characters(min_codepoint=1, max_codepoint=255)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def cstr(size: int, alphabet: st.SearchStrategy[str] = LATIN1_NO_NUL) -> st.SearchStrategy[str]:
    """A C-octet string field of at most `size` octets including its NUL."""
    return st.text(alphabet, max_size=size - 1)


octet = st.integers(0, 255)
sequence = st.integers(1, 0x7FFFFFFF)
status = st.one_of(st.just(0), st.integers(0, 0xFFFFFFFF))
tlv = st.builds(P.Tlv, tag=st.integers(0, 0xFFFF), value=st.binary(max_size=40))
tlvs = st.lists(tlv, max_size=4).map(tuple)
short_message = st.binary(max_size=254)
time_field = st.one_of(st.just(""), cstr(17, PRINTABLE))


def header(**fields: Any) -> dict[str, Any]:
    return {"sequence": sequence, "status": status, **fields}


BIND = header(
    system_id=cstr(16),
    password=cstr(9),
    system_type=cstr(13),
    interface_version=octet,
    addr_ton=octet,
    addr_npi=octet,
    address_range=cstr(41),
)
SHORT_MESSAGE = header(
    service_type=cstr(6),
    source_addr_ton=octet,
    source_addr_npi=octet,
    source_addr=cstr(21),
    dest_addr_ton=octet,
    dest_addr_npi=octet,
    destination_addr=cstr(21),
    esm_class=octet,
    protocol_id=octet,
    priority_flag=octet,
    schedule_delivery_time=time_field,
    validity_period=time_field,
    registered_delivery=octet,
    replace_if_present_flag=octet,
    data_coding=octet,
    sm_default_msg_id=octet,
    short_message=short_message,
    tlvs=tlvs,
)

FIELDS: dict[type[Any], dict[str, Any]] = {
    P.BindTransmitter: BIND,
    P.BindReceiver: BIND,
    P.BindTransceiver: BIND,
    P.BindTransmitterResp: header(system_id=cstr(16), tlvs=tlvs),
    P.BindReceiverResp: header(system_id=cstr(16), tlvs=tlvs),
    P.BindTransceiverResp: header(system_id=cstr(16), tlvs=tlvs),
    P.Outbind: header(system_id=cstr(16), password=cstr(9)),
    P.SubmitSm: SHORT_MESSAGE,
    P.DeliverSm: SHORT_MESSAGE,
    P.SubmitSmResp: header(message_id=cstr(65)),
    P.DeliverSmResp: header(message_id=cstr(65)),
    P.DataSm: header(
        service_type=cstr(6),
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstr(65),
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        destination_addr=cstr(65),
        esm_class=octet,
        registered_delivery=octet,
        data_coding=octet,
        tlvs=tlvs,
    ),
    P.DataSmResp: header(message_id=cstr(65), tlvs=tlvs),
    P.QuerySm: header(
        message_id=cstr(65), source_addr_ton=octet, source_addr_npi=octet, source_addr=cstr(21)
    ),
    P.QuerySmResp: header(
        message_id=cstr(65), final_date=time_field, message_state=octet, error_code=octet
    ),
    P.ReplaceSm: header(
        message_id=cstr(65),
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstr(21),
        schedule_delivery_time=time_field,
        validity_period=time_field,
        registered_delivery=octet,
        sm_default_msg_id=octet,
        short_message=short_message,
    ),
    P.ReplaceSmResp: header(),
    P.CancelSm: header(
        service_type=cstr(6),
        message_id=cstr(65),
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstr(21),
        dest_addr_ton=octet,
        dest_addr_npi=octet,
        destination_addr=cstr(21),
    ),
    P.CancelSmResp: header(),
    P.AlertNotification: header(
        source_addr_ton=octet,
        source_addr_npi=octet,
        source_addr=cstr(65),
        esme_addr_ton=octet,
        esme_addr_npi=octet,
        esme_addr=cstr(65),
        tlvs=tlvs,
    ),
    P.EnquireLink: header(),
    P.EnquireLinkResp: header(),
    P.Unbind: header(),
    P.UnbindResp: header(),
    P.GenericNack: header(),
}


def pdu_of(cls: type[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, **FIELDS[cls])


any_pdu = st.one_of([pdu_of(cls) for cls in P.PDU_TYPES])
