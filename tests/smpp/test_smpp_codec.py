"""Codec: exact wire layouts, round trips of every PDU kind, and hostile input."""

from __future__ import annotations

import struct
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.smpp import (
    CommandId,
    DeliverSmResp,
    EnquireLink,
    SmppDecodeError,
    SmppEncodeError,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Tlv,
    decode,
    encode,
)
from engine.smpp import pdu as P
from engine.smpp.pdu import with_sequence

from .smpp_strategies import FIELDS, any_pdu, pdu_of


def frame(command_id: int, body: bytes, sequence: int = 1, status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def test_submit_sm_wire_layout_matches_the_spec_field_order() -> None:
    pdu = SubmitSm(
        source_addr_ton=5,
        source_addr="Shop",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        registered_delivery=1,
        short_message=b"Hi",
        tlvs=(Tlv(Tag.USER_MESSAGE_REFERENCE, b"\x00\x07"),),
        sequence=7,
    )
    body = (
        b"\x00"  # service_type
        + b"\x05\x00Shop\x00"
        + b"\x01\x01447700900123\x00"
        + b"\x00\x00\x00"  # esm_class, protocol_id, priority_flag
        + b"\x00\x00"  # schedule_delivery_time, validity_period
        + b"\x01\x00\x00\x00"  # registered_delivery, replace, data_coding, sm_default_msg_id
        + b"\x02Hi"
        + b"\x02\x04\x00\x02\x00\x07"
    )
    assert encode(pdu) == frame(CommandId.SUBMIT_SM, body, sequence=7)
    decoded = decode(encode(pdu))
    assert decoded == pdu
    assert isinstance(decoded, SubmitSm)
    assert decoded.tlv(Tag.USER_MESSAGE_REFERENCE) == b"\x00\x07"
    assert decoded.tlv(Tag.MESSAGE_PAYLOAD) is None


@given(pdu=st.one_of(pdu_of(SubmitSm), pdu_of(P.DeliverSm)))
@settings(max_examples=50, deadline=None)
def test_decoded_short_messages_are_genuine_frozen_instances(pdu: P.Pdu) -> None:
    decoded = decode(encode(pdu))
    assert type(decoded) is type(pdu)
    assert hash(decoded) == hash(pdu)
    with pytest.raises(FrozenInstanceError):
        decoded.sequence = 1  # type: ignore[misc]
    assert with_sequence(decoded, 5) == with_sequence(pdu, 5)


def test_enquire_link_is_a_bare_header() -> None:
    assert encode(EnquireLink(sequence=0x7FFFFFFF)) == frame(0x15, b"", sequence=0x7FFFFFFF)


@pytest.mark.parametrize("cls", P.RESPONSE_TYPES)
def test_error_response_with_empty_body_decodes_to_defaults(cls: type[P.Response]) -> None:
    decoded = decode(frame(cls.COMMAND_ID, b"", sequence=9, status=Status.ESME_RTHROTTLED))
    assert decoded == cls(sequence=9, status=Status.ESME_RTHROTTLED)


def test_deliver_sm_resp_without_body_is_accepted() -> None:
    assert decode(frame(CommandId.DELIVER_SM_RESP, b"", sequence=3)) == DeliverSmResp(sequence=3)


def test_unknown_command_id_reports_id_sequence_and_rinvcmdid() -> None:
    with pytest.raises(SmppDecodeError) as info:
        decode(frame(0x00000777, b"abc", sequence=42))
    assert info.value.command_id == 0x777
    assert info.value.sequence == 42
    assert info.value.status == Status.ESME_RINVCMDID


def test_overlong_source_addr_is_refused_with_rinvsrcadr() -> None:
    good = encode(SubmitSm(source_addr="1" * 20, sequence=5))
    bad = good.replace(b"1" * 20 + b"\x00", b"1" * 21 + b"\x00")
    bad = struct.pack(">I", len(bad)) + bad[4:]
    with pytest.raises(SmppDecodeError) as info:
        decode(bad)
    assert info.value.status == Status.ESME_RINVSRCADR
    assert info.value.sequence == 5


def test_unterminated_string_and_trailing_octets_are_refused() -> None:
    with pytest.raises(SmppDecodeError):
        decode(frame(CommandId.SUBMIT_SM_RESP, b"abc"))
    with pytest.raises(SmppDecodeError):
        decode(frame(CommandId.ENQUIRE_LINK, b"\x00"))
    with pytest.raises(SmppDecodeError):
        decode(frame(CommandId.SUBMIT_SM_RESP, b"abc\x00\x00"))


def test_command_length_must_match_the_frame() -> None:
    data = encode(SubmitSmResp(message_id="x", sequence=1))
    with pytest.raises(SmppDecodeError):
        decode(data + b"\x00")
    with pytest.raises(SmppDecodeError):
        decode(data[:-1])


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(source_addr="1" * 21),
        SubmitSm(destination_addr="a\x00b"),
        SubmitSm(source_addr="€"),
        SubmitSm(short_message=b"x" * 255),
        SubmitSm(esm_class=256),
        SubmitSm(sequence=-1),
        SubmitSmResp(message_id="m" * 65),
        P.BindTransmitter(password="x" * 9),
        P.DataSm(tlvs=(Tlv(0x1400, b"x" * 70000),)),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(pdu: P.Pdu) -> None:
    with pytest.raises(SmppEncodeError):
        encode(pdu)


@pytest.mark.parametrize("cls", P.PDU_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_pdu_kind_round_trips(cls: type[P.Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdu_of(cls))
    raw = encode(pdu)
    assert struct.unpack(">I", raw[:4])[0] == len(raw)
    assert decode(raw) == pdu


def test_strategies_cover_every_pdu_kind() -> None:
    assert set(FIELDS) == set(P.PDU_TYPES)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_nothing_but_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except SmppDecodeError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(sorted(int(c) for c in CommandId)))
def test_random_body_under_a_valid_header_raises_only_decode_error(
    body: bytes, command_id: int
) -> None:
    try:
        decode(frame(command_id, body))
    except SmppDecodeError as exc:
        assert exc.command_id == command_id
        assert exc.sequence == 1


@settings(max_examples=300, deadline=None)
@given(any_pdu, st.data())
def test_mutated_valid_pdus_raise_nothing_but_decode_error(pdu: P.Pdu, data: st.DataObject) -> None:
    raw = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[pos : pos + data.draw(st.integers(1, 8))]
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    if data.draw(st.booleans()) and len(raw) >= 4:
        raw[0:4] = struct.pack(">I", len(raw))
    try:
        decode(bytes(raw))
    except SmppDecodeError:
        pass
