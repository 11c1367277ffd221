"""Cost of the tracking API on a large history: what an integrator polling its sends pays.

    .venv/bin/python bench/bench_tracking.py [--recipients N] [--sends N]

One in-process gateway (run.serve, embedded simulator, empty data folder). One
account sends a MULDES of `--recipients` numbers and `--sends` UNIDES; once all
are ENVOYE, each read below is timed over several rounds through HTTP on
127.0.0.1 (median and worst, server plus client):

- GET /api/V1/sms/{ref} of the big send (aggregate counts);
- a full cursor walk of its recipients, 1,000 per page;
- one page of ?statut=ECHEC on it (nothing matches: the worst case of a filter);
- GET /api/V1/sms?limite=100 (the newest sends with their counts), and the same
  with statut=ENVOYE;
- GET /metrics.

The table is printed and appended to bench/RESULTS.md with the date and command.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import trio  # noqa: E402

import run  # noqa: E402
from config import load_settings  # noqa: E402

ROUNDS = 5


async def _timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


async def _wait(client: httpx.AsyncClient, ref: str, headers: dict[str, str]) -> None:
    """Poll the send until it leaves EN_ATTENTE (the gateway's state, read over HTTP)."""
    with trio.fail_after(600):
        while True:
            send = (await client.get(f"/api/V1/sms/{ref}", headers=headers)).json()
            if send["statut"] != "EN_ATTENTE":
                return
            await trio.sleep(0.2)


async def bench(recipients: int, sends: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            environ={
                "SMSGW_DATA_DIR": data,
                "SMSGW_HTTP_PORT": "0",
                "SMSGW_SIMULATOR_SMPP_PORT": "0",
                "SMSGW_SIMULATOR_CONTROL_PORT": "0",
                "SMSGW_ADMIN_TOKEN": "bench",
                "SMSGW_HTTP_RATE_LIMIT_PER_S": "1000000",
                "SMSGW_HTTP_RATE_LIMIT_BURST": "1000000",
                "SMSGW_LOG_LEVEL": "WARNING",
            }
        )
        stop = trio.Event()
        rows: list[tuple[str, float, float]] = []
        async with trio.open_nursery() as nursery:
            running: run.Running = await nursery.start(run.serve, settings, stop)
            async with httpx.AsyncClient(base_url=running.http_url, timeout=120) as client:
                admin = {"Authorization": "Bearer bench"}
                created = await client.post(
                    "/api/V1/admin/comptes",
                    json={"nom": "Banc", "type": "POSTPAYE", "debitMax": 100000},
                    headers=admin,
                )
                headers = {"X-API-Key": created.json()["cleApi"]["cle"]}
                numbers = [f"+2410{6 + n % 2}{n:06d}" for n in range(recipients)]
                big = await client.post(
                    "/api/V1/sms/muldes",
                    json={"emetteur": "ION-Networking", "numeros": numbers, "corps": "Banc"},
                    headers=headers,
                )
                ref = big.json()["ref"]
                last = ref
                for n in range(sends):
                    r = await client.post(
                        "/api/V1/sms/unides",
                        json={"emetteur": "Banc", "destinataire": numbers[n], "corps": "x"},
                        headers=headers,
                    )
                    last = r.json()["ref"]
                await _wait(client, ref, headers)
                await _wait(client, last, headers)

                async def walk() -> None:
                    cursor, seen = None, 0
                    while True:
                        params = {"limite": "1000"} | ({"curseur": cursor} if cursor else {})
                        page = (await client.get(f"/api/V1/sms/{ref}/messages", params=params,
                                                 headers=headers)).json()
                        seen += len(page["messages"])
                        cursor = page["curseurSuivant"]
                        if cursor is None:
                            break
                    assert seen == recipients, seen

                cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                    (f"GET /sms/{{ref}} ({recipients:,} recipients)",
                     lambda: client.get(f"/api/V1/sms/{ref}", headers=headers)),
                    (f"walk of {recipients:,} recipients, 1,000 a page", walk),
                    ("?statut=ECHEC page (no match)",
                     lambda: client.get(f"/api/V1/sms/{ref}/messages",
                                        params={"statut": "ECHEC"}, headers=headers)),
                    (f"GET /sms?limite=100 ({sends + 1:,} sends)",
                     lambda: client.get("/api/V1/sms", params={"limite": "100"}, headers=headers)),
                    ("GET /sms?limite=100&statut=ENVOYE",
                     lambda: client.get("/api/V1/sms", params={"limite": "100", "statut": "ENVOYE"},
                                        headers=headers)),
                    ("GET /metrics", lambda: client.get("/metrics")),
                ]
                for name, fn in cases:
                    median_ms, worst_ms = await _timed(fn)
                    rows.append((name, median_ms, worst_ms))
            stop.set()
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--sends", type=int, default=2_000)
    args = parser.parse_args()
    rows = trio.run(bench, args.recipients, args.sends)
    table = ["| read | median ms | worst ms |", "|---|---:|---:|"]
    table += [f"| {name} | {median:,.1f} | {worst:,.1f} |" for name, median, worst in rows]
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    command = ".venv/bin/python bench/bench_tracking.py " + shlex.join(sys.argv[1:])
    text = "\n".join(
        [
            f"## Tracking API reads on a large history ({date})",
            "",
            f"Command: `{command.strip()}`",
            "",
            f"One in-process gateway and simulator on 2 cores; {ROUNDS} rounds per read over "
            "HTTP on 127.0.0.1, after every message was ENVOYE.",
            "",
            *table,
            "",
        ]
    )
    print(text)
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write("\n" + text)


if __name__ == "__main__":
    main()
