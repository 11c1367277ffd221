"""Cross-check against smpplib, an independent SMPP implementation.

For generated submit_sm and deliver_sm: our bytes equal smpplib's, smpplib parses our
bytes into the same fields, and we parse smpplib's bytes into the same fields.
Known smpplib habits: `sequence=` in the constructor is not applied (set it after),
parsing needs `sequence=0`, parsed strings are bytes, and TLVs are written in its own
fixed order (so generated TLVs follow that order).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import pytest
import smpplib.command  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.pdu  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.smpp import (
    BindTransceiver,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    decode,
    encode,
)

from .smpp_strategies import cstr

MANDATORY_INTS = (
    "source_addr_ton",
    "source_addr_npi",
    "dest_addr_ton",
    "dest_addr_npi",
    "esm_class",
    "protocol_id",
    "priority_flag",
    "registered_delivery",
    "replace_if_present_flag",
    "data_coding",
    "sm_default_msg_id",
)
MANDATORY_STRS = (
    "service_type",
    "source_addr",
    "destination_addr",
    "schedule_delivery_time",
    "validity_period",
)
# (smpplib name, tag, octets of an integer TLV or None for octet strings), in smpplib order
TlvSpec: TypeAlias = tuple[str, int, int | Literal["cstr"] | None]
SUBMIT_TLVS: tuple[TlvSpec, ...] = (
    ("user_message_reference", Tag.USER_MESSAGE_REFERENCE, 2),
    ("source_port", Tag.SOURCE_PORT, 2),
    ("sar_msg_ref_num", Tag.SAR_MSG_REF_NUM, 2),
    ("sar_total_segments", Tag.SAR_TOTAL_SEGMENTS, 1),
    ("sar_segment_seqnum", Tag.SAR_SEGMENT_SEQNUM, 1),
    ("message_payload", Tag.MESSAGE_PAYLOAD, None),
)
DELIVER_TLVS: tuple[TlvSpec, ...] = (
    *SUBMIT_TLVS,
    ("message_state", Tag.MESSAGE_STATE, 1),
    ("receipted_message_id", Tag.RECEIPTED_MESSAGE_ID, "cstr"),
)
ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@st.composite
def message_case(draw: st.DrawFn, cls: type[Any]) -> tuple[Any, dict[str, Any]]:
    """A PDU of `cls` and the keyword arguments that build the same one in smpplib."""
    fields: dict[str, Any] = {name: draw(st.integers(0, 255)) for name in MANDATORY_INTS}
    for name, size in zip(MANDATORY_STRS, (6, 21, 21, 17, 17), strict=True):
        fields[name] = draw(cstr(size))
    tlv_specs = SUBMIT_TLVS if cls is SubmitSm else DELIVER_TLVS
    chosen = [spec for spec in tlv_specs if draw(st.booleans())]
    short_message = b""
    if not any(name == "message_payload" for name, _, _ in chosen):
        short_message = draw(st.binary(max_size=254))
    tlvs: list[Tlv] = []
    lib_fields = dict(fields)
    for name, tag, kind in chosen:
        if kind == "cstr":
            text = draw(st.text(ASCII, min_size=1, max_size=64))
            tlvs.append(Tlv(tag, text.encode() + b"\x00"))
            lib_fields[name] = text
        elif kind is None:
            payload = draw(st.binary(min_size=1, max_size=260))
            tlvs.append(Tlv(tag, payload))
            lib_fields[name] = payload
        else:
            value = draw(st.integers(0, 256**kind - 1))
            tlvs.append(Tlv(tag, value.to_bytes(kind, "big")))
            lib_fields[name] = value
    sequence = draw(st.integers(1, 0x7FFFFFFF))
    ours = cls(**fields, short_message=short_message, tlvs=tuple(tlvs), sequence=sequence)
    lib_fields["short_message"] = short_message
    return ours, lib_fields


def smpplib_pdu(name: str, fields: dict[str, Any], sequence: int) -> Any:
    pdu = smpplib.command.factory(name, sequence=0, **fields)
    pdu.sequence = sequence
    return pdu


def smpplib_parse(name: str, data: bytes) -> Any:
    pdu = smpplib.command.factory(name, sequence=0)
    pdu.parse(data)
    return pdu


def assert_same_fields(ours: Any, lib: Any, tlv_specs: tuple[TlvSpec, ...]) -> None:
    assert lib.sequence == ours.sequence
    assert lib.status == ours.status
    for name in MANDATORY_INTS:
        assert getattr(lib, name) == getattr(ours, name), name
    for name in MANDATORY_STRS:
        assert getattr(lib, name).decode("latin-1") == getattr(ours, name), name
    assert (lib.short_message or b"") == ours.short_message
    for name, tag, kind in tlv_specs:
        value = ours.tlv(tag)
        theirs: Any = getattr(lib, name, None)
        if value is None:
            assert theirs is None, name
        elif kind == "cstr":
            assert theirs + b"\x00" == value
        elif kind is None:
            assert theirs == value
        else:
            assert theirs == int.from_bytes(value, "big")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([SubmitSm, DeliverSm]).flatmap(lambda cls: message_case(cls)))
def test_same_bytes_and_fields_as_smpplib(case: tuple[Any, dict[str, Any]]) -> None:
    ours, lib_fields = case
    name = "submit_sm" if isinstance(ours, SubmitSm) else "deliver_sm"
    specs = SUBMIT_TLVS if isinstance(ours, SubmitSm) else DELIVER_TLVS
    our_bytes = encode(ours)
    lib_bytes = smpplib_pdu(name, lib_fields, ours.sequence).generate()
    assert our_bytes == lib_bytes
    assert_same_fields(ours, smpplib_parse(name, our_bytes), specs)
    assert decode(lib_bytes) == ours


def test_smpplib_response_parses_with_our_decoder() -> None:
    resp = smpplib.command.factory("submit_sm_resp", sequence=0, message_id="4f2a")
    resp.sequence = 12
    decoded = decode(resp.generate())
    assert isinstance(decoded, SubmitSmResp)
    assert (decoded.sequence, decoded.message_id) == (12, "4f2a")


@pytest.mark.parametrize(
    ("pdu", "name"),
    [
        (SubmitSm(sequence=1), "submit_sm"),
        (DeliverSmResp(sequence=2), "deliver_sm_resp"),
        (EnquireLink(sequence=3), "enquire_link"),
        (BindTransceiver(system_id="a", sequence=4), "bind_transceiver"),
        (GenericNack(sequence=5, status=3), "generic_nack"),
    ],
)
def test_smpplib_names_our_command_ids(pdu: Any, name: str) -> None:
    assert smpplib.pdu.extract_command(encode(pdu)) == name


def test_smpplib_reads_our_bind() -> None:
    ours = BindTransceiver(system_id="acct", password="pw" + "1234", system_type="SMS", sequence=7)
    lib = smpplib_parse("bind_transceiver", encode(ours))
    assert (lib.system_id, lib.password, lib.system_type) == (b"acct", b"pw1234", b"SMS")
    assert lib.interface_version == smpplib.consts.SMPP_VERSION_34
    assert lib.sequence == 7
