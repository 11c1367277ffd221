"""The simulator's receive path over real TCP, fuzzed: an ESME writes hundreds of
mutated PDUs (truncated bodies, flipped octets, TLVs of the wrong length, fields of
thousands of octets, junk bodies; the framing kept) in one go; every one is
answered or dropped as SMPP says, and the same connection then takes a submit_sm."""

from __future__ import annotations

import trio

from engine.smpp import EnquireLink, EnquireLinkResp, Status, SubmitSm, SubmitSmResp
from tests.sim.conftest import StartSimulator
from tests.sim.esme import Esme
from tests.smpp.mutations import random_frames

DEADLINE_S = 10


async def test_hundreds_of_mutated_pdus_leave_the_connection_serving(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        await esme.send_raw(b"".join(random_frames(seed=3_4, count=400, from_smsc=False)))
        await esme.send(EnquireLink(sequence=900_001))
        await esme.receive_matching(lambda p: p == EnquireLinkResp(sequence=900_001))
        await esme.send(SubmitSm(sequence=900_002, source_addr="ION", destination_addr="24106000001",
                                 short_message=b"encore"))
        resp = await esme.receive_matching(lambda p: p.sequence == 900_002)
        assert isinstance(resp, SubmitSmResp) and resp.status == Status.ESME_ROK and resp.message_id
        stats = simulator.statistics()
        assert stats.connections_current == 1, "the connection was never dropped"
        assert stats.pdus_refused > 50, "the broken ones were refused and counted"
        assert stats.submit_accepted > 0, "the ones that still read as submits were taken"
