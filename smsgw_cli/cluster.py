"""A gateway cluster on this machine: a throwaway PostgreSQL, one SMSC simulator and
N gateway nodes, each its own process (`make cluster`, the cluster tests, the cluster
benchmark).

    python -m smsgw_cli.cluster [--nodes 2] [--lease-s 10]

`running_cluster(nodes=2)` owns everything for the length of its `with` block and
yields a `Cluster`; the pieces are usable alone: `running_postgres` and
`create_database` (`smsgw_cli.postgres`), `running_simulator` (one
`python -m smsc_sim` on free ports) and `Cluster(data_url, simulator, workdir)`, whose
`start(n)` starts nodes on an existing database.

A node is `python run.py` from this checkout with the settings of a cluster node:
the shared `SMSGW_DATA_URL`, `SMSGW_CLUSTER_SECRET` and `SMSGW_ADMIN_TOKEN`, its
own name (`node-1`, `node-2`, ...) and data folder, HTTP on a free port, the embedded
simulator off and the SMSC the standalone simulator. Its data URL names it as the
PostgreSQL `application_name`, so `pg_stat_activity` (and an audit trigger) tell
its connections from the others'. Its output goes to `node.log` in its folder; its
URL is read from the line run.py prints once listening, and it counts as started
when `GET /api/V1/sante` answers 200 (store writable, a bind up).

Every process runs in its own process group (`kill`, `freeze`, `wake` and
`terminate` signal the whole group; Ctrl-C in the launcher's terminal reaches only
the launcher, which then stops them) and is killed by the kernel if the launcher
dies without stopping it (Linux's parent-death signal). Leaving the `with` block
stops every node (SIGTERM, SIGKILL after `grace_s`), the simulator and the server,
and deletes their folders. Nothing here blocks longer than its `timeout_s`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg

from smsgw_cli.postgres import PostgresUnavailable, create_database, running_postgres

ROOT = Path(__file__).resolve().parents[1]
"""The checkout whose run.py and smsc_sim the nodes and the simulator run."""

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 15.0
HOST = "127.0.0.1"
DB_NOW = "extract(epoch FROM clock_timestamp())"
"""The database's clock in POSIX seconds, as the lease table's times are."""

_API_LINE = re.compile(r"SMS Gateway API on (http://\S+?)/api/V1 ")
_SIM_LINE = re.compile(r"SMPP on [\d.]+:(\d+) .*control API on (http://\S+)")
_DEMO_LINE = re.compile(r"Demo prepaid account #(\d+) .*API key: (\S+)")

T = TypeVar("T")


class ClusterError(RuntimeError):
    """A process did not start, or did not answer in time; the message carries the
    end of its log."""


def eventually(
    predicate: Callable[[], T | None], timeout_s: float, *, every_s: float = 0.05, what: str = ""
) -> T:
    """Call `predicate` until it answers something truthy and return that; raise
    `TimeoutError` (naming `what`, and the last answer) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = predicate()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what or 'condition'} not met within {timeout_s} s (last: {answer!r})")
        time.sleep(every_s)


def _die_with_parent() -> None:
    """In the child, before exec: killed (SIGKILL) when the launcher dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Process:
    """A child process in its own group, its output in `log_path`."""

    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.frozen = False
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                list(command),
                cwd=ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def _signal(self, signum: signal.Signals) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signum)

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing handed over."""
        self._signal(signal.SIGKILL)
        self.proc.wait(10)
        self.frozen = False

    def freeze(self) -> None:
        """SIGSTOP: the process stops running (its sockets stay open) until `wake`."""
        self._signal(signal.SIGSTOP)
        self.frozen = True

    def wake(self) -> None:
        """SIGCONT: a frozen process runs again from where it stopped."""
        self._signal(signal.SIGCONT)
        self.frozen = False

    def terminate(self, timeout_s: float = STOP_GRACE_S) -> int:
        """SIGTERM (waking it first if frozen) and wait for the exit; SIGKILL after
        `timeout_s`. Returns the exit status (negative: killed by that signal)."""
        if self.frozen:
            self.wake()
        self._signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait(10)

    def wait_line(self, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        """The first match of `pattern` in the log, waiting for it while the process
        runs; `ClusterError` if it exits first or `timeout_s` passes."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = pattern.search(self.log())
            if found:
                return found
            if not self.alive:
                raise ClusterError(f"{self.name} exited ({self.proc.returncode}) before it "
                                   f"listened:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise ClusterError(f"{self.name} did not listen within {timeout_s} s:\n{self.log_tail()}")
            time.sleep(0.05)


class SimulatorProcess(_Process):
    """`python -m smsc_sim` on free ports: SMPP on `smpp_port`, its control API at
    `control_url` (knobs, counters, the submitted log; docs/simulator.md)."""

    def __init__(self, workdir: Path, args: Sequence[str] = ()) -> None:
        command = [sys.executable, "-m", "smsc_sim", "--host", HOST, "--smpp-port", "0",
                   "--control-port", "0", *args]
        super().__init__("simulator", command, _base_env(), workdir / "simulator.log")
        found = self.wait_line(_SIM_LINE, START_TIMEOUT_S)
        self.smpp_port = int(found.group(1))
        self.control_url = found.group(2).rstrip("/")

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """One call to the control API; its JSON answer."""
        answer = httpx.request(method, self.control_url + path, json=json, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict[str, Any]:
        """The counters (GET /stats)."""
        stats: dict[str, Any] = self.control("GET", "/stats")
        return stats

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Set knobs live (PATCH /config), e.g. `latency="fixed:20"`; the new knobs."""
        config: dict[str, Any] = self.control("PATCH", "/config", knobs)
        return config

    def reset(self) -> None:
        """Zero the counters and forget the submitted log (POST /reset)."""
        self.control("POST", "/reset")


class Node(_Process):
    """One gateway node: `url` (`http://127.0.0.1:PORT`), `api` (`url + /api/V1`),
    its data folder and log, and the process controls of `_Process`."""

    def __init__(self, name: str, data_dir: Path, env: Mapping[str, str]) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(name, [sys.executable, "run.py"], env, data_dir / "node.log")
        self.data_dir = data_dir
        self.url = ""
        self.api = ""

    def wait_started(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Read the node's URL from its output, then wait for GET /api/V1/sante = 200."""
        deadline = time.monotonic() + timeout_s
        self.url = self.wait_line(_API_LINE, timeout_s).group(1)
        self.api = self.url + "/api/V1"
        while True:
            try:
                if httpx.get(self.api + "/sante", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not self.alive:
                raise ClusterError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise ClusterError(f"{self.name} not healthy within {timeout_s} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        """GET /api/V1/sante's answer (200 or 503)."""
        body: dict[str, Any] = httpx.get(self.api + "/sante", timeout=10).json()
        return body

    def demo_key(self) -> tuple[int, str] | None:
        """The demo account this node created on a fresh database (id, API key), if it
        was the one that did."""
        found = _DEMO_LINE.search(self.log())
        return (int(found.group(1)), found.group(2)) if found else None


def _base_env() -> dict[str, str]:
    """The launcher's environment without any SMSGW_* setting (a node gets exactly
    the settings given here) and with this checkout first on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Cluster:
    """Gateway nodes on one database and one simulator. `nodes` in start order;
    `admin_token` and `secret` shared by all; `audit()` a plain connection to the
    database; `holder(account_id)` the node holding an account's shard."""

    def __init__(
        self,
        data_url: str,
        simulator: SimulatorProcess,
        workdir: Path,
        *,
        lease_s: float = 10.0,
        shards: int = 64,
        env: Mapping[str, str] | None = None,
        admin_token: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.data_url = data_url
        self.simulator = simulator
        self.workdir = workdir
        self.lease_s = lease_s
        self.shards = shards
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.secret = secret or secrets.token_urlsafe(24)
        self.env = dict(env or {})
        self.nodes: list[Node] = []

    def node_env(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A node's environment: the cluster's settings, then `env`, then `extra`."""
        separator = "&" if "?" in self.data_url else "?"
        return {
            **_base_env(),
            "SMSGW_DATA_URL": f"{self.data_url}{separator}application_name={name}",
            "SMSGW_DATA_DIR": str(self.workdir / name),
            "SMSGW_ADMIN_TOKEN": self.admin_token,
            "SMSGW_CLUSTER_SECRET": self.secret,
            "SMSGW_CLUSTER_NODE": name,
            "SMSGW_CLUSTER_LEASE_S": str(self.lease_s),
            "SMSGW_CLUSTER_SHARDS": str(self.shards),
            "SMSGW_HTTP_HOST": HOST,
            "SMSGW_HTTP_PORT": "0",
            "SMSGW_SIMULATOR_ENABLED": "false",
            "SMSGW_SMSC_HOST": HOST,
            "SMSGW_SMSC_PORT": str(self.simulator.smpp_port),
            **self.env,
            **(extra or {}),
        }

    def start(self, count: int = 1, *, env: Mapping[str, str] | None = None,
              timeout_s: float = START_TIMEOUT_S) -> list[Node]:
        """Start `count` more nodes side by side and wait until each is healthy."""
        started = [self.spawn(env=env) for _ in range(count)]
        for node in started:
            node.wait_started(timeout_s)
        return started

    def spawn(self, *, name: str | None = None, env: Mapping[str, str] | None = None) -> Node:
        """Start one more node without waiting for it (`Node.wait_started`)."""
        name = name or f"node-{len(self.nodes) + 1}"
        node = Node(name, self.workdir / name, self.node_env(name, env))
        self.nodes.append(node)
        return node

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def audit(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the cluster's database (close it after use)."""
        return psycopg.connect(self.data_url, autocommit=True, connect_timeout=10,
                               application_name="smsgw-audit")

    def holder(self, account_id: int) -> Node | None:
        """The node whose unexpired lease covers the account's shard (the lease table
        `cluster_shards`, by the database's clock); None while none holds it."""
        with self.audit() as conn:
            row = conn.execute(
                f"SELECT noeud FROM cluster_shards WHERE shard = %s AND expire_le > {DB_NOW}",
                (account_id % self.shards,),
            ).fetchone()
        if row is None:
            return None
        try:
            return self.node(str(row[0]))
        except KeyError:
            return None

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every node still running: SIGTERM to all (each hands its shards
        over), SIGKILL to those not gone after `grace_s`; `grace_s=0` kills at once."""
        running = [n for n in self.nodes if n.alive]
        if grace_s <= 0:
            for node in running:
                node.kill()
            return
        for node in running:
            if node.frozen:
                node.wake()
            node._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for node in running:
            try:
                node.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.kill()


@contextmanager
def running_simulator(args: Sequence[str] = (), *, workdir: Path | None = None) -> Iterator[SimulatorProcess]:
    """One standalone simulator on free ports for the block (`args`: its flags,
    e.g. `["--latency", "fixed:5"]`); stopped at the end."""
    with ExitStack() as stack:
        folder = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsgw-sim-")))
        simulator = SimulatorProcess(folder, args)
        try:
            yield simulator
        finally:
            simulator.terminate(5)


@contextmanager
def nodes_on(
    data_url: str,
    simulator: SimulatorProcess,
    nodes: int = 2,
    *,
    lease_s: float = 10.0,
    shards: int = 64,
    env: Mapping[str, str] | None = None,
    grace_s: float = STOP_GRACE_S,
) -> Iterator[Cluster]:
    """`nodes` gateway nodes on an existing database and simulator, in a temporary
    folder, for the block; stopped (`Cluster.stop(grace_s)`) at the end."""
    with tempfile.TemporaryDirectory(prefix="smsgw-cluster-") as folder:
        cluster = Cluster(data_url, simulator, Path(folder), lease_s=lease_s, shards=shards, env=env)
        try:
            if nodes:
                cluster.start(nodes)
            yield cluster
        finally:
            cluster.stop(grace_s)


@contextmanager
def running_cluster(
    nodes: int = 2,
    *,
    lease_s: float = 10.0,
    shards: int = 64,
    env: Mapping[str, str] | None = None,
    simulator_args: Sequence[str] = (),
    fsync: bool = True,
    grace_s: float = STOP_GRACE_S,
) -> Iterator[Cluster]:
    """A throwaway PostgreSQL (`fsync=False` for tests), its database `smsgw`, one
    simulator and `nodes` nodes, for the block; everything stopped and deleted at
    the end."""
    with running_postgres(fsync=fsync) as dsn, running_simulator(simulator_args) as simulator, \
            nodes_on(create_database(dsn, "smsgw"), simulator, nodes, lease_s=lease_s, shards=shards,
                     env=env, grace_s=grace_s) as cluster:
        yield cluster


def _what_to_try(cluster: Cluster) -> str:
    first, *others = cluster.nodes
    second = others[0] if others else first
    auth = f'-H "Authorization: Bearer {cluster.admin_token}"'
    json = "-H 'Content-Type: application/json'"
    return "\n".join([
        "Try:",
        "  # an account, created through the first node",
        f"  curl -s {auth} {json} -X POST {first.api}/admin/comptes \\",
        "       -d '{\"nom\": \"Essai\", \"type\": \"PREPAYE\", \"solde\": 100}'",
        "  # a send through the second node with the key it answered (cleApi.cle)",
        f"  curl -s -H 'X-API-Key: KEY' {json} -X POST {second.api}/sms/unides \\",
        "       -d '{\"emetteur\": \"ION-Networking\", \"destinataire\": \"+24106123456\", "
        "\"corps\": \"Bonjour\"}'",
        "  # the nodes and the shards each holds; the SMSC's counters",
        f"  curl -s {auth} {first.api}/admin/cluster",
        f"  curl -s {cluster.simulator.control_url}/stats",
        f"  # a node dying: its accounts move within 3 x {cluster.lease_s:g} s",
        f"  kill -9 {first.pid}",
    ])


def _report(cluster: Cluster, dsn: str) -> str:
    lines = [f"PostgreSQL: {dsn}",
             f"SMSC simulator: SMPP on {HOST}:{cluster.simulator.smpp_port}, "
             f"control API on {cluster.simulator.control_url}"]
    for node in cluster.nodes:
        lines.append(f"{node.name}: {node.api} (pid {node.pid}, log {node.log_path})")
        demo = node.demo_key()
        if demo:
            lines.append(f"  demo prepaid account #{demo[0]} created by {node.name}, API key: {demo[1]}")
    lines += [f"Admin token: {cluster.admin_token}", "", _what_to_try(cluster), "",
              "Ctrl-C stops every node, the simulator and PostgreSQL."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`make cluster`: PostgreSQL, the simulator and the nodes until Ctrl-C or SIGTERM
    (either, once, stops everything; more are ignored while it stops)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m smsgw_cli.cluster",
        description="A throwaway PostgreSQL, one SMSC simulator and gateway nodes on this "
        "machine, until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=2, help="gateway nodes (default 2)")
    parser.add_argument("--lease-s", type=float, default=10.0, help="SMSGW_CLUSTER_LEASE_S (default 10)")
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error("--nodes must be at least 1")
    interrupted = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        if not interrupted.is_set():
            interrupted.set()
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        with running_postgres() as dsn, running_simulator() as simulator, \
                nodes_on(create_database(dsn, "smsgw"), simulator, args.nodes,
                         lease_s=args.lease_s) as cluster:
            try:
                print(_report(cluster, cluster.data_url), flush=True)
                _watch(cluster)
            finally:
                print("Stopping the nodes, the simulator and PostgreSQL...", flush=True)
    except KeyboardInterrupt:
        pass
    except (ClusterError, PostgresUnavailable) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1
    print("Stopped.")
    return 0


def _watch(cluster: Cluster) -> None:
    """Say when a node exits (killed, or failed), until interrupted."""
    reported: set[str] = set()
    while True:
        for node in cluster.nodes:
            if not node.alive and node.name not in reported:
                reported.add(node.name)
                print(f"{node.name} exited ({node.proc.returncode}); the other nodes take its "
                      "accounts over", flush=True)
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
