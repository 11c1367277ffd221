"""What a gateway loads: the PostgreSQL driver only for a PostgreSQL store, the HTTP
client only for callbacks or a cluster's relay.

Each gateway runs in a fresh interpreter (started by the same `run.serve` as
production, the embedded simulator on, port 0), takes one single send over HTTP
(the standard library's client, so the check itself loads nothing) and reports
which of those libraries are in `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.stores import ON_POSTGRES, data_url

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys, urllib.request
import trio
import run
from config import load_settings

LIBRARIES = ("psycopg", "httpx", "swagger_ui", "yaml")

async def main(environ):
    settings = load_settings(environ=environ)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running = await nursery.start(run.serve, settings, stop)
        at_start = sorted(m for m in LIBRARIES if m in sys.modules)

        def send():
            body = {"emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": "Bonjour"}
            request = urllib.request.Request(
                running.http_url + "/api/V1/sms/unides", data=json.dumps(body).encode(),
                headers={"X-API-Key": running.demo_key, "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status

        status = await trio.to_thread.run_sync(send)
        after_send = sorted(m for m in LIBRARIES if m in sys.modules)
        stop.set()
    print(json.dumps({"status": status, "at_start": at_start, "after_send": after_send}))

trio.run(main, json.loads(sys.argv[1]))
"""


def loaded_by_a_gateway(data_dir: Path, url: str) -> dict[str, object]:
    environ = {
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_DATA_URL": url,
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_SIMULATOR_SMPP_PORT": "0",
        "SMSGW_SIMULATOR_CONTROL_PORT": "0",
        "SMSGW_ADMIN_TOKEN": "jeton-admin-de-test",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", CHILD, json.dumps(environ)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_sqlite_gateway_loads_neither_the_postgresql_driver_nor_the_http_client(
    tmp_path: Path,
) -> None:
    loaded = loaded_by_a_gateway(tmp_path / "data", "")
    assert loaded == {"status": 202, "at_start": [], "after_send": []}


def test_a_gateway_on_the_suites_store_loads_its_driver_only_and_not_the_http_client(
    tmp_path: Path,
) -> None:
    loaded = loaded_by_a_gateway(tmp_path / "data", data_url(tmp_path / "data"))
    drivers = ["psycopg"] if ON_POSTGRES else []
    assert loaded == {"status": 202, "at_start": drivers, "after_send": drivers}
