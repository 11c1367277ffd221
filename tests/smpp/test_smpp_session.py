"""Session rules, exercised by pairing an ESME and an SMSC session in memory."""

from __future__ import annotations

import struct
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.smpp import (
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitterResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    Status,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode,
    response_for,
)
from engine.smpp.session import (
    MAX_SEQUENCE,
    EsmeSession,
    Event,
    PduRejected,
    RequestReceived,
    ResponseReceived,
    SessionError,
    SessionState,
    SmscSession,
    StreamBroken,
    WindowFull,
)

WORD = "pw1234"
SUBMIT = SubmitSm(destination_addr="447700900123", short_message=b"hi")

_P = TypeVar("_P", bound=Pdu)


def pdus(kind: type[_P], events: list[Event]) -> list[_P]:
    """The PDUs `events` carry, each event received (not refused) and each PDU a `kind`."""
    carried: list[_P] = []
    for event in events:
        assert isinstance(event, RequestReceived | ResponseReceived)
        assert isinstance(event.pdu, kind)
        carried.append(event.pdu)
    return carried


def state(session: EsmeSession | SmscSession) -> SessionState:
    """The state now (a plain read, so that the type checker does not keep an earlier
    comparison's answer across the calls that changed it)."""
    return session.state


def bound_pair(
    mode: SessionState = SessionState.BOUND_TRX, window_size: int = 10
) -> tuple[EsmeSession, SmscSession]:
    esme = EsmeSession(window_size=window_size, response_timeout_s=5.0)
    smsc = SmscSession(window_size=window_size)
    [event] = smsc.receive_data(esme.bind(mode, "acct", WORD, now=0.0))
    assert isinstance(event, RequestReceived)
    reply = smsc.send(response_for(event.pdu, system_id="sim"))
    [answer] = esme.receive_data(reply)
    assert isinstance(answer, ResponseReceived) and answer.request is not None
    assert esme.state is mode and smsc.state is mode
    return esme, smsc


def test_bind_transceiver_flow_binds_both_ends() -> None:
    esme = EsmeSession()
    smsc = SmscSession()
    assert esme.state is SessionState.OPEN
    data = esme.bind(SessionState.BOUND_TRX, "acct", WORD, system_type="SMS")
    [event] = smsc.receive_data(data)
    assert event == RequestReceived(
        BindTransceiver(system_id="acct", password=WORD, system_type="SMS", sequence=1)
    )
    [answer] = esme.receive_data(smsc.send(BindTransceiverResp(system_id="sim", sequence=1)))
    assert answer == ResponseReceived(BindTransceiverResp(system_id="sim", sequence=1), event.pdu)
    assert state(esme) is SessionState.BOUND_TRX
    assert smsc.state is SessionState.BOUND_TRX
    assert smsc.system_id == "acct"
    assert esme.outstanding == 0


def test_refused_bind_leaves_the_esme_open_and_allows_a_new_bind() -> None:
    esme = EsmeSession()
    smsc = SmscSession()
    [event] = smsc.receive_data(esme.bind(SessionState.BOUND_TX, "acct", "wrong"))
    assert isinstance(event, RequestReceived)
    refusal = response_for(event.pdu, status=Status.ESME_RINVPASWD)
    [answer] = esme.receive_data(smsc.send(refusal))
    assert isinstance(answer, ResponseReceived) and answer.pdu.status == Status.ESME_RINVPASWD
    assert esme.state is SessionState.OPEN and smsc.state is SessionState.OPEN
    esme.bind(SessionState.BOUND_TX, "acct", "right")


def test_second_bind_while_one_is_outstanding_is_refused() -> None:
    esme = EsmeSession()
    esme.bind(SessionState.BOUND_TX, "acct", WORD)
    with pytest.raises(SessionError):
        esme.bind(SessionState.BOUND_TX, "acct", WORD)


def test_bind_that_cannot_be_encoded_does_not_block_the_next_bind() -> None:
    esme = EsmeSession()
    with pytest.raises(ValueError):
        esme.bind(SessionState.BOUND_TX, "acct", "far-too-long-password")
    esme.bind(SessionState.BOUND_TX, "acct", WORD)
    assert esme.outstanding == 1


def test_submit_before_bind_is_refused_locally() -> None:
    esme = EsmeSession()
    with pytest.raises(SessionError):
        esme.send(SUBMIT)
    assert esme.outstanding == 0 and esme.last_sequence == 0


def test_submit_on_a_receiver_bind_is_refused_locally() -> None:
    esme, _ = bound_pair(SessionState.BOUND_RX)
    assert not esme.can_submit()
    with pytest.raises(SessionError):
        esme.send(SUBMIT)


def test_smsc_answers_submit_before_bind_with_rinvbndsts() -> None:
    smsc = SmscSession()
    [event] = smsc.receive_data(encode(SubmitSm(sequence=77)))
    assert event == PduRejected(
        "submit_sm not allowed in state OPEN",
        SubmitSmResp(sequence=77, status=Status.ESME_RINVBNDSTS),
        SubmitSm(sequence=77),
    )


def test_smsc_answers_second_bind_with_ralybnd() -> None:
    _, smsc = bound_pair()
    [event] = smsc.receive_data(encode(BindTransceiver(system_id="a", sequence=9)))
    assert isinstance(event, PduRejected)
    assert event.reply == BindTransceiverResp(sequence=9, status=Status.ESME_RALYBND)
    smsc.send(event.reply)
    assert smsc.state is SessionState.BOUND_TRX


def test_smsc_refuses_a_bind_response_that_answers_nothing() -> None:
    smsc = SmscSession()
    with pytest.raises(SessionError):
        smsc.send(BindTransmitterResp(sequence=1))


def test_smsc_refusing_a_bind_can_accept_the_next_one() -> None:
    smsc = SmscSession()
    [event] = smsc.receive_data(encode(BindTransceiver(system_id="a", sequence=1)))
    assert isinstance(event, RequestReceived)
    smsc.send(response_for(event.pdu, status=Status.ESME_RBINDFAIL))
    assert smsc.state is SessionState.OPEN
    [event] = smsc.receive_data(encode(BindTransceiver(system_id="b", sequence=2)))
    assert isinstance(event, RequestReceived)
    smsc.send(response_for(event.pdu))
    assert state(smsc) is SessionState.BOUND_TRX and smsc.system_id == "b"


def test_smsc_bind_response_must_match_the_bind_kind() -> None:
    smsc = SmscSession()
    smsc.receive_data(encode(BindTransceiver(system_id="a", sequence=1)))
    with pytest.raises(SessionError):
        smsc.send(BindTransmitterResp(sequence=1))


def test_sequences_start_at_one_and_increase() -> None:
    esme, smsc = bound_pair()
    sequences = []
    for _ in range(3):
        [event] = smsc.receive_data(esme.send(SUBMIT))
        assert isinstance(event, RequestReceived)
        sequences.append(event.pdu.sequence)
    assert sequences == [2, 3, 4]
    assert esme.last_sequence == 4


def test_sequence_wraps_to_one_and_skips_outstanding_numbers() -> None:
    esme, _ = bound_pair()
    esme._last_sequence = MAX_SEQUENCE - 1
    esme.send(SUBMIT)
    assert esme.last_sequence == MAX_SEQUENCE
    esme.send(SUBMIT)
    assert esme.last_sequence == 1
    esme._last_sequence = MAX_SEQUENCE - 1
    esme.send(SUBMIT)
    assert esme.last_sequence == 2  # MAX_SEQUENCE and 1 are still outstanding


def test_caller_sequence_is_replaced_and_the_caller_pdu_untouched() -> None:
    esme, smsc = bound_pair()
    mine = SubmitSm(destination_addr="1", sequence=999)
    [event] = smsc.receive_data(esme.send(mine))
    assert isinstance(event, RequestReceived)
    assert event.pdu.sequence == 2
    assert mine.sequence == 999


def test_window_accounting() -> None:
    esme, smsc = bound_pair(window_size=3)
    received = []
    for _ in range(3):
        assert esme.can_send()
        received.extend(smsc.receive_data(esme.send(SUBMIT)))
    assert esme.outstanding == 3 and esme.in_window == 3
    assert not esme.can_send() and not esme.can_submit()
    with pytest.raises(WindowFull):
        esme.send(SUBMIT)
    esme.send(EnquireLink())  # link requests bypass the window
    assert esme.outstanding == 4 and esme.in_window == 3
    first = pdus(SubmitSm, received)[0]
    [answer] = esme.receive_data(smsc.send(response_for(first, message_id="m1")))
    assert isinstance(answer, ResponseReceived)
    assert answer.request == first
    assert esme.can_send() and esme.in_window == 2 and esme.outstanding == 3


def test_responses_are_matched_out_of_order_to_the_original_request() -> None:
    esme, smsc = bound_pair()
    requests = [SubmitSm(destination_addr=str(n)) for n in range(5)]
    received = [pdu for r in requests for pdu in pdus(SubmitSm, smsc.receive_data(esme.send(r)))]
    replies = b"".join(
        smsc.send(response_for(r, message_id=f"id{r.destination_addr}")) for r in received[::-1]
    )
    answered = []
    for event in esme.receive_data(replies):
        assert isinstance(event, ResponseReceived) and isinstance(event.request, SubmitSm)
        assert isinstance(event.pdu, SubmitSmResp)
        answered.append((event.request.destination_addr, event.pdu.message_id))
    assert answered == [(str(n), f"id{n}") for n in range(4, -1, -1)]
    assert esme.outstanding == 0


def test_generic_nack_matches_the_request_and_unknown_responses_match_nothing() -> None:
    esme, _ = bound_pair()
    esme.send(SUBMIT)
    seq = esme.last_sequence
    [nack] = esme.receive_data(encode(GenericNack(sequence=seq, status=Status.ESME_RSYSERR)))
    assert isinstance(nack, ResponseReceived) and nack.request is not None
    assert nack.request.sequence == seq
    [stray] = esme.receive_data(encode(SubmitSmResp(message_id="x", sequence=12345)))
    assert stray == ResponseReceived(SubmitSmResp(message_id="x", sequence=12345), None)


def test_response_of_the_wrong_kind_does_not_consume_the_request() -> None:
    esme, _ = bound_pair()
    esme.send(QuerySm(message_id="abc"))
    seq = esme.last_sequence
    [event] = esme.receive_data(encode(SubmitSmResp(message_id="x", sequence=seq)))
    assert isinstance(event, ResponseReceived) and event.request is None
    assert esme.outstanding == 1


def test_expiry_uses_the_times_passed_in() -> None:
    esme, _ = bound_pair(window_size=5)
    esme.send(SubmitSm(destination_addr="a"), now=100.0)
    esme.send(SubmitSm(destination_addr="b"), now=102.0)
    assert esme.expired(104.9) == []
    [late] = esme.expired(105.0)
    assert isinstance(late, SubmitSm)
    assert late.destination_addr == "a"
    assert esme.outstanding == 1 and esme.in_window == 1
    [late] = esme.expired(1000.0)
    assert isinstance(late, SubmitSm)
    assert late.destination_addr == "b"
    assert esme.outstanding == 0


def test_request_sent_without_a_time_expires_late_never_early() -> None:
    esme, _ = bound_pair()
    esme.send(SUBMIT)
    assert esme.expired(50.0) == []  # first sight: stamped at 50
    assert esme.expired(54.0) == []
    assert len(esme.expired(55.0)) == 1


def test_expired_request_answered_later_matches_nothing() -> None:
    esme, _ = bound_pair()
    esme.send(SUBMIT, now=0.0)
    [late] = esme.expired(10.0)
    [event] = esme.receive_data(encode(SubmitSmResp(message_id="x", sequence=late.sequence)))
    assert isinstance(event, ResponseReceived) and event.request is None


def test_deliver_sm_reaches_a_transceiver_and_is_answered() -> None:
    esme, smsc = bound_pair()
    [event] = esme.receive_data(smsc.send(DeliverSm(source_addr="447700900123")))
    assert isinstance(event, RequestReceived)
    [answer] = smsc.receive_data(esme.send(response_for(event.pdu)))
    assert answer == ResponseReceived(DeliverSmResp(sequence=1), event.pdu)
    assert smsc.outstanding == 0


def test_smsc_cannot_deliver_to_a_transmitter_and_esme_rejects_it() -> None:
    esme, smsc = bound_pair(SessionState.BOUND_TX)
    with pytest.raises(SessionError):
        smsc.send(DeliverSm())
    [event] = esme.receive_data(encode(DeliverSm(sequence=4)))
    assert isinstance(event, PduRejected)
    assert event.reply == DeliverSmResp(sequence=4, status=Status.ESME_RINVBNDSTS)


def test_esme_answers_a_command_it_never_accepts_with_generic_nack() -> None:
    esme, _ = bound_pair()
    [event] = esme.receive_data(encode(SubmitSm(sequence=8)))
    assert isinstance(event, PduRejected)
    assert event.reply == GenericNack(sequence=8, status=Status.ESME_RINVCMDID)


def test_unknown_command_id_yields_generic_nack_rinvcmdid() -> None:
    esme, _ = bound_pair()
    raw = struct.pack(">IIII", 16, 0x00000777, 0, 31)
    [event] = esme.receive_data(raw)
    assert isinstance(event, PduRejected)
    assert event.reply == GenericNack(sequence=31, status=Status.ESME_RINVCMDID)
    assert esme.state is SessionState.BOUND_TRX


def test_unknown_command_is_followed_by_the_next_pdu() -> None:
    esme, _ = bound_pair()
    raw = struct.pack(">IIII", 16, 0x00000777, 0, 31)
    events = esme.receive_data(raw + encode(EnquireLink(sequence=32)))
    assert len(events) == 2
    assert events[1] == RequestReceived(EnquireLink(sequence=32))


def test_malformed_request_body_is_answered_with_its_response_and_the_error() -> None:
    _, smsc = bound_pair()
    good = encode(SubmitSm(source_addr="1" * 20, sequence=40))
    bad = good.replace(b"1" * 20 + b"\x00", b"1" * 25 + b"\x00")
    bad = struct.pack(">I", len(bad)) + bad[4:]
    [event] = smsc.receive_data(bad)
    assert isinstance(event, PduRejected)
    assert event.reply == SubmitSmResp(sequence=40, status=Status.ESME_RINVSRCADR)


def test_malformed_response_is_rejected_without_reply() -> None:
    esme, _ = bound_pair()
    raw = struct.pack(">IIII", 19, 0x80000004, 0, 2) + b"abc"
    [event] = esme.receive_data(raw)
    assert isinstance(event, PduRejected) and event.reply is None


def test_bad_command_length_breaks_the_stream_after_earlier_pdus() -> None:
    esme, _ = bound_pair()
    raw = encode(EnquireLink(sequence=5)) + struct.pack(">IIII", 8, 0x15, 0, 6)
    events = esme.receive_data(raw)
    assert events[0] == RequestReceived(EnquireLink(sequence=5))
    assert isinstance(events[1], StreamBroken)
    assert events[1].reply == GenericNack(sequence=6, status=Status.ESME_RINVCMDLEN)
    assert esme.state is SessionState.CLOSED
    with pytest.raises(SessionError):
        esme.receive_data(b"")


def test_enquire_link_both_ways() -> None:
    esme, smsc = bound_pair()
    [event] = smsc.receive_data(esme.send(EnquireLink()))
    assert isinstance(event, RequestReceived)
    [answer] = esme.receive_data(smsc.send(response_for(event.pdu)))
    assert answer == ResponseReceived(EnquireLinkResp(sequence=2), EnquireLink(sequence=2))
    [event] = esme.receive_data(smsc.send(EnquireLink()))
    assert isinstance(event, RequestReceived)
    esme.send(response_for(event.pdu))


def test_unbind_initiated_by_the_esme() -> None:
    esme, smsc = bound_pair()
    pending = pdus(SubmitSm, smsc.receive_data(esme.send(SUBMIT)))
    [event] = smsc.receive_data(esme.send(Unbind()))
    assert isinstance(event, RequestReceived)
    assert esme.state is SessionState.UNBOUND and smsc.state is SessionState.UNBOUND
    with pytest.raises(SessionError):
        esme.send(SUBMIT)
    events = esme.receive_data(
        smsc.send(response_for(pending[0], message_id="m")) + smsc.send(response_for(event.pdu))
    )
    assert [type(e.pdu) for e in events if isinstance(e, ResponseReceived)] == [SubmitSmResp, UnbindResp]
    assert all(isinstance(e, ResponseReceived) and e.request for e in events)
    assert esme.close() == []
    assert state(esme) is SessionState.CLOSED
    with pytest.raises(SessionError):
        esme.send(EnquireLink())


def test_unbind_initiated_by_the_smsc_and_close_returns_unanswered_requests() -> None:
    esme, smsc = bound_pair()
    esme.send(SUBMIT)
    [event] = esme.receive_data(smsc.send(Unbind()))
    assert isinstance(event, RequestReceived) and esme.state is SessionState.UNBOUND
    esme.send(response_for(event.pdu))
    [abandoned] = esme.close()
    assert abandoned.sequence == 2
    assert esme.outstanding == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["send", "answer", "expire"]), max_size=60))
def test_window_counters_stay_consistent(steps: list[str]) -> None:
    esme, smsc = bound_pair(window_size=4)
    waiting: list[SubmitSm] = []
    now = 0.0
    for step in steps:
        now += 1.0
        if step == "send" and esme.can_send():
            waiting.extend(pdus(SubmitSm, smsc.receive_data(esme.send(SUBMIT, now=now))))
        elif step == "answer" and waiting:
            esme.receive_data(smsc.send(response_for(waiting.pop(0), message_id="x")))
        elif step == "expire":
            esme.expired(now)
        assert 0 <= esme.in_window <= esme.window_size
        assert esme.in_window == esme.outstanding


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=6), st.booleans())
def test_random_bytes_become_events_never_exceptions(pieces: list[bytes], esme_side: bool) -> None:
    session = bound_pair()[0] if esme_side else bound_pair()[1]
    for piece in pieces:
        if session.state is SessionState.CLOSED:
            break
        for event in session.receive_data(piece):
            reply = getattr(event, "reply", None)
            if reply is not None and state(session) is not SessionState.CLOSED:
                session.send(reply)
