"""The control API over HTTP, changing behaviour live."""

from __future__ import annotations

import httpx
import trio
import trio.testing

from engine.smpp.constants import Status
from engine.smpp.pdu import EnquireLink, EnquireLinkResp
from engine.text.gsm import encode_gsm7

from .conftest import StartSimulator
from .esme import Esme, statuses

DEADLINE_S = 15


def _client(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


async def test_patch_config_changes_behaviour_live(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        assert statuses(await esme.submit_many(3, destination_addr="2217")) == {"ESME_ROK": 3}
        async with _client(simulator.control_port) as http:
            reply = await http.patch(
                "/config", json={"rules": ["221=ESME_RINVDSTADR"], "error_rate": 0}
            )
            assert reply.status_code == 200
            assert reply.json()["rules"] == [{"prefix": "221", "status": "ESME_RINVDSTADR"}]
            assert (await http.get("/config")).json()["rules"][0]["prefix"] == "221"
        assert statuses(await esme.submit_many(3, destination_addr="2217")) == {
            "ESME_RINVDSTADR": 3
        }


async def test_bad_knob_values_get_422_and_change_nothing(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        async with _client(simulator.control_port) as http:
            reply = await http.patch("/config", json={"error_rate": 0.5, "window_size": -2})
            assert reply.status_code == 422
            error = reply.json()["error"]
            assert error["knob"] == "window_size" and "window_size" in error["message"]
            assert simulator.behaviour.error_rate == 0.0
            reply = await http.patch("/config", json={"latency": "uniform:9,1"})
            assert reply.status_code == 422
            reply = await http.patch("/config", content=b"{not json")
            assert reply.status_code == 400 and reply.json()["error"]["code"] == "invalid_json"
            assert (await http.get("/nowhere")).status_code == 404
            reply = await http.delete("/config")
            assert reply.status_code == 405 and "PATCH" in reply.headers["allow"]


async def test_stats_submitted_and_reset(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        await esme.submit_many(4, short_message=b"abc")
        await esme.submit_many(1, destination_addr="4470", short_message=b"xyz")
        async with _client(simulator.control_port) as http:
            stats = (await http.get("/stats")).json()
            assert stats["submit_accepted"] == 5
            assert stats["duplicates"] == 3
            assert stats["binds_current"]["transmitter"] == 1
            recent = (await http.get("/submitted", params={"limit": 2})).json()
            assert recent["total"] == 5
            assert [m["message_id"] for m in recent["messages"]] == ["4", "5"]
            assert recent["messages"][1]["text"] == "xyz"
            only = (await http.get("/submitted", params={"destination": "4470"})).json()
            assert [m["short_message_hex"] for m in only["messages"]] == [b"xyz".hex()]
            assert (await http.get("/submitted", params={"limit": "x"})).status_code == 422
            assert (await http.post("/reset")).status_code == 200
            stats = (await http.get("/stats")).json()
            assert (stats["submit_accepted"], stats["duplicates"]) == (0, 0)
            assert (await http.get("/submitted")).json()["total"] == 0


async def test_drop_stall_and_resume_over_http(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind()
        async with _client(simulator.control_port) as http:
            assert (await http.post("/stall", json={"seconds": 30})).json()["stalled"] is True
            await esme.send(EnquireLink(sequence=3))
            await trio.testing.wait_all_tasks_blocked()
            assert (await http.get("/stats")).json()["stalled"] is True
            assert (await http.post("/stall", json={"seconds": -1})).status_code == 422
            assert (await http.post("/resume")).status_code == 200
            assert await esme.receive() == EnquireLinkResp(sequence=3)
            assert (await http.post("/drop")).json() == {"dropped": 1}
        await esme.expect_eof()


async def test_seed_is_live_and_repeatable(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(error_rate=0.5)
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        runs = []
        for _ in range(2):
            simulator.configure(seed=None)
            simulator.configure(seed=5)
            runs.append([r.status for r in await esme.submit_many(200)])
        assert runs[0] == runs[1]
        assert Status.ESME_RSYSERR in runs[0]


async def test_submitted_text_decodes_gsm_and_ucs2(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transmitter")
        await esme.submit_many(1, short_message=encode_gsm7("Prix: 5€ @ l'unité"))
        await esme.submit_many(1, short_message="Привет".encode("utf-16-be"), data_coding=8)
        async with _client(simulator.control_port) as http:
            messages = (await http.get("/submitted")).json()["messages"]
        assert [m["text"] for m in messages] == ["Prix: 5€ @ l'unité", "Привет"]
