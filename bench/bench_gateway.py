"""End-to-end load on the whole gateway: HTTP in, SMPP out, receipts back.

    .venv/bin/python bench/bench_gateway.py [--p1-requests N] [--p2-recipients N]
        [--phases p1,p2,p3] [--stores sqlite,postgresql] [--baseline PATH [--rounds N]]
        [--no-record]

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
- P2-operators (`--phases p2ops`): one MULDES of `--p2-recipients` mixed numbers
  (half Moov +24106..., half Airtel +24107...), receipts on, through one connection
  (one simulator, 2 binds), then through two named connections routed by prefix
  (a second simulator process, 2 binds each), in the same run.
- P3: account A's MULDES draining while account B sends one UNIDES every 50 ms:
  B's accept -> ENVOYE (server times: the send's `creeLe` to the message's
  `envoyeLe`, millisecond resolution), p50/p99.
- Peak RSS (VmHWM) of the gateway process after each phase; CPU time (all
  threads) of the floor, the gateway and the simulator per request or message.
- `--variant SMSGW_NAME=VALUE` (repeatable): one more P1 row and P2 row (receipts
  on), in the same run, on a gateway with one more setting: variants side by side
  (one per store backend with `--stores`).
- `--stores sqlite,postgresql` (default `sqlite`): every selected phase once per store
  backend, in the same run, rows labelled with the backend. For PostgreSQL the run
  starts one throwaway server (`tests/pg.py`: initdb and pg_ctl in a temporary
  folder, a free port, PostgreSQL's own durability defaults: fsync on,
  synchronous_commit on; checked at start) and gives every gateway a fresh empty
  database (`CREATE DATABASE bench_N`, dropped when the gateway stops), as it gives
  every gateway a fresh data folder. P2 then runs with receipts only.
- `--baseline PATH`: another checkout of the product (e.g. `git worktree add
  /tmp/bench-base <commit>`), measured in the same run beside this one: each
  selected phase runs a gateway from PATH (`run.py` with PATH as its cwd and first
  on PYTHONPATH, this venv's python) and one from this tree, one after the other,
  with the same simulator and load. Rows are labelled with each checkout's short
  commit (this tree is `HEAD`, `HEAD+changes` when it has uncommitted changes).
  P2 then runs with receipts only (`--p2-receipts both` adds the rows without).
  With `--stores` too, the rows name the checkout and the backend, and the baseline
  must have the PostgreSQL store when `postgresql` is selected.
- `--rounds N`: every phase N times, the order of the gateways reversed every other
  round (the baseline first in odd rounds); a row per round, then the median.

The table is printed and appended to bench/RESULTS.md with the date and command
(`--no-record`: printed only).
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
SQLITE, POSTGRESQL = "sqlite", "postgresql"
STORES = (SQLITE, POSTGRESQL)

Figures = dict[str, float]
"""What one measurement of a phase gives, by name (rates, latencies, seconds, MB)."""
Row = tuple[str, str, str, str, str]
"""One line of the table: phase, rate, latency, completion, peak RSS."""
Format = Callable[[str, Figures], Row]
"""Turns a row's label and its figures into the row."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, within_s: float = 30.0) -> None:
    """Wait until `url` answers with anything but a server error."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {within_s} s")


def progress(text: str) -> None:
    """A line on stderr, so a long run shows where it is."""
    print(text, file=sys.stderr, flush=True)


# -- checkouts ----------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    """The output of one git command run in `root`."""
    done = subprocess.run(  # noqa: S603 (git, fixed arguments)
        ["git", "-C", str(root), *args],  # noqa: S607 (the git on PATH)
        capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


@dataclass(frozen=True)
class Checkout:
    """A tree of the product whose `run.py` the gateways of a row run."""

    root: Path
    label: str
    """`HEAD` for this tree, the short commit for another; `+changes` when dirty."""
    commit: str

    @classmethod
    def of(cls, root: Path, this: bool) -> Checkout:
        """Read the commit and the state of the tree at `root`."""
        commit = git(root, "rev-parse", "--short", "HEAD")
        dirty = bool(git(root, "status", "--porcelain"))
        return cls(root, ("HEAD" if this else commit) + ("+changes" if dirty else ""), commit)

    def env(self) -> dict[str, str]:
        """This process's environment with the checkout first on PYTHONPATH."""
        path = [str(self.root), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}

    def verify(self) -> None:
        """Fail unless the product's packages import from this tree (and not from
        the tree this venv installed in editable mode)."""
        probe = "import api, config, engine; print(api.__file__, config.__file__, engine.__file__)"
        done = subprocess.run(  # noqa: S603 (this venv's python, a fixed snippet)
            [sys.executable, "-c", probe], cwd=self.root, env=self.env(),
            capture_output=True, text=True, check=True,
        )
        for module_file in done.stdout.split():
            if not Path(module_file).resolve().is_relative_to(self.root):
                raise SystemExit(f"{self.root}: the gateway would import {module_file}")

    def has_postgres(self) -> bool:
        """Whether this checkout's store can run on PostgreSQL (`SMSGW_DATA_URL`)."""
        return (self.root / "engine" / "store" / "postgres.py").is_file()


@dataclass(frozen=True)
class Labels:
    """What the rows of a run name beyond the phase: the checkout (with
    `--baseline`), the store backend (with `--stores` other than SQLite alone)."""

    checkout: bool = False
    store: bool = False


@dataclass(frozen=True)
class Stack:
    """One gateway the run measures: a checkout, a store backend, and one more
    setting or none."""

    checkout: Checkout
    variant: str = ""
    """`SMSGW_NAME=VALUE` (from `--variant`) or empty."""
    store: str = SQLITE
    """`sqlite` (a fresh data folder) or `postgresql` (a fresh database too)."""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def make(cls, checkout: Checkout, variant: str = "", store: str = SQLITE) -> Stack:
        """The stack for `checkout` with `variant` (a `SMSGW_NAME=VALUE` or nothing)
        on `store`."""
        name, _, value = variant.partition("=")
        return cls(checkout, variant, store, {name: value} if variant else {})

    def suffix(self, labels: Labels) -> str:
        """What the rows of this stack add to the phase's name."""
        parts = ([self.checkout.label] if labels.checkout else []) + (
            [self.store] if labels.store else []) + ([self.variant] if self.variant else [])
        return "".join(f", {part}" for part in parts)


# -- processes ----------------------------------------------------------------------------


class Simulator:
    """`python -m smsc_sim` from this tree, shared by every gateway of the run."""

    def __init__(self, first_message_id: int | None = None) -> None:
        """`first_message_id` apart from another simulator's: receipts are matched by
        message id whatever the connection."""
        self.smpp_port, self.control_port = free_port(), free_port()
        first = ["--first-message-id", str(first_message_id)] if first_message_id else []
        self.proc = subprocess.Popen(  # noqa: S603 (this venv's python, fixed arguments)
            [sys.executable, "-m", "smsc_sim", "--smpp-port", str(self.smpp_port),
             "--control-port", str(self.control_port), *first],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(f"http://127.0.0.1:{self.control_port}/stats")

    def stop(self) -> None:
        """Stop the simulator."""
        self.proc.terminate()
        self.proc.wait(10)



def durable_server(dsn: str) -> str:
    """The PostgreSQL server's version and durability settings, for the record;
    stops the bench when commits would not reach the disk."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as admin:
        shown = {name: str(admin.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                 for name in ("server_version", "fsync", "synchronous_commit",
                              "full_page_writes", "wal_sync_method", "shared_buffers")}
    if shown["fsync"] != "on" or shown["synchronous_commit"] != "on":
        raise SystemExit(f"the bench's PostgreSQL server is not durable: {shown}")
    return (f"PostgreSQL {shown['server_version'].split()[0]} (fsync {shown['fsync']}, "
            f"synchronous_commit {shown['synchronous_commit']}, full_page_writes "
            f"{shown['full_page_writes']}, wal_sync_method {shown['wal_sync_method']}, "
            f"shared_buffers {shown['shared_buffers']})")

class Postgres:
    """The run's throwaway PostgreSQL server (`tests.pg.running_postgres`), started
    on first use with PostgreSQL's own defaults, one fresh database per gateway."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._dsn = ""
        self._count = 0
        self.about = ""
        """The server's version and durability settings, for the record."""

    def _server(self) -> str:
        if not self._dsn:

            from tests.pg import running_postgres

            self._dsn = self._stack.enter_context(running_postgres())
            self.about = durable_server(self._dsn)
            progress(f"started {self.about}")
        return self._dsn

    def fresh(self) -> tuple[str, str]:
        """A new empty database: its name and its `SMSGW_DATA_URL`."""
        import psycopg

        dsn = self._server()
        self._count += 1
        name = f"bench_{self._count}"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return name, dsn.rsplit("/", 1)[0] + "/" + name

    def drop(self, name: str) -> None:
        """Drop a database whose gateway has stopped."""
        import psycopg

        with psycopg.connect(self._server(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server (if it was started) and delete its folder."""
        self._stack.close()
        self._dsn = ""


POSTGRES = Postgres()


class GatewayProcess:
    """`python run.py` of a checkout (its cwd, first on PYTHONPATH) on an empty data
    folder (and, on PostgreSQL, an empty database), bound to the simulator."""

    def __init__(
        self, smpp_port: int, checkout: Checkout, extra: dict[str, str] | None = None,
        store: str = SQLITE, config: Path | None = None,
    ) -> None:
        self.data = tempfile.mkdtemp(prefix="smsgw-bench-")
        self.database, url = POSTGRES.fresh() if store == POSTGRESQL else ("", "")
        self.port = free_port()
        env = {
            **checkout.env(),
            "SMSGW_DATA_DIR": self.data,
            "SMSGW_DATA_URL": url,
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
            [sys.executable, "run.py", *(["--config", str(config)] if config else [])],
            cwd=checkout.root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_http(self.url + "/api/V1/sante")

    def account(self, solde: int) -> str:
        """A new prepaid account with `solde` credit; its API key."""
        r = httpx.post(
            self.url + "/api/V1/admin/comptes",
            json={"nom": "Banc d'essai", "type": "PREPAYE", "solde": solde, "debitMax": 100000},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        r.raise_for_status()
        return str(r.json()["cleApi"]["cle"])

    def stop(self) -> float:
        """Stop the gateway and remove its data folder (and database); its peak RSS
        in MB."""
        rss = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.data, ignore_errors=True)
        if self.database:
            POSTGRES.drop(self.database)
        return rss


# -- the bare floor ----------------------------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: an ASGI app that reads a JSON body and answers a small JSON object."""
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
    """Serve `bare_app` with hypercorn-trio on 127.0.0.1:`port` (a process of its own)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    trio.run(serve, bare_app, config)  # type: ignore[arg-type]


# -- load ---------------------------------------------------------------------------------


async def _received(stream: trio.SocketStream) -> bytes:
    data = await stream.receive_some(65536)
    if not data:
        raise ConnectionError("the gateway closed the connection before answering")
    return bytes(data)


def _load_worker(args: tuple[str, str, int, int, int, str]) -> tuple[list[float], int, float]:
    """Keep-alive HTTP/1.1 over raw sockets, each request in one write (no Nagle
    stall between headers and body), `connections` at once; `extra`: more JSON
    fields for every body (send options), empty for none."""
    url, key, requests, connections, offset, extra = args
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
            try:
                for n in counter:
                    body = (
                        f'{{"emetteur":"ION-Networking","corps":"{BODY}",'
                        f'"destinataire":"+24106{offset + n:06d}"{extra}}}'
                    ).encode()
                    request = (
                        f"POST /api/V1/sms/unides HTTP/1.1\r\nHost: {host}\r\n"
                        f"Content-Type: application/json\r\nX-API-Key: {key}\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                    t0 = time.perf_counter()
                    await stream.send_all(request)
                    while b"\r\n\r\n" not in buffer:
                        buffer += await _received(stream)
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length, close = 0, False
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        name = name.strip().lower()
                        if name == b"content-length":
                            length = int(value)
                        elif name == b"connection" and value.strip().lower() == b"close":
                            close = True
                    while len(buffer) < length:
                        buffer += await _received(stream)
                    buffer = buffer[length:]
                    latencies.append(time.perf_counter() - t0)
                    failures += not head.startswith(b"HTTP/1.1 202")
                    if close:  # the server's last answer on this connection (its
                        # keep-alive request limit): go on over a new one
                        await stream.aclose()
                        stream = await trio.open_tcp_stream(host, int(port))
                        buffer = b""
            finally:
                await stream.aclose()

        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(one_connection)
        return latencies, failures, time.perf_counter() - started

    return trio.run(main)


def load(url: str, key: str, total: int, extra: str = "") -> Figures:
    """`total` UNIDES to `url` from the worker processes: rate, p50/p99, failures;
    `extra` (",\"name\":value...") adds fields to every body."""
    per = total // WORKERS
    return run_workers(
        [(url, key, per, CONNECTIONS // WORKERS, i * per, extra) for i in range(WORKERS)]
    )


def run_workers(jobs: list[tuple[str, str, int, int, int, str]]) -> Figures:
    """Run `_load_worker` jobs, one process each, all at once: rate, p50/p99,
    failures, elapsed."""
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
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


def muldes(url: str, key: str, count: int, start: int = 0, mixed: bool = False) -> str:
    """One MULDES to `count` numbers (Moov's, or Moov's and Airtel's in turn when
    `mixed`); its reference."""
    numbers = [f"+24106{start + i:06d}" for i in range(count)]
    if mixed:
        numbers = [f"+2410{7 if i % 2 else 6}{start + i:06d}" for i in range(count)]
    r = httpx.post(url + "/api/V1/sms/muldes", headers={"X-API-Key": key}, timeout=300,
                   json={"emetteur": "ION-Networking", "corps": BODY, "numeros": numbers})
    r.raise_for_status()
    return str(r.json()["ref"])


def ms(text: str) -> float:
    """An ISO 8601 timestamp of the API in milliseconds since the epoch."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


# -- rounds -------------------------------------------------------------------------------


T = TypeVar("T")


@dataclass(frozen=True)
class Measured:
    """One measurement of a phase: its round (from 0), its row's label and format."""

    round: int
    label: str
    fmt: Format
    figures: Figures


def in_turn(items: Sequence[T], round_no: int) -> list[T]:
    """`items` in their order in the first round, reversed in the second, and so on."""
    return list(items) if round_no % 2 == 0 else list(reversed(items))


def run_rounds(
    configs: Sequence[T], rounds: int, label: Callable[[T], str], fmt: Format,
    measure: Callable[[T], Figures],
) -> list[Measured]:
    """Measure every configuration once a round, in turn (see `in_turn`)."""
    measured = []
    for round_no in range(rounds):
        for config in in_turn(configs, round_no):
            name = label(config)
            progress(f"round {round_no + 1} of {rounds}: {name}")
            measured.append(Measured(round_no, name, fmt, measure(config)))
    return measured


def median(runs: Sequence[Figures]) -> Figures:
    """The median of every figure over the runs."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def table_rows(measured: Sequence[Measured], rounds: int) -> list[Row]:
    """A row per measurement, in the order measured; with several rounds each names
    its round, then one median row per label (in the order of the first round)."""
    if rounds == 1:
        return [m.fmt(m.label, m.figures) for m in measured]
    rows = [m.fmt(f"{m.label}, round {m.round + 1}", m.figures) for m in measured]
    formats: dict[str, Format] = {}
    for m in measured:
        formats.setdefault(m.label, m.fmt)
    for label, fmt in formats.items():
        runs = [m.figures for m in measured if m.label == label]
        rows.append(fmt(f"{label}, median of {len(runs)}", median(runs)))
    return rows


def failed(figures: Figures) -> str:
    """A note on requests not answered 202, if any."""
    failures = figures.get("failures", 0)
    return f", {failures:,.0f} not 202" if failures else ""


# -- phases -------------------------------------------------------------------------------


FLOOR = "P1 bare hypercorn-trio JSON (floor)"


def p1_floor(requests: int) -> Figures:
    """The P1 load against the bare hypercorn-trio endpoint, in a process of its own."""
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
    return floor


def p1_gateway(sim: Simulator, requests: int, stack: Stack) -> Figures:
    """The P1 load against a fresh gateway, until every send is ENVOYE."""
    gw = GatewayProcess(sim.smpp_port, stack.checkout, stack.extra, stack.store)
    key = gw.account(requests * 2)
    c0, s0 = cpu_s(gw.proc.pid), cpu_s(sim.proc.pid)
    stack_figures = load(gw.url, key, requests)
    stack_figures["all_sent_s"] = stack_figures["elapsed"] + wait_settled(gw.url, key)
    stack_figures["cpu_us"] = (cpu_s(gw.proc.pid) - c0) / requests * 1e6
    stack_figures["sim_cpu_us"] = (cpu_s(sim.proc.pid) - s0) / requests * 1e6
    stack_figures["rss"] = gw.stop()
    return stack_figures


def floor_row(label: str, f: Figures) -> Row:
    """The row of a floor measurement."""
    return (label, f"{f['rate']:,.0f} req/s{failed(f)}",
            f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms",
            f"{f['cpu_us']:.0f} µs CPU a request", "")


def p1_row(label: str, s: Figures) -> Row:
    """The row of a P1 gateway measurement."""
    return (label, f"{s['rate']:,.0f} accepted/s ({s['floor_pct']:.0f}% of floor; goal 85%){failed(s)}",
            f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms",
            f"all ENVOYE after {s['all_sent_s']:.1f} s; {s['cpu_us']:.0f} µs CPU a "
            f"send (+{s['sim_cpu_us']:.0f} simulator)", f"{s['rss']:.0f} MB")


def phase_p1(
    sim: Simulator, requests: int, stacks: Sequence[Stack], rounds: int, labels: Labels
) -> list[Measured]:
    """The floor and each gateway, one after the other in this run; each gateway's
    rate is also given as a share of the floor measured in the same round."""
    configs: list[Stack | None] = [None, *stacks]
    measured = run_rounds(
        configs, rounds,
        lambda stack: "P1 UNIDES, 50 connections" + stack.suffix(labels) if stack else FLOOR,
        p1_row,
        lambda stack: p1_gateway(sim, requests, stack) if stack else p1_floor(requests),
    )
    floors = {m.round: m.figures["rate"] for m in measured if m.label == FLOOR}
    for m in measured:
        m.figures["floor_pct"] = 100 * m.figures["rate"] / floors[m.round]
    return [Measured(m.round, m.label, floor_row if m.label == FLOOR else p1_row, m.figures)
            for m in measured]


def phase_p2(sim: Simulator, recipients: int, stack: Stack, receipts: bool = True) -> Figures:
    """One MULDES to `recipients` on a fresh gateway, until every message is ENVOYE."""
    extra = {} if receipts else {"SMSGW_SMSC_REGISTERED_DELIVERY": "false"}
    extra.update(stack.extra)
    gw = GatewayProcess(sim.smpp_port, stack.checkout, extra, stack.store)
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


def p2_row(label: str, p2: Figures) -> Row:
    """The row of a P2 measurement."""
    return (label, f"{p2['rate']:,.0f} msg/s end to end (goal 10,000)",
            f"202 after {p2['accepted_s']:.2f} s",
            f"all ENVOYE after {p2['total_s']:.1f} s; {p2['cpu_us']:.0f} µs CPU a "
            f"message (+{p2['sim_cpu_us']:.0f} simulator)", f"{p2['rss']:.0f} MB")


def phase_p2_operators(
    sims: Sequence[Simulator], recipients: int, stack: Stack
) -> Figures:
    """One MULDES of mixed numbers, through one connection (one simulator) or two
    named connections routed by prefix (one simulator each)."""
    config: Path | None = None
    if len(sims) == 2:
        config = Path(tempfile.mkdtemp(prefix="smsgw-bench-")) / "operateurs.toml"
        config.write_text(
            f'[smsc.connections.moov]\nhost = "127.0.0.1"\nport = {sims[0].smpp_port}\n'
            'prefixes = ["24106"]\n'
            f'[smsc.connections.airtel]\nhost = "127.0.0.1"\nport = {sims[1].smpp_port}\n'
            'prefixes = ["24107"]\n[routing]\ndefault = "moov"\n'
        )
    gw = GatewayProcess(sims[0].smpp_port, stack.checkout, stack.extra, stack.store, config)
    key = gw.account(recipients)
    c0 = cpu_s(gw.proc.pid)
    s0 = sum(cpu_s(sim.proc.pid) for sim in sims)
    t0 = time.perf_counter()
    ref = muldes(gw.url, key, recipients, mixed=True)
    accepted_s = time.perf_counter() - t0
    total_s = accepted_s + wait_settled(gw.url, key)
    cpu_us = (cpu_s(gw.proc.pid) - c0) / recipients * 1e6
    sim_cpu_us = (sum(cpu_s(sim.proc.pid) for sim in sims) - s0) / recipients * 1e6
    view = httpx.get(gw.url + f"/api/V1/sms/{ref}", headers={"X-API-Key": key}).json()
    assert view["compteurs"]["ENVOYE"] == recipients, view
    rss = gw.stop()
    if config is not None:
        shutil.rmtree(config.parent, ignore_errors=True)
    return {"accepted_s": accepted_s, "total_s": total_s, "rate": recipients / total_s, "rss": rss,
            "cpu_us": cpu_us, "sim_cpu_us": sim_cpu_us}


def phase_p3(sim: Simulator, recipients: int, stack: Stack) -> Figures:
    """B's single sends every 50 ms while A's MULDES drains; B's accept -> ENVOYE."""
    gw = GatewayProcess(sim.smpp_port, stack.checkout, stack.extra, stack.store)
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


def p3_row(label: str, p3: Figures) -> Row:
    """The row of a P3 measurement."""
    return (label, f"{p3['b_sends']:.0f} sends", f"accept->ENVOYE p50 {p3['p50_ms']:.0f} ms, "
            f"p99 {p3['p99_ms']:.0f} ms (goal 250)", "", f"{p3['rss']:.0f} MB")


# -- the run ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """The command line, checked (`--rounds` at least 1, a `run.py` in `--baseline`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--p1-requests", type=int, default=20_000,
                        help="UNIDES in P1 (default 20,000, ~10 s: the steady state, past "
                        "each bind's probe and the first loads of number metadata)")
    parser.add_argument("--p2-recipients", type=int, default=100_000)
    parser.add_argument("--phases", default="p1,p2,p3",
                        help="comma-separated phases to run (p1, p2, p3, p2ops; default "
                        "p1,p2,p3)")
    parser.add_argument("--variant", action="append", default=[], metavar="SMSGW_NAME=VALUE",
                        help="one more P1 row and P2 row (receipts on), in the same run, on a "
                        "gateway with this one more setting (repeatable; one per store)")
    parser.add_argument("--stores", default=SQLITE, metavar="sqlite,postgresql",
                        help="comma-separated store backends every selected phase runs on, in "
                        "the same run (default sqlite); PostgreSQL on a throwaway server the "
                        "run starts, a fresh database per gateway")
    parser.add_argument("--set", action="append", default=[], metavar="SMSGW_NAME=VALUE",
                        help="a setting for the gateways (e.g. SMSGW_ENGINE_DISPATCH_QUEUE=256)")
    parser.add_argument("--baseline", type=Path, metavar="PATH",
                        help="another checkout of the product (e.g. a git worktree at an older "
                        "commit) whose gateway each phase measures beside this tree's")
    parser.add_argument("--rounds", type=int, default=1, metavar="N",
                        help="measure every phase N times, the order of the gateways reversed "
                        "every other round; a row per round, then the median (default 1)")
    parser.add_argument("--p2-receipts", choices=["on", "off", "both"],
                        help="P2 with delivery receipts, without, or both "
                        "(default both; on with --baseline or several --stores)")
    parser.add_argument("--no-record", action="store_true",
                        help="print the table only, do not append it to bench/RESULTS.md")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "run.py").is_file():
            parser.error(f"--baseline {args.baseline}: no run.py there")
    args.stores = list(dict.fromkeys(s.strip().lower() for s in args.stores.split(",") if s.strip()))
    unknown = [s for s in args.stores if s not in STORES]
    if unknown or not args.stores:
        parser.error(f"--stores: choose among {', '.join(STORES)} (got {unknown or 'none'})")
    return args


def main() -> None:
    """Run the selected phases, print the table, append it to bench/RESULTS.md."""
    args = parse_args()
    ENGINE_ENV.update(item.split("=", 1) for item in args.set)
    phases = set(args.phases.split(","))
    this = Checkout.of(ROOT, this=True)
    checkouts = [this] if args.baseline is None else [Checkout.of(args.baseline, this=False), this]
    for checkout in checkouts:
        checkout.verify()
        if POSTGRESQL in args.stores and not checkout.has_postgres():
            raise SystemExit(f"{checkout.root}: this checkout's store has no PostgreSQL backend")
    compare = len(checkouts) > 1
    labels = Labels(checkout=compare, store=args.stores != [SQLITE])
    compared = [Stack.make(checkout, store=store) for checkout in checkouts for store in args.stores]
    variants = [Stack.make(this, variant, store) for variant in args.variant for store in args.stores]
    receipts = {"on": [True], "off": [False], "both": [True, False]}[
        args.p2_receipts or ("on" if compare or len(args.stores) > 1 else "both")]
    n = args.p2_recipients
    rows: list[Row] = []
    started = time.monotonic()
    sim = Simulator()
    second_sim: Simulator | None = None
    try:
        if "p1" in phases:
            rows += table_rows(
                phase_p1(sim, args.p1_requests, compared + variants, args.rounds, labels), args.rounds)
        if "p2" in phases:
            p2_configs = [(on, stack) for on in receipts for stack in compared]
            p2_configs += [(True, stack) for stack in variants]
            rows += table_rows(run_rounds(
                p2_configs, args.rounds,
                lambda c: f"P2 MULDES {n:,}, receipts {'on' if c[0] else 'off'}" + c[1].suffix(labels),
                p2_row, lambda c: phase_p2(sim, n, c[1], c[0]),
            ), args.rounds)
        if "p2ops" in phases:
            if second_sim is None:
                second_sim = Simulator(first_message_id=int(time.time() * 1000) * 1000 + 10**15)
            pair = second_sim
            rows += table_rows(run_rounds(
                [(1, stack) for stack in compared] + [(2, stack) for stack in compared],
                args.rounds,
                lambda c: f"P2 MULDES {n:,} mixed Moov/Airtel, "
                + ("one connection" if c[0] == 1 else "two connections by prefix")
                + c[1].suffix(labels),
                p2_row,
                lambda c: phase_p2_operators([sim] if c[0] == 1 else [sim, pair], n, c[1]),
            ), args.rounds)
        if "p3" in phases:
            rows += table_rows(run_rounds(
                compared, args.rounds,
                lambda stack: f"P3 B's UNIDES at 20/s beside A's {n:,}" + stack.suffix(labels),
                p3_row, lambda stack: phase_p3(sim, n, stack),
            ), args.rounds)
    finally:
        sim.stop()
        if second_sim is not None:
            second_sim.stop()
        POSTGRES.stop()
    took_min = (time.monotonic() - started) / 60
    header = "| phase | rate | latency | completion | peak RSS |\n|---|---|---|---|---|\n"
    table = header + "".join(f"| {' | '.join(r)} |\n" for r in rows)
    print(table)
    progress(f"took {took_min:.1f} min")
    if args.no_record:
        return
    notes = ""
    if compare:
        baseline = checkouts[0]
        notes += (f" Checkouts: `{baseline.label}` = {baseline.root} (commit {baseline.commit}), "
                  f"`{this.label}` = this tree (commit {this.commit}"
                  + (", with uncommitted changes" if this.label.endswith("+changes") else "")
                  + "); in each phase their gateways run one after the other, the baseline first.")
    if POSTGRES.about:
        notes += (f" Stores: {', '.join(args.stores)}; PostgreSQL is one throwaway server for the "
                  f"run ({POSTGRES.about}, data on the same disk as SQLite's), a fresh database "
                  "per gateway; in each phase the backends run one after the other, "
                  f"{args.stores[0]} first.")
    if args.rounds > 1:
        notes += (f" {args.rounds} rounds, the order of the gateways reversed every other round; "
                  "a row per round, then the median of each figure.")
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    command = ".venv/bin/python bench/bench_gateway.py " + shlex.join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write(
            f"\n## Gateway end to end ({date})\n\nCommand: `{command.strip()}`\n\n"
            "Gateway (`run.py`), SMSC simulator (`python -m smsc_sim`, receipts when asked) and "
            f"the load ({WORKERS} raw-socket HTTP/1.1 processes) on 2 cores; each phase on a "
            "fresh gateway and data folder; settings: "
            + (", ".join(args.set) or "defaults") + "." + notes
            + f" The run took {took_min:.1f} min.\n\n" + table
        )


if __name__ == "__main__":
    main()
