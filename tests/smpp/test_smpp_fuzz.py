"""Fuzzing the SMPP receive path of both ends: the gateway's sender session (with
what it reads in a receipt) and the simulator's connection, fed valid PDUs mutated
(truncated, lengths changed, TLVs of the wrong length, huge fields, junk bodies)
and random bytes, in random chunks. Only the protocol's own answers come out:
events, error responses and, when the framing is lost, a closed stream."""

from __future__ import annotations

import struct

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dispatch.policy.receipts import interpret_deliver
from engine.smpp.codec import decode, encode
from engine.smpp.framing import PduReader
from engine.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DataSm,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    Unbind,
)
from engine.smpp.session import (
    EsmeSession,
    PduRejected,
    RequestReceived,
    ResponseReceived,
    SessionState,
    SmscSession,
    StreamBroken,
)
from engine.store.messages import smsc_id_candidates
from smsc_sim.config import SimulatorSettings
from smsc_sim.connection import EsmeConnection
from smsc_sim.server import Simulator
from tests.smpp.mutations import any_frame, framed_mutation

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBE = EnquireLink(sequence=0x7FFF0000)
"""Sent after the fuzzed bytes: its answer shows the link still reads PDUs."""


def bound_esme() -> EsmeSession:
    session = EsmeSession(window_size=10)
    session.bind(SessionState.BOUND_TRX, "smsgw", "secret")
    session.receive_data(encode(BindTransceiverResp(system_id="smsc", sequence=1)))
    assert session.state is SessionState.BOUND_TRX
    return session


def bound_smsc() -> SmscSession:
    session = SmscSession(window_size=10)
    [bind] = session.receive_data(encode(BindTransceiver("smsgw", "secret", sequence=1)))
    assert isinstance(bind, RequestReceived)
    session.send(BindTransceiverResp(system_id="smsc", sequence=1))
    assert session.state is SessionState.BOUND_TRX
    return session


def feed(session: EsmeSession | SmscSession, data: bytes, chunk: int) -> list[object]:
    """Feed `data` in chunks; check every event is the protocol's; return them."""
    events: list[object] = []
    for start in range(0, len(data), chunk):
        if session.state is SessionState.CLOSED:
            break
        for event in session.receive_data(data[start : start + chunk]):
            assert isinstance(event, RequestReceived | ResponseReceived | PduRejected | StreamBroken)
            if isinstance(event, PduRejected) and event.reply is not None:
                decode(encode(event.reply))  # the answer goes on the wire as is
            if isinstance(event, StreamBroken):
                decode(encode(event.reply))
            if isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm | DataSm):
                found = interpret_deliver(event.pdu)  # what the sender reads never raises
                if isinstance(found, tuple):
                    smsc_id_candidates(found[0])  # nor what the router reads of that
            events.append(event)
    return events


def unbinds(frames: list[bytes]) -> bool:
    return any(struct.unpack_from(">I", f, 4)[0] == Unbind.COMMAND_ID for f in frames if len(f) >= 8)


@FUZZ
@given(st.lists(any_frame, min_size=1, max_size=4), st.integers(1, 300))
def test_both_sessions_answer_any_bytes_with_protocol_events(
    frames: list[bytes], chunk: int
) -> None:
    feed(bound_esme(), b"".join(frames), chunk)
    feed(bound_smsc(), b"".join(frames), chunk)


@FUZZ
@given(st.lists(framed_mutation, min_size=1, max_size=4), st.integers(1, 4096))
def test_a_bad_pdu_that_keeps_the_framing_never_costs_the_senders_link(
    frames: list[bytes], chunk: int
) -> None:
    session = bound_esme()
    events = feed(session, b"".join(frames) + encode(PROBE), chunk)
    assert not any(isinstance(e, StreamBroken) for e in events)
    assert session.state is not SessionState.CLOSED
    last = events[-1]
    assert isinstance(last, RequestReceived | PduRejected) and last.pdu == PROBE


def sim_output(frames: list[bytes], chunk: int) -> tuple[bool, list[object], int]:
    """Feed a bound simulator connection; return (still open, its answers, refused)."""

    async def run() -> tuple[bool, list[object], int]:
        simulator = Simulator(SimulatorSettings(smpp_port=0, control_port=0, first_message_id=1))
        connection = EsmeConnection(simulator, None, 1)  # type: ignore[arg-type]
        assert connection._handle_data(encode(BindTransceiver("smsgw", "secret", sequence=1)))
        data = b"".join(frames)
        open_ = True
        for start in range(0, len(data), chunk):
            open_ = connection._handle_data(data[start : start + chunk])
            if not open_:
                break
        answers = PduReader().feed(bytes(connection._out))
        return open_, list(answers), simulator.counters.pdus_refused

    return trio.run(run)


@FUZZ
@given(st.lists(any_frame, min_size=1, max_size=4), st.integers(1, 300))
def test_the_simulator_answers_any_bytes_with_decodable_pdus(frames: list[bytes], chunk: int) -> None:
    sim_output(frames, chunk)  # every answer decodes (PduReader.feed raises otherwise)


@FUZZ
@given(st.lists(framed_mutation, min_size=1, max_size=4), st.integers(1, 4096))
def test_a_bad_pdu_that_keeps_the_framing_never_costs_the_simulators_link(
    frames: list[bytes], chunk: int
) -> None:
    open_, answers, _ = sim_output([*frames, encode(PROBE)], chunk)
    if unbinds(frames):
        return  # an unbind among them ends the session, as it should
    assert open_
    assert answers[-1] == EnquireLinkResp(sequence=PROBE.sequence)
