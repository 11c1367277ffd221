"""Callbacks and send options under load.

    .venv/bin/python bench/bench_callbacks.py [--recipients N] [--p1-requests N] [--no-record]

- Callbacks: one MULDES of `--recipients` with receipts, on a fresh gateway
  (`python run.py`, SQLite) bound to an SMSC simulator in its own process; the
  account's callback URL is a local receiver (a keep-alive HTTP/1.1 server in a
  third process, answering 200 at once) that counts events. Figures: seconds
  from the 202 until every STATUT and LIVRAISON event has arrived, and events
  delivered per second over that time.
- P1 with every option set against none: the P1 load of bench_gateway.py (UNIDES
  from 50 connections, 2 processes), once with plain bodies and once with
  `reference`, `urlRappel` (the local receiver), `validite`, `priorite` HAUTE and a
  `dateEnvoi` 2 s after the load starts, each on a fresh gateway.

The table is printed and appended to bench/RESULTS.md with the date and command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import shlex
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bench_gateway as bg
import httpx

ROOT = Path(__file__).resolve().parents[1]


def _receive(port: int, count: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with count.get_lock():
                count.value += len(json.loads(body)["evenements"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


class Receiver:
    def __init__(self) -> None:
        self.port = bg.free_port()
        self.count = multiprocessing.get_context("spawn").Value("q", 0)
        self.proc = multiprocessing.get_context("spawn").Process(
            target=_receive, args=(self.port, self.count), daemon=True
        )
        self.proc.start()
        self.url = f"http://127.0.0.1:{self.port}/rappels"

    def events(self) -> int:
        return int(self.count.value)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(10)


def _account(gw: bg.GatewayProcess, solde: int, url: str) -> str:
    admin = {"Authorization": f"Bearer {bg.ADMIN}"}
    r = httpx.post(gw.url + "/api/V1/admin/comptes", headers=admin, json={
        "nom": "Banc rappels", "type": "PREPAYE", "solde": solde, "debitMax": 100000})
    r.raise_for_status()
    account = r.json()
    httpx.patch(gw.url + f"/api/V1/admin/comptes/{account['id']}", headers=admin,
                json={"urlRappel": url}).raise_for_status()
    return str(account["cleApi"]["cle"])


def callbacks(sim: bg.Simulator, checkout: bg.Checkout, recipients: int) -> bg.Row:
    receiver = Receiver()
    gw = bg.GatewayProcess(sim.smpp_port, checkout, {"SMSGW_CALLBACKS_ALLOW_PRIVATE": "true"})
    try:
        key = _account(gw, recipients, receiver.url)
        numbers = [f"+24106{i:06d}" for i in range(recipients)]
        t0 = time.perf_counter()
        r = httpx.post(gw.url + "/api/V1/sms/muldes", headers={"X-API-Key": key}, timeout=120,
                       json={"emetteur": "ION-Networking", "corps": bg.BODY, "numeros": numbers})
        r.raise_for_status()
        accepted = time.perf_counter()
        sent_s = bg.wait_settled(gw.url, key) + accepted - t0
        wanted = 2 * recipients
        deadline = time.perf_counter() + 900
        while receiver.events() < wanted and time.perf_counter() < deadline:
            time.sleep(0.1)
        done = time.perf_counter() - accepted
        got = receiver.events()
        cpu_us = bg.cpu_s(gw.proc.pid) / wanted * 1e6
    finally:
        rss = gw.stop()
        receiver.stop()
    return (
        f"Callbacks, MULDES {recipients:,} with receipts, sqlite",
        f"{got / done:,.0f} events/s delivered ({got:,} of {wanted:,})",
        f"every event after {done:.1f} s from the 202",
        f"all ENVOYE after {sent_s:.1f} s; {cpu_us:.0f} µs gateway CPU an event (all work)",
        f"{rss:.0f} MB",
    )


def p1(sim: bg.Simulator, checkout: bg.Checkout, requests: int, options: bool) -> bg.Row:
    receiver = Receiver() if options else None
    extra_env = {"SMSGW_CALLBACKS_ALLOW_PRIVATE": "true"}
    gw = bg.GatewayProcess(sim.smpp_port, checkout, extra_env)
    try:
        key = gw.account(requests * 2)
        extra = ""
        if receiver is not None:
            departure = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2))
            extra = (
                f',"reference":"banc-p1","urlRappel":"{receiver.url}","validite":60,'
                f'"priorite":"HAUTE","dateEnvoi":"{departure.isoformat()}"'
            )
        c0 = bg.cpu_s(gw.proc.pid)
        f = bg.load(gw.url, key, requests, extra)
        all_sent = f["elapsed"] + bg.wait_settled(gw.url, key)
        cpu_us = (bg.cpu_s(gw.proc.pid) - c0) / requests * 1e6
    finally:
        rss = gw.stop()
        if receiver is not None:
            receiver.stop()
    label = "P1 UNIDES, 50 connections, sqlite, " + (
        "every option (reference, urlRappel, validite, priorite HAUTE, dateEnvoi +2 s)"
        if options else "no option")
    return (
        label,
        f"{f['rate']:,.0f} accepted/s{bg.failed(f)}",
        f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms",
        f"all ENVOYE after {all_sent:.1f} s; {cpu_us:.0f} µs CPU a send",
        f"{rss:.0f} MB",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--p1-requests", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    checkout = bg.Checkout.of(ROOT, True)
    sim = bg.Simulator()
    try:
        rows = [
            callbacks(sim, checkout, args.recipients),
            p1(sim, checkout, args.p1_requests, options=False),
            p1(sim, checkout, args.p1_requests, options=True),
        ]
    finally:
        sim.stop()
    table = ["| measure | rate | latency | completion | peak RSS |", "|---|---|---|---|---|"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(table)
    print(text)
    if args.no_record:
        return
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as out:
        out.write(
            f"\n## Callbacks and send options ({stamp})\n\n"
            f"Command: `{command}`\n\n"
            "Gateway (`run.py`, SQLite), SMSC simulator (`python -m smsc_sim`, receipts on), "
            "a local callback receiver (ThreadingHTTPServer, answers 200 at once) and the P1 "
            "load (2 raw-socket HTTP/1.1 processes) on 2 cores shared with other work "
            "running at the same time: the machine was loaded, the figures are lower bounds "
            "and vary from run to run. Each row on a fresh gateway and data folder. "
            f"The run took {(time.perf_counter() - started) / 60:.1f} min.\n\n{text}\n"
        )


if __name__ == "__main__":
    main()
