"""Several gateway nodes on one PostgreSQL: one node against two, and what forwarding costs.

    .venv/bin/python bench/bench_cluster.py [--quick] [--p1-requests N] [--p2-recipients N]
        [--forward-requests N] [--nodes 1,2] [--no-record]

One run starts one throwaway PostgreSQL server and one SMSC simulator, then for each
row a fresh cluster on a fresh database: one node, or two (`run.py` processes with
the same `SMSGW_CLUSTER_SECRET`, each with its own binds to the simulator), all
started by the local-cluster launcher (devcluster.cluster). A cluster of one node
is a cluster too (secret set, shards held under leases), so the rows differ by the
second node only. The load is bench_gateway.py's (raw keep-alive HTTP/1.1 from
worker processes).

- P1: UNIDES from 50 connections (bench_gateway.py's load), two accounts, one held
  by each node when there are two. Every account gets half of its requests through
  each node, so with two nodes half the requests reach the node that does not hold
  the account and are forwarded to the one that does. Accepted per second, p50/p99
  of the 202, time until every one is ENVOYE, CPU per send (every node).
- P2: `--p2-recipients` recipients, receipts on, until every one is ENVOYE: one
  MULDES (with two nodes, sent to the node that does not hold the account: the
  body is forwarded, the holder's binds send), then two MULDES of half as many
  from two accounts at once (with two nodes, one account held by each, each MULDES
  sent to the other node): how the sending grows with the binds of a second node.
- Forwarding: `--forward-requests` UNIDES one at a time on one connection, to the
  node holding the account, then to the other node: latency p50/p99 and CPU a
  request (both nodes, while the requests ran: their sending as it goes included,
  less the nodes' CPU at rest measured just before) of each, and the difference,
  which is what a forwarded request costs.
- PostgreSQL commits per second during each measurement: the delta of
  `pg_stat_database.xact_commit` for the cluster's database over its time.

The table is printed and appended to bench/RESULTS.md with the date and command
(`--no-record`: printed only).
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import multiprocessing.pool
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import bench_gateway as bg
import httpx
import psycopg

from devcluster.cluster import Cluster, eventually, nodes_on, running_simulator
from devcluster.postgres import create_database, running_postgres

LEASE_S = 10.0
"""The default lease: a shorter one loses shards on a loaded machine."""
SETTLE_S = 60.0
"""How long a new cluster may take to share its shards evenly."""
IDLE_S = 5.0
"""How long the nodes' CPU is measured at rest (heartbeats, leases, timers), to be
taken off what one-at-a-time requests cost."""
STATS_FLUSH_S = 11.0
"""A PostgreSQL backend gone idle publishes its counts within 10 s
(PGSTAT_IDLE_INTERVAL): the last commits of a measurement are read after this."""

Row = tuple[str, str, str, str, str]
"""One line of the table: measurement, rate, latency, completion and CPU, commits."""


# -- the cluster --------------------------------------------------------------------------


NODE_ENV = {
    "SMSGW_HTTP_RATE_LIMIT_PER_S": "1000000",
    "SMSGW_HTTP_RATE_LIMIT_BURST": "1000000",
    "SMSGW_LOG_LEVEL": "WARNING",
}
"""What every node adds to a cluster node's settings (as bench_gateway.py's gateways)."""


class Server:
    """The run's PostgreSQL server (devcluster.postgres, PostgreSQL's durability
    defaults, checked) and SMSC simulator (devcluster.cluster), a fresh database for
    every cluster."""

    def __init__(self, stack: ExitStack) -> None:
        self.dsn = stack.enter_context(running_postgres())
        self.simulator = stack.enter_context(running_simulator())
        self._count = 0
        self.about = bg.durable_server(self.dsn)
        bg.progress(f"started {self.about}")

    @contextmanager
    def cluster(self, size: int) -> Iterator[LocalCluster]:
        """`size` nodes on a fresh database, until every one holds its share of
        the shards; stopped (SIGTERM) and the database dropped afterwards."""
        self._count += 1
        database = f"bench_cluster_{self._count}"
        url = create_database(self.dsn, database)
        try:
            with nodes_on(url, self.simulator, size, lease_s=LEASE_S, env=NODE_ENV) as nodes:
                cluster = LocalCluster(nodes, database)
                cluster.wait_shared()
                yield cluster
        finally:
            with psycopg.connect(self.dsn, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@dataclass
class LocalCluster:
    """A cluster of devcluster.cluster on one database of the run's server."""

    nodes: Cluster
    database: str

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes.nodes]

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.nodes.admin_token}"}

    def view(self) -> dict[str, Any]:
        """GET /api/V1/admin/cluster from the first node."""
        r = httpx.get(self.urls[0] + "/api/V1/admin/cluster", headers=self.admin, timeout=10)
        r.raise_for_status()
        return dict(r.json())

    def wait_shared(self) -> None:
        """Until every node is live and holds its even share of the shards."""

        def shared() -> bool:
            view = self.view()
            held = [len(n["partitions"]) for n in view["noeuds"] if n["vivant"]]
            return len(held) == len(self.urls) and sum(held) == view["partitions"] and (
                max(held) - min(held) <= 1)

        eventually(shared, SETTLE_S, every_s=0.2, what="the shards shared by every node")

    def holder(self, account_id: int) -> str:
        """The name of the node holding the account's shard, as the cluster says."""
        view = self.view()
        shard = account_id % view["partitions"]
        return next(str(n["noeud"]) for n in view["noeuds"] if shard in n["partitions"])

    def account(self, solde: int, held_by: int) -> tuple[int, str]:
        """A new prepaid account held by node `held_by`: its id and key. Created
        through that node, which answers 201 when the new account falls in one of its
        shards and 503 (COMPTE_INDISPONIBLE) when it falls in another node's; the
        accounts created on the way are left unused."""
        wanted = self.nodes.nodes[held_by]
        body = {"nom": "Banc d'essai", "type": "PREPAYE", "solde": solde, "debitMax": 100000}
        for _ in range(4 * 64):
            r = httpx.post(wanted.url + "/api/V1/admin/comptes", headers=self.admin, json=body,
                           timeout=30)
            if r.status_code == 503:
                continue
            if r.status_code != 201:
                raise RuntimeError(f"account not created: {r.status_code} {r.text}")
            account_id, key = int(r.json()["id"]), str(r.json()["cleApi"]["cle"])
            if self.holder(account_id) == wanted.name:
                return account_id, key
        raise RuntimeError(f"no account held by {wanted.name}: {self.view()}")

    def cpu_s(self) -> float:
        """CPU seconds every node has used so far."""
        return sum(bg.cpu_s(node.pid) for node in self.nodes.nodes)

    def commits(self) -> int:
        """pg_stat_database.xact_commit of the cluster's database right now."""
        with psycopg.connect(self.nodes.data_url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                               (self.database,)).fetchone()
        assert row is not None
        return int(row[0])


class Measure:
    """Wall time, CPU of every node and PostgreSQL commits over one measurement."""

    def __init__(self, cluster: LocalCluster) -> None:
        self._cluster = cluster
        self._t0, self._c0, self._x0 = time.perf_counter(), cluster.cpu_s(), cluster.commits()

    def done(self, units: int) -> bg.Figures:
        """`elapsed` s, `cpu_us` per unit, `commits_s` over the elapsed time (the
        commits counted once the nodes' backends have published them: the few
        heartbeats of that wait are counted too)."""
        elapsed = time.perf_counter() - self._t0
        cpu_us = (self._cluster.cpu_s() - self._c0) / units * 1e6
        time.sleep(STATS_FLUSH_S)
        return {
            "elapsed": elapsed,
            "cpu_us": cpu_us,
            "commits_s": (self._cluster.commits() - self._x0) / elapsed,
        }


def in_cluster(server: Server, size: int, measure: Callable[[LocalCluster], bg.Figures]) -> bg.Figures:
    """`measure` on a fresh cluster of `size` nodes."""
    with server.cluster(size) as cluster:
        return measure(cluster)


def wait_settled(url: str, key: str, within_s: float = 600.0) -> None:
    """Until the account has nothing reserved (every message ended), as
    bench_gateway.wait_settled, a 503 (the account changing node: retry) retried."""

    def settled() -> bool:
        r = httpx.get(url + "/api/V1/compte", headers={"X-API-Key": key}, timeout=30)
        if r.status_code == 503:
            bg.progress(f"GET /compte: {r.text}")
            return False
        r.raise_for_status()
        return bool(r.json()["reserve"] == 0)

    eventually(settled, within_s, what="every message ended")


# -- measurements -------------------------------------------------------------------------


def spread_load(jobs: Sequence[tuple[str, str]], total: int) -> bg.Figures:
    """`total` UNIDES from bench_gateway's load workers, one per (url, key) job,
    the 50 connections shared among them: rate, p50/p99, failures."""
    per = total // len(jobs)
    shares = [bg.CONNECTIONS // len(jobs) + (i < bg.CONNECTIONS % len(jobs)) for i in range(len(jobs))]
    return bg.run_workers(
        [(url, key, per, shares[i], i * per, "") for i, (url, key) in enumerate(jobs)]
    )


def p1(cluster: LocalCluster, requests: int) -> bg.Figures:
    """Two accounts (one held by each node when there are two), each sending half
    of its UNIDES through each node."""
    size = len(cluster.urls)
    keys = [cluster.account(requests, held_by=i % size)[1] for i in range(2)]
    jobs = [(url, key) for key in keys for url in (cluster.urls * 2)[:2]]
    measure = Measure(cluster)
    figures = spread_load(jobs, requests)
    for i, key in enumerate(keys):
        wait_settled(cluster.urls[i % size], key)
    figures.update(measure.done(requests))
    figures["forwarded_pct"] = 50.0 if size > 1 else 0.0
    return figures


def p2(cluster: LocalCluster, recipients: int, accounts: int) -> bg.Figures:
    """`accounts` MULDES of `recipients / accounts` at once, account i held by node
    i (modulo the nodes), each sent to the next node (the holder when alone)."""
    size = len(cluster.urls)
    each = recipients // accounts
    keys = [cluster.account(each, held_by=i % size)[1] for i in range(accounts)]
    measure = Measure(cluster)
    t0 = time.perf_counter()
    with multiprocessing.pool.ThreadPool(accounts) as pool:
        refs = pool.starmap(bg.muldes, [
            (cluster.urls[(i + 1) % size], key, each, i * each) for i, key in enumerate(keys)])
    accepted_s = time.perf_counter() - t0
    for i, key in enumerate(keys):
        wait_settled(cluster.urls[i % size], key)
    figures = measure.done(each * accounts)
    for i, (key, ref) in enumerate(zip(keys, refs, strict=True)):
        view = httpx.get(cluster.urls[i % size] + f"/api/V1/sms/{ref}",
                         headers={"X-API-Key": key}, timeout=60).json()
        assert view["compteurs"]["ENVOYE"] == each, view
    figures.update(accepted_s=accepted_s, rate=each * accounts / figures["elapsed"])
    return figures


def sequential(url: str, key: str, requests: int, offset: int) -> list[float]:
    """`requests` UNIDES one at a time on one connection: their latencies in s."""
    latencies, failures, _ = bg._load_worker((url, key, requests, 1, offset, ""))
    if failures:
        raise RuntimeError(f"{failures} requests not answered 202")
    return sorted(latencies)


def forwarding(cluster: LocalCluster, requests: int) -> tuple[bg.Figures, bg.Figures]:
    """The same account's UNIDES one at a time to its holder, then to the other
    node; each measured once the previous one's messages have ended."""
    account_id, key = cluster.account(requests * 3, held_by=0)
    sequential(cluster.urls[1], key, min(requests, 100), 0)  # connections and caches warm
    wait_settled(cluster.urls[0], key)
    c0, t0 = cluster.cpu_s(), time.perf_counter()
    time.sleep(IDLE_S)
    idle_cpu = (cluster.cpu_s() - c0) / (time.perf_counter() - t0)
    out = []
    for n, url in enumerate(cluster.urls):
        measure = Measure(cluster)
        latencies = sequential(url, key, requests, (n + 1) * requests)
        figures = measure.done(requests)
        figures["cpu_us"] -= idle_cpu * figures["elapsed"] / requests * 1e6
        figures["idle_cpu_pct"] = idle_cpu * 100
        wait_settled(cluster.urls[0], key)
        figures.update(p50_ms=latencies[len(latencies) // 2] * 1000,
                       p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
                       mean_ms=statistics.fmean(latencies) * 1000)
        out.append(figures)
    return out[0], out[1]


# -- rows ---------------------------------------------------------------------------------


def nodes_label(size: int) -> str:
    return "one node" if size == 1 else f"{size} nodes"


def p1_row(size: int, f: bg.Figures) -> Row:
    return (f"P1 UNIDES, 50 connections, {nodes_label(size)}"
            + (f" ({f['forwarded_pct']:.0f}% forwarded)" if size > 1 else ""),
            f"{f['rate']:,.0f} accepted/s{bg.failed(f)}",
            f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms",
            f"all ENVOYE after {f['elapsed']:.1f} s; {f['cpu_us']:.0f} µs CPU a send (all nodes)",
            f"{f['commits_s']:,.0f}/s")


def p2_row(label: str, f: bg.Figures) -> Row:
    return (label, f"{f['rate']:,.0f} msg/s end to end", f"202 after {f['accepted_s']:.2f} s",
            f"all ENVOYE after {f['elapsed']:.1f} s; {f['cpu_us']:.0f} µs CPU a message "
            "(all nodes)", f"{f['commits_s']:,.0f}/s")


def forward_rows(direct: bg.Figures, forwarded: bg.Figures) -> list[Row]:
    def row(label: str, f: bg.Figures) -> Row:
        return (label, "", f"p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms",
                f"{f['cpu_us']:.0f} µs CPU a request (both nodes while the requests ran, "
                f"less their {f['idle_cpu_pct']:.1f}% of a core at rest)",
                f"{f['commits_s']:,.0f}/s")

    return [
        row("UNIDES one at a time, to the holder", direct),
        row("UNIDES one at a time, to the other node (forwarded)", forwarded),
        ("Forwarding cost a request", "",
         f"{forwarded['p50_ms'] - direct['p50_ms']:+.2f} ms p50, "
         f"{forwarded['p99_ms'] - direct['p99_ms']:+.2f} ms p99",
         f"{forwarded['cpu_us'] - direct['cpu_us']:+.0f} µs CPU", ""),
    ]


# -- the run ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run that proves the bench works: 4,000 P1 requests, "
                        "10,000 P2 recipients, 300 forwarded requests (unless given)")
    parser.add_argument("--p1-requests", type=int, help="UNIDES in P1 (default 20,000)")
    parser.add_argument("--p2-recipients", type=int, help="recipients in P2 (default 100,000)")
    parser.add_argument("--forward-requests", type=int,
                        help="UNIDES one at a time, each way, for the forwarding cost (default 2,000)")
    parser.add_argument("--nodes", default="1,2", metavar="1,2",
                        help="cluster sizes measured side by side (default 1,2); the forwarding "
                        "cost is measured when 2 is among them")
    parser.add_argument("--no-record", action="store_true",
                        help="print the table only, do not append it to bench/RESULTS.md")
    args = parser.parse_args()
    quick = args.quick
    args.p1_requests = args.p1_requests or (4_000 if quick else 20_000)
    args.p2_recipients = args.p2_recipients or (10_000 if quick else 100_000)
    args.forward_requests = args.forward_requests or (300 if quick else 2_000)
    args.nodes = [int(size) for size in args.nodes.split(",")]
    if not args.nodes or min(args.nodes) < 1:
        parser.error("--nodes: cluster sizes of 1 node or more")
    return args


def main() -> None:
    """Every measurement on fresh clusters, the table printed and recorded."""
    args = parse_args()
    n = args.p2_recipients
    rows: list[Row] = []
    started = time.monotonic()
    with ExitStack() as stack:
        server = Server(stack)
        for size in args.nodes:
            bg.progress(f"P1 through {nodes_label(size)}")
            rows.append(p1_row(size, in_cluster(server, size, partial(p1, requests=args.p1_requests))))
        for accounts in (1, 2):
            for size in args.nodes:
                bg.progress(f"P2 {accounts} account(s) through {nodes_label(size)}")
                figures = in_cluster(server, size, partial(p2, recipients=n, accounts=accounts))
                what = (f"P2 MULDES {n:,}, receipts on" if accounts == 1
                        else f"P2 two MULDES {n // 2:,} at once (two accounts)")
                where = nodes_label(size) if size == 1 else (
                    f"{size} nodes, sent to a node that does not hold the account" if accounts == 1
                    else f"{size} nodes, the accounts held by different nodes, each MULDES sent "
                    "to a node that does not hold its account")
                rows.append(p2_row(f"{what}, {where}", figures))
        if 2 in args.nodes:
            bg.progress("forwarding cost")
            with server.cluster(2) as pair:
                rows += forward_rows(*forwarding(pair, args.forward_requests))
        about = server.about
    took_min = (time.monotonic() - started) / 60
    header = ("| measurement | rate | latency | completion, CPU | PostgreSQL commits |\n"
              "|---|---|---|---|---|\n")
    table = header + "".join(f"| {' | '.join(r)} |\n" for r in rows)
    print(table)
    bg.progress(f"took {took_min:.1f} min")
    if args.no_record:
        return
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    command = ".venv/bin/python bench/bench_cluster.py " + shlex.join(sys.argv[1:])
    with open(bg.ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write(
            f"\n## Cluster: one node against two ({date})\n\nCommand: `{command.strip()}`\n\n"
            "Nodes (`run.py`, cluster secret set, lease "
            f"{LEASE_S:g} s, 64 shards, each with its own binds; devcluster.cluster), one SMSC "
            f"simulator, one PostgreSQL ({about}) and the load "
            "(raw-socket HTTP/1.1 processes) on 2 cores; a fresh cluster and database for "
            "every row. Commits: `pg_stat_database.xact_commit` deltas of the cluster's "
            f"database over the measurement. The run took {took_min:.1f} min.\n\n" + table
        )


if __name__ == "__main__":
    main()
