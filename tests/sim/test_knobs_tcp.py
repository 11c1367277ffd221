"""Each behaviour knob, seen from an ESME over real TCP."""

from __future__ import annotations

import trio
import trio.testing

from engine.smpp.constants import Status
from engine.smpp.pdu import EnquireLink, EnquireLinkResp, SubmitSm, SubmitSmResp
from smsc_sim.config import Distribution, PrefixRule

from .conftest import StartSimulator
from .esme import Esme, statuses

DEADLINE_S = 15


async def test_throughput_cap_throttles_the_excess(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(throughput_cap_per_s=100)
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        started = trio.current_time()
        responses = await esme.submit_many(300)
        elapsed = trio.current_time() - started
        counts = statuses(responses)
        accepted = counts.get("ESME_ROK", 0)
        assert 100 <= accepted <= 100 + 100 * elapsed + 1
        assert counts["ESME_RTHROTTLED"] == 300 - accepted
        assert simulator.statistics().submit_rejected["ESME_RTHROTTLED"] == 300 - accepted


async def test_cap_applies_per_bind(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(throughput_cap_per_s=50)
        first, second = [await Esme.connect(simulator.smpp_port) for _ in range(2)]
        await first.bind("transmitter")
        await second.bind("transmitter")
        for esme in (first, second):
            counts = statuses(await esme.submit_many(50))
            assert counts.get("ESME_ROK", 0) == 50


async def test_prefix_rule_answers_its_status(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(rules=(PrefixRule("999", status=Status.ESME_RINVDSTADR),))
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        (bad,) = await esme.submit_many(1, destination_addr="99912345")
        (good,) = await esme.submit_many(1, destination_addr="33612345")
        assert bad.status == Status.ESME_RINVDSTADR and bad.message_id == ""
        assert good.status == Status.ESME_ROK


async def test_seeded_error_rate_is_close_and_repeatable(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        runs = []
        for _ in range(2):
            simulator = await start_simulator(
                error_rate=0.2, error_status=Status.ESME_RSYSERR, seed=1234
            )
            esme = await Esme.connect(simulator.smpp_port)
            await esme.bind("transmitter")
            responses = await esme.submit_many(2000)
            runs.append([r.status for r in responses])
        failed = runs[0].count(Status.ESME_RSYSERR)
        assert 0.17 <= failed / 2000 <= 0.23
        assert set(runs[0]) == {Status.ESME_ROK, Status.ESME_RSYSERR}
        assert runs[0] == runs[1]


async def test_latency_delays_responses_which_may_overtake(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(
            rules=(PrefixRule("44", latency=Distribution(fixed_ms=200)),)
        )
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        started = trio.current_time()
        await esme.send(
            SubmitSm(sequence=1, destination_addr="4471"),
            SubmitSm(sequence=2, destination_addr="3361"),
        )
        first = await esme.receive()
        second = await esme.receive()
        assert (first.sequence, second.sequence) == (2, 1)
        assert trio.current_time() - started >= 0.2
        await trio.testing.wait_all_tasks_blocked()
        assert simulator.statistics().submit_latency_p99_ms >= 200


async def test_window_limit_answers_queue_full(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(window_size=5, latency=Distribution(fixed_ms=100))
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        counts = statuses(await esme.submit_many(12))
        assert counts == {"ESME_ROK": 5, "ESME_RMSGQFUL": 7}
        counts = statuses(await esme.submit_many(5))
        assert counts == {"ESME_ROK": 5}


async def test_dropped_connection_is_seen_by_the_client(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        clients = [await Esme.connect(simulator.smpp_port) for _ in range(3)]
        for esme in clients:
            await esme.bind()
        assert simulator.drop_connections() == 3
        for esme in clients:
            await esme.expect_eof()
        with trio.fail_after(2):
            while simulator.statistics().connections_current:
                await trio.testing.wait_all_tasks_blocked()
        again = await Esme.connect(simulator.smpp_port)
        assert (await again.bind()).status == Status.ESME_ROK


async def test_stall_until_resume_keeps_the_connection(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        simulator.stall()
        await esme.send(EnquireLink(sequence=77))
        await trio.testing.wait_all_tasks_blocked()
        assert "enquire_link" not in simulator.statistics().pdus_in
        assert simulator.statistics().stalled
        simulator.resume()
        assert await esme.receive() == EnquireLinkResp(sequence=77)


async def test_stall_for_a_time_answers_afterwards(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        started = trio.current_time()
        simulator.stall(0.3)
        (resp,) = await esme.submit_many(1)
        assert isinstance(resp, SubmitSmResp) and resp.status == Status.ESME_ROK
        assert trio.current_time() - started >= 0.3
        assert not simulator.stalled


async def test_resubmitted_identical_message_counts_as_duplicate(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        await esme.submit_many(1, destination_addr="3360", short_message=b"same")
        await esme.submit_many(1, destination_addr="3361", short_message=b"same")
        await esme.submit_many(1, destination_addr="3360", short_message=b"other")
        await esme.submit_many(1, destination_addr="3360", short_message=b"same", source_addr="X")
        assert simulator.statistics().duplicates == 0
        await esme.submit_many(1, destination_addr="3360", short_message=b"same")
        await esme.submit_many(1, destination_addr="3360", short_message=b"same")
        assert simulator.statistics().duplicates == 2


async def test_rejected_submit_then_retry_is_not_a_duplicate(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        simulator.configure(error_rate=1.0)
        assert (await esme.submit_many(1))[0].status == Status.ESME_RSYSERR
        simulator.configure(error_rate=0.0)
        assert (await esme.submit_many(1))[0].status == Status.ESME_ROK
        assert simulator.statistics().duplicates == 0
