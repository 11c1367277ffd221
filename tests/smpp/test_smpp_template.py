"""submit_sm from a template: the bytes `SubmitTemplate` patches per recipient are
the generic encoder's, smpplib reads them as the same fields, and a session sending
them keeps its window and answers as with `send`."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.smpp import (
    CommandId,
    EsmeSession,
    GenericNack,
    ResponseReceived,
    SessionError,
    SessionState,
    SmppEncodeError,
    SubmitAnswered,
    SubmitSm,
    SubmitSmResp,
    SubmitTemplate,
    Tlv,
    WindowFull,
    encode,
)
from engine.smpp.codec import HEADER

from .test_smpp_session import bound_pair
from .test_smpp_vs_smpplib import SUBMIT_TLVS, assert_same_fields, message_case, smpplib_parse


@settings(max_examples=100, deadline=None)
@given(message_case(SubmitSm), st.data())
def test_template_frames_are_the_generic_encoders_bytes(
    case: tuple[Any, dict[str, Any]], data: st.DataObject
) -> None:
    """Any submit_sm the encoder takes (every field, SAR and other TLVs): the frame a
    template gives for its destination and sequence is `encode`'s, and smpplib reads
    it as the same fields; a stamped reference byte lands in short_message."""
    pdu: SubmitSm = case[0]
    destination = pdu.destination_addr.encode("latin-1")
    frame = SubmitTemplate(pdu).frame(pdu.sequence, destination)
    assert frame == encode(pdu)
    assert_same_fields(pdu, smpplib_parse("submit_sm", frame), SUBMIT_TLVS)
    if pdu.short_message:
        at = data.draw(st.integers(0, len(pdu.short_message) - 1))
        reference = data.draw(st.integers(0, 255))
        sm = bytearray(pdu.short_message)
        sm[at] = reference
        stamped = dataclasses.replace(pdu, short_message=bytes(sm))
        patched = SubmitTemplate(pdu, reference_at=at).frame(pdu.sequence, destination, reference)
        assert patched == encode(stamped)
        assert_same_fields(stamped, smpplib_parse("submit_sm", patched), SUBMIT_TLVS)


def test_a_template_keeps_the_encoders_checks() -> None:
    """What the wire cannot carry is refused where the template is made (its shared
    fields, its TLVs) or where a frame is asked for (its destination)."""
    with pytest.raises(SmppEncodeError):
        SubmitTemplate(SubmitSm(source_addr="x" * 21))
    with pytest.raises(SmppEncodeError):
        SubmitTemplate(SubmitSm(short_message=b"x" * 255))
    with pytest.raises(SmppEncodeError):
        SubmitTemplate(SubmitSm(tlvs=(Tlv(0x0424, b"x" * 70000),)))
    template = SubmitTemplate(SubmitSm(short_message=b"hi"))
    with pytest.raises(SmppEncodeError):
        template.frame(1, b"1" * 21)
    with pytest.raises(SmppEncodeError):
        template.frame(1, b"24106\x00123")
    with pytest.raises(ValueError):
        SubmitTemplate(SubmitSm(short_message=b"hi"), reference_at=2)


TEMPLATE = SubmitTemplate(SubmitSm(source_addr="Shop", short_message=b"hello"))


def test_a_template_submit_is_answered_as_submit_answered() -> None:
    """Sequence numbers and the window as with `send`; a plain submit_sm_resp (a
    message id, or an empty body) comes back as `SubmitAnswered` and frees its room."""
    esme, smsc = bound_pair(window_size=2)
    first = esme.send_submit(TEMPLATE, b"24106000001", 0, 1.0)
    seq1 = esme.last_sequence
    esme.send_submit(TEMPLATE, b"24106000002", 0, 1.0)
    seq2 = esme.last_sequence
    assert seq2 == seq1 + 1 and not esme.can_submit()
    with pytest.raises(WindowFull):
        esme.send_submit(TEMPLATE, b"24106000003", 0, 1.0)
    [received] = smsc.receive_data(first)
    assert received.pdu.destination_addr == "24106000001"  # type: ignore[union-attr]
    empty_body = HEADER.pack(16, CommandId.SUBMIT_SM_RESP, 0x58, seq2)
    answers = encode(SubmitSmResp("abc-1", seq1)) + empty_body
    assert esme.receive_data(answers) == [
        SubmitAnswered(seq1, 0, "abc-1"), SubmitAnswered(seq2, 0x58, "")
    ]
    assert esme.outstanding == 0 and esme.can_submit()


def test_other_answers_to_a_template_submit_come_as_responses() -> None:
    """A generic_nack, or an answer the fast reading does not take, is matched as
    `send`'s are: `ResponseReceived` whose request is a `SubmitSm` with the sequence."""
    esme, _ = bound_pair()
    esme.send_submit(TEMPLATE, b"24106000001", 0, 1.0)
    seq = esme.last_sequence
    [event] = esme.receive_data(encode(GenericNack(seq, 0x08)))
    assert isinstance(event, ResponseReceived)
    assert event.request == SubmitSm(sequence=seq)
    assert esme.outstanding == 0


def test_template_submits_expire_and_are_abandoned_as_requests() -> None:
    esme, _ = bound_pair()
    esme.send_submit(TEMPLATE, b"24106000001", 0, 1.0)
    seq = esme.last_sequence
    assert esme.expired(100.0) == [SubmitSm(sequence=seq)]
    assert esme.receive_data(encode(SubmitSmResp("late", seq))) == [
        ResponseReceived(SubmitSmResp("late", seq), None)
    ]
    esme.send_submit(TEMPLATE, b"24106000001", 0, 1.0)
    assert esme.close() == [SubmitSm(sequence=esme.last_sequence)]


def test_a_template_submit_needs_a_transmitting_bind() -> None:
    with pytest.raises(SessionError):
        EsmeSession().send_submit(TEMPLATE, b"1", 0, 0.0)
    esme, _ = bound_pair(SessionState.BOUND_RX)
    with pytest.raises(SessionError):
        esme.send_submit(TEMPLATE, b"1", 0, 0.0)
    esme, _ = bound_pair()
    with pytest.raises(SmppEncodeError):
        esme.send_submit(TEMPLATE, b"1" * 30, 0, 0.0)
    assert esme.outstanding == 0 and esme.last_sequence == 1
