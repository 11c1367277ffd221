"""Binding, session PDUs and garbage over real TCP."""

from __future__ import annotations

import struct

import pytest
import trio

from engine.smpp.codec import encode
from engine.smpp.constants import Status
from engine.smpp.pdu import (
    DataSm,
    DataSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    UnbindResp,
)
from smsc_sim.config import SimulatorSettings
from smsc_sim.server import Simulator

from .conftest import StartSimulator
from .esme import Esme

DEADLINE_S = 10


async def test_bind_in_each_mode(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        clients = []
        for mode in ("transmitter", "receiver", "transceiver"):
            esme = await Esme.connect(simulator.smpp_port)
            clients.append(esme)
            resp = await esme.bind(mode)
            assert resp.status == Status.ESME_ROK
            assert type(resp).__name__.lower() == f"bind{mode}resp"
        stats = simulator.statistics()
        assert stats.binds_current == {"transmitter": 1, "receiver": 1, "transceiver": 1}
        assert stats.binds_total == stats.binds_current
        assert stats.connections_current == 3


async def test_wrong_credentials_are_refused(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        assert (await esme.bind(password="wrong")).status == Status.ESME_RINVPASWD  # noqa: S106
        assert (await esme.bind(system_id="nobody")).status == Status.ESME_RINVSYSID
        (refused,) = await esme.submit_many(1)
        assert refused.status == Status.ESME_RINVBNDSTS
        assert (await esme.bind()).status == Status.ESME_ROK
        assert simulator.statistics().bind_failures == 2


async def test_second_bind_is_already_bound(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        assert (await esme.bind("transmitter")).status == Status.ESME_ROK
        assert (await esme.bind("transceiver")).status == Status.ESME_RALYBND


async def test_submit_on_a_receiver_bind_is_refused(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("receiver")
        (resp,) = await esme.submit_many(1)
        assert resp.status == Status.ESME_RINVBNDSTS
        assert simulator.statistics().submit_rejected == {"ESME_RINVBNDSTS": 1}


async def test_submits_get_increasing_decimal_message_ids(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        responses = await esme.submit_many(5)
        assert [r.message_id for r in responses] == ["1", "2", "3", "4", "5"]
        assert [m.message_id for m in simulator.submitted] == ["1", "2", "3", "4", "5"]
        logged = simulator.submitted[0]
        assert (logged.source, logged.destination, logged.short_message) == (
            "SENDER",
            "33612345678",
            b"hello",
        )
        stats = simulator.statistics()
        assert stats.message_ids_issued == stats.submit_accepted == 5
        assert stats.pdus_in["submit_sm"] == stats.pdus_out["submit_sm_resp"] == 5


async def test_data_sm_is_accepted_with_its_payload(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        await esme.send(
            DataSm(
                sequence=7,
                source_addr="S",
                destination_addr="3361",
                tlvs=(Tlv(0x0424, b"payload text"),),
            )
        )
        resp = await esme.receive()
        assert isinstance(resp, DataSmResp)
        assert (resp.sequence, resp.status, resp.message_id) == (7, Status.ESME_ROK, "1")
        assert simulator.submitted[-1].short_message == b"payload text"


async def test_enquire_link_answered_bound_or_not(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.send(EnquireLink(sequence=41))
        assert await esme.receive() == EnquireLinkResp(sequence=41)
        await esme.bind()
        await esme.send(EnquireLink(sequence=42))
        assert await esme.receive() == EnquireLinkResp(sequence=42)


async def test_unbind_answers_then_closes(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        await esme.send(Unbind(sequence=9), EnquireLink(sequence=10))
        assert await esme.receive() == UnbindResp(sequence=9)
        await esme.expect_eof()


async def test_unknown_command_gets_generic_nack_and_session_goes_on(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        unknown = struct.pack(">IIII", 16, 0x00000777, 0, 5)
        await esme.send_raw(unknown + encode(EnquireLink(sequence=6)))
        assert await esme.receive() == GenericNack(sequence=5, status=Status.ESME_RINVCMDID)
        assert await esme.receive() == EnquireLinkResp(sequence=6)


async def test_undecodable_body_gets_generic_nack_and_session_goes_on(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        truncated = struct.pack(">IIII", 20, 0x00000004, 0, 11) + b"\x01\x02\x03\x04"
        await esme.send_raw(truncated + encode(SubmitSm(sequence=12, destination_addr="33")))
        nack = await esme.receive()
        assert isinstance(nack, GenericNack)
        assert nack.sequence == 11 and nack.status != Status.ESME_ROK
        resp = await esme.receive()
        assert isinstance(resp, SubmitSmResp) and resp.sequence == 12
        assert simulator.statistics().pdus_in["unreadable"] == 1


async def test_broken_framing_gets_generic_nack_then_close(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        await esme.send_raw(struct.pack(">IIII", 8, 4, 0, 13))
        assert await esme.receive() == GenericNack(sequence=13, status=Status.ESME_RINVCMDLEN)
        await esme.expect_eof()


async def test_connections_beyond_the_maximum_are_closed(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(settings={"max_connections": 1})
        first = await Esme.connect(simulator.smpp_port)
        assert (await first.bind()).status == Status.ESME_ROK
        second = await Esme.connect(simulator.smpp_port)
        await second.expect_eof()
        assert simulator.statistics().connections_refused == 1


async def test_a_busy_port_stops_start_up_with_a_clear_error(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        first = await start_simulator()
        busy = Simulator(SimulatorSettings(smpp_port=0, control_port=first.control_port))
        with pytest.raises(OSError, match="control API on 127.0.0.1"):
            await busy.serve()
        busy = Simulator(SimulatorSettings(smpp_port=first.smpp_port, control_port=0))
        with pytest.raises(OSError, match="SMPP on 127.0.0.1"):
            await busy.serve()


async def test_cancelling_serve_closes_connections_promptly(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        async with trio.open_nursery() as nursery:
            simulator = Simulator(SimulatorSettings(smpp_port=0, control_port=0))
            await nursery.start(simulator.serve)
            esme = await Esme.connect(simulator.smpp_port)
            assert (await esme.bind()).status == Status.ESME_ROK
            nursery.cancel_scope.cancel()
        with trio.fail_after(1):
            await esme.expect_eof()
