"""End-to-end load on the whole gateway: HTTP in, SMPP out, receipts back.

    .venv/bin/python bench/bench_gateway.py [--p1-requests N] [--p2-recipients N]

Every phase starts a fresh gateway (`python run.py`, its own process, empty data
folder) bound to an SMSC simulator in a third process (`python -m smsc_sim`, no
latency, receipts on); the load comes from two worker processes (raw keep-alive
HTTP/1.1, one write per request) and this one.

- P1: UNIDES from 50 connections (2 processes x 25): accepted per second, p50/p99
  of the 202, time until every one is ENVOYE. Beside it, in the same run and with
  the same load generator, a bare hypercorn-trio JSON endpoint (the stack's floor: it reads
  the JSON body and answers a JSON object, nothing else).
- P2: one MULDES of `--p2-recipients`: time from the request until every recipient
  is ENVOYE, messages per second end to end; once asking for delivery receipts
  (the default) and once without (`registered_delivery` off), on fresh gateways.
- P3: account A's MULDES draining while account B sends one UNIDES every 50 ms:
  B's accept -> ENVOYE (server times: the send's `creeLe` to the message's
  `envoyeLe`, millisecond resolution), p50/p99.
- Peak RSS (VmHWM) of the gateway process after each phase; CPU time (all
  threads) of the floor, the gateway and the simulator per request or message.
- `--variant SMSGW_NAME=VALUE` (repeatable): one more P1 row and P2 row (receipts
  on), in the same run, on a gateway with one more setting: variants side by side.

The table is printed and appended to bench/RESULTS.md with the date and command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import trio  # noqa: E402

ADMIN = "jeton-admin-bench"
BODY = "Votre code de confirmation est 4242."
CONNECTIONS = 50
ENGINE_ENV: dict[str, str] = {}
"""SMSGW_* settings given to every gateway of the run (`--set`)."""
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {within_s} s")


class Simulator:
    def __init__(self) -> None:
        self.smpp_port, self.control_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smsc_sim", "--smpp-port", str(self.smpp_port),
             "--control-port", str(self.control_port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(f"http://127.0.0.1:{self.control_port}/stats")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class GatewayProcess:
    def __init__(self, smpp_port: int, extra: dict[str, str] | None = None) -> None:
        self.data = tempfile.mkdtemp(prefix="smsgw-bench-")
        self.port = free_port()
        env = {
            **os.environ,
            "SMSGW_DATA_DIR": self.data,
            "SMSGW_HTTP_PORT": str(self.port),
            "SMSGW_ADMIN_TOKEN": ADMIN,
            "SMSGW_SIMULATOR_ENABLED": "false",
            "SMSGW_SMSC_HOST": "127.0.0.1",
            "SMSGW_SMSC_PORT": str(smpp_port),
            "SMSGW_HTTP_RATE_LIMIT_PER_S": "1000000",
            "SMSGW_HTTP_RATE_LIMIT_BURST": "1000000",
            "SMSGW_LOG_LEVEL": "WARNING",
            **ENGINE_ENV,
            **(extra or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "run.py"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/api/V1/sante")

    def account(self, solde: int) -> str:
        r = httpx.post(
            self.url + "/api/V1/admin/comptes",
            json={"nom": "Banc d'essai", "type": "PREPAYE", "solde": solde, "debitMax": 100000},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        r.raise_for_status()
        return str(r.json()["cleApi"]["cle"])

    def stop(self) -> float:
        rss = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(30)
        return rss


# -- the bare floor ----------------------------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    request = json.loads(b"".join(chunks) or b"{}")  # a JSON endpoint reads its JSON
    body = json.dumps({"ref": "000001", "type": "UNIDES", "statut": "EN_ATTENTE",
                       "destinataire": request.get("destinataire")}).encode()
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def serve_bare(port: int) -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    trio.run(serve, bare_app, config)  # type: ignore[arg-type]


# -- load ---------------------------------------------------------------------------------


def _load_worker(args: tuple[str, str, int, int, int]) -> tuple[list[float], int, float]:
    """Keep-alive HTTP/1.1 over raw sockets, each request in one write (no Nagle
    stall between headers and body), `connections` at once."""
    url, key, requests, connections, offset = args
    host, port = url.removeprefix("http://").split(":")

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        failures = 0
        counter = iter(range(requests))
        started = time.perf_counter()

        async def one_connection() -> None:
            nonlocal failures
            stream = await trio.open_tcp_stream(host, int(port))
            buffer = b""
            async with stream:
                for n in counter:
                    body = (
                        '{"emetteur":"ION-Networking","corps":"%s","destinataire":"+24106%06d"}'
                        % (BODY, offset + n)
                    ).encode()
                    request = (
                        f"POST /api/V1/sms/unides HTTP/1.1\r\nHost: {host}\r\n"
                        f"Content-Type: application/json\r\nX-API-Key: {key}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                    t0 = time.perf_counter()
                    await stream.send_all(request)
                    while b"\r\n\r\n" not in buffer:
                        buffer += await stream.receive_some(65536)
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        buffer += await stream.receive_some(65536)
                    buffer = buffer[length:]
                    latencies.append(time.perf_counter() - t0)
                    failures += not head.startswith(b"HTTP/1.1 202")

        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(one_connection)
        return latencies, failures, time.perf_counter() - started

    return trio.run(main)


def load(url: str, key: str, total: int) -> dict[str, float]:
    per = total // WORKERS
    jobs = [(url, key, per, CONNECTIONS // WORKERS, i * per) for i in range(WORKERS)]
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        results = pool.map(_load_worker, jobs)
    elapsed = max(e for _, _, e in results)
    latencies = sorted(x for lat, _, _ in results for x in lat)
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "failures": sum(f for _, f, _ in results),
        "elapsed": elapsed,
    }


def wait_settled(url: str, key: str, within_s: float = 600.0) -> float:
    """Seconds until the account has nothing reserved (every message ended).

    The account's books come from its actor, so polling them every 50 ms costs
    the gateway next to nothing; counting a 100,000-recipient send's statuses
    (GET /sms/{ref}) takes ~150 ms of a reader thread and would eat a third of a
    core when polled that often."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < within_s:
        books = httpx.get(url + "/api/V1/compte", headers={"X-API-Key": key}).json()
        if books["reserve"] == 0:
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise RuntimeError("messages did not end in time")


def muldes(url: str, key: str, count: int, start: int = 0) -> str:
    numbers = [f"+24106{start + i:06d}" for i in range(count)]
    r = httpx.post(url + "/api/V1/sms/muldes", headers={"X-API-Key": key}, timeout=300,
                   json={"emetteur": "ION-Networking", "corps": BODY, "numeros": numbers})
    r.raise_for_status()
    return str(r.json()["ref"])


def ms(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


# -- phases -------------------------------------------------------------------------------


def p1_gateway(sim: Simulator, requests: int, extra: dict[str, str] | None = None) -> dict[str, Any]:
    gw = GatewayProcess(sim.smpp_port, extra)
    key = gw.account(requests * 2)
    c0, s0 = cpu_s(gw.proc.pid), cpu_s(sim.proc.pid)
    stack = load(gw.url, key, requests)
    stack["all_sent_s"] = stack["elapsed"] + wait_settled(gw.url, key)
    stack["cpu_us"] = (cpu_s(gw.proc.pid) - c0) / requests * 1e6
    stack["sim_cpu_us"] = (cpu_s(sim.proc.pid) - s0) / requests * 1e6
    stack["rss"] = gw.stop()
    return stack


def phase_p1(sim: Simulator, requests: int, variants: list[str]) -> dict[str, Any]:
    """The floor, the gateway with the run's settings, then the gateway with each
    variant (one more SMSGW_NAME=VALUE setting), one after the other in this run."""
    port = free_port()
    bare = multiprocessing.get_context("spawn").Process(target=serve_bare, args=(port,))
    bare.start()
    wait_http(f"http://127.0.0.1:{port}/")
    assert bare.pid is not None
    c0 = cpu_s(bare.pid)
    floor = load(f"http://127.0.0.1:{port}", "-", requests)
    floor["cpu_us"] = (cpu_s(bare.pid) - c0) / requests * 1e6
    bare.terminate()
    bare.join()
    stacks = [("", p1_gateway(sim, requests))]
    for variant in variants:
        name, value = variant.split("=", 1)
        stacks.append((variant, p1_gateway(sim, requests, {name: value})))
    return {"floor": floor, "stacks": stacks}


def phase_p2(
    sim: Simulator, recipients: int, receipts: bool = True, variant: dict[str, str] | None = None
) -> dict[str, Any]:
    extra = {} if receipts else {"SMSGW_SMSC_REGISTERED_DELIVERY": "false"}
    extra.update(variant or {})
    gw = GatewayProcess(sim.smpp_port, extra)
    key = gw.account(recipients)
    c0, s0 = cpu_s(gw.proc.pid), cpu_s(sim.proc.pid)
    t0 = time.perf_counter()
    ref = muldes(gw.url, key, recipients)
    accepted_s = time.perf_counter() - t0
    total_s = accepted_s + wait_settled(gw.url, key)
    cpu_us = (cpu_s(gw.proc.pid) - c0) / recipients * 1e6
    sim_cpu_us = (cpu_s(sim.proc.pid) - s0) / recipients * 1e6
    view = httpx.get(gw.url + f"/api/V1/sms/{ref}", headers={"X-API-Key": key}).json()
    assert view["compteurs"]["ENVOYE"] == recipients, view
    rss = gw.stop()
    return {"accepted_s": accepted_s, "total_s": total_s, "rate": recipients / total_s, "rss": rss,
            "cpu_us": cpu_us, "sim_cpu_us": sim_cpu_us}


def phase_p3(sim: Simulator, recipients: int) -> dict[str, Any]:
    gw = GatewayProcess(sim.smpp_port)
    key_a, key_b = gw.account(recipients), gw.account(10_000)
    with httpx.Client(base_url=gw.url, headers={"X-API-Key": key_b}) as client:
        muldes(gw.url, key_a, recipients)
        refs: list[str] = []
        next_at = time.perf_counter()
        while True:
            books = client.get("/api/V1/compte", headers={"X-API-Key": key_a}).json()
            if books["reserve"] == 0:
                break
            next_at += 0.05
            r = client.post("/api/V1/sms/unides", json={
                "emetteur": "ION-Networking", "corps": BODY,
                "destinataire": f"+24107{len(refs):06d}"})
            refs.append(r.json()["ref"])
            time.sleep(max(0.0, next_at - time.perf_counter()))
        wait_settled(gw.url, key_b)
        delays = []
        for ref in refs:
            send = client.get(f"/api/V1/sms/{ref}").json()
            message = client.get(f"/api/V1/sms/{ref}/messages").json()["messages"][0]
            delays.append(ms(message["envoyeLe"]) - ms(send["creeLe"]))
    rss = gw.stop()
    delays.sort()
    return {
        "b_sends": len(delays),
        "p50_ms": delays[len(delays) // 2],
        "p99_ms": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "rss": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--p1-requests", type=int, default=20_000,
                        help="UNIDES in P1 (default 20,000, ~10 s: the steady state, past "
                        "each bind's probe and the first loads of number metadata)")
    parser.add_argument("--p2-recipients", type=int, default=100_000)
    parser.add_argument("--phases", default="p1,p2,p3",
                        help="comma-separated phases to run (p1, p2, p3; default all)")
    parser.add_argument("--variant", action="append", default=[], metavar="SMSGW_NAME=VALUE",
                        help="one more P1 row and P2 row (receipts on), in the same run, on a "
                        "gateway with this one more setting (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="SMSGW_NAME=VALUE",
                        help="a setting for the gateways (e.g. SMSGW_ENGINE_DISPATCH_QUEUE=256)")
    args = parser.parse_args()
    ENGINE_ENV.update(item.split("=", 1) for item in args.set)
    phases = set(args.phases.split(","))
    rows: list[tuple[str, str, str, str, str]] = []
    sim = Simulator()
    try:
        if "p1" in phases:
            p1 = phase_p1(sim, args.p1_requests, args.variant)
            f = p1["floor"]
            rows.append(("P1 bare hypercorn-trio JSON (floor)", f"{f['rate']:,.0f} req/s",
                         f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms",
                         f"{f['cpu_us']:.0f} µs CPU a request", ""))
            for variant, s in p1["stacks"]:
                rows.append((
                    "P1 UNIDES, 50 connections" + (f", {variant}" if variant else ""),
                    f"{s['rate']:,.0f} accepted/s "
                    f"({100 * s['rate'] / f['rate']:.0f}% of floor; goal 85%)",
                    f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms",
                    f"all ENVOYE after {s['all_sent_s']:.1f} s; {s['cpu_us']:.0f} µs CPU a "
                    f"send (+{s['sim_cpu_us']:.0f} simulator)", f"{s['rss']:.0f} MB"))
        if "p2" in phases:
            runs = [(True, ""), (False, "")] + [(True, v) for v in args.variant]
            for receipts, variant in runs:
                name, _, value = variant.partition("=")
                p2 = phase_p2(sim, args.p2_recipients, receipts, {name: value} if variant else None)
                rows.append((
                    f"P2 MULDES {args.p2_recipients:,}, receipts {'on' if receipts else 'off'}"
                    + (f", {variant}" if variant else ""),
                    f"{p2['rate']:,.0f} msg/s end to end (goal 10,000)",
                    f"202 after {p2['accepted_s']:.2f} s",
                    f"all ENVOYE after {p2['total_s']:.1f} s; {p2['cpu_us']:.0f} µs CPU a "
                    f"message (+{p2['sim_cpu_us']:.0f} simulator)", f"{p2['rss']:.0f} MB",
                ))
        if "p3" in phases:
            p3 = phase_p3(sim, args.p2_recipients)
            rows.append((
                f"P3 B's UNIDES at 20/s beside A's {args.p2_recipients:,}",
                f"{p3['b_sends']} sends", f"accept->ENVOYE p50 {p3['p50_ms']:.0f} ms, "
                f"p99 {p3['p99_ms']:.0f} ms (goal 250)", "", f"{p3['rss']:.0f} MB",
            ))
    finally:
        sim.stop()
    header = "| phase | rate | latency | completion | peak RSS |\n|---|---|---|---|---|\n"
    table = header + "".join(f"| {' | '.join(r)} |\n" for r in rows)
    print(table)
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    command = ".venv/bin/python bench/bench_gateway.py " + shlex.join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write(
            f"\n## Gateway end to end ({date})\n\nCommand: `{command.strip()}`\n\n"
            "Gateway (`run.py`), SMSC simulator (`python -m smsc_sim`, receipts when asked) and "
            f"the load ({WORKERS} raw-socket HTTP/1.1 processes) on 2 cores; each phase on a "
            "fresh gateway and data folder; settings: "
            + (", ".join(args.set) or "defaults") + ".\n\n" + table
        )


if __name__ == "__main__":
    main()
