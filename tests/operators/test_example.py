"""`run.py --config config/examples/gabon.toml`: two connections, each served by its
own embedded simulator, route a mixed send without any real SMSC."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

import run
from config import load_settings
from tests.harness import Stack
from tests.operators.support import muldes, numbers, until_settled
from tests.stores import data_url

ROOT = Path(__file__).resolve().parents[2]


async def test_the_gabon_example_routes_through_two_embedded_simulators(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = load_settings(ROOT / "config" / "examples" / "gabon.toml", environ={
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_DATA_URL": data_url(data_dir),
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_SIMULATOR_SMPP_PORT": "0",
        "SMSGW_SIMULATOR_CONTROL_PORT": "0",
        "SMSGW_ADMIN_TOKEN": "jeton-admin-de-test",
    })
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            stop = trio.Event()
            running: run.Running = await nursery.start(run.serve, settings, stop)
            assert running.simulators is not None
            airtel, moov = running.simulators["airtel"], running.simulators["moov"]
            assert airtel.smpp_port != moov.smpp_port
            async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as client:
                stack = Stack(running, client, settings)
                _, key = await stack.new_account(solde=100)
                ref = await muldes(stack, key, numbers("24107", 3) + numbers("24106", 4))
                ended = await until_settled(stack, key, ref)
                assert {m["statut"] for m in ended} == {"ENVOYE"}
                assert len(airtel.submitted) == 3 and len(moov.submitted) == 4
                actors = (await client.get("/api/V1/admin/acteurs", headers=stack.admin)).json()
                shown = {c["nom"]: c for c in actors["connexions"]}
                assert shown["airtel"]["debit_max_par_s"] == 200 and shown["airtel"]["defaut"]
                assert shown["moov"]["soumis"] == 4 and shown["moov"]["liees"] == 2
            stop.set()
