"""Several gateway nodes on one PostgreSQL: one node against two, and what forwarding costs.

    .venv/bin/python bench/bench_cluster.py [--quick] [--p1-requests N] [--p2-recipients N]
        [--forward-requests N] [--no-record]

One run starts one throwaway PostgreSQL server and one SMSC simulator (the pieces of
bench_gateway.py), then for each row a fresh cluster on a fresh database: one node,
or two (`run.py` processes with the same `SMSGW_CLUSTER_SECRET`), each with its own
binds to the simulator. A cluster of one node is a cluster too (secret set, shards
held under leases), so the two columns differ by the second node only. The load is
bench_gateway.py's (raw keep-alive HTTP/1.1 from worker processes).

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
  request (both nodes) of each, and the difference, which is what a forwarded
  request costs.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import bench_gateway as bg
import httpx

CLUSTER_SECRET = "secret-de-grappe-bench"  # noqa: S105 (a throwaway cluster's)
LEASE_S = "2"
SETTLE_S = 60.0
"""How long a new cluster may take to share its shards evenly."""
STATS_FLUSH_S = 11.0
"""A PostgreSQL backend gone idle publishes its counts within 10 s
(PGSTAT_IDLE_INTERVAL): the last commits of a measurement are read after this."""

Row = tuple[str, str, str, str, str]
"""One line of the table: measurement, rate, latency, completion and CPU, commits."""


# -- the cluster --------------------------------------------------------------------------


@dataclass
class LocalCluster:
    """`size` nodes (`run.py`, bench_gateway.GatewayProcess) on one fresh database of
    the run's PostgreSQL server, bound to the run's simulator."""

    nodes: list[bg.GatewayProcess]
    database: str
    dsn: str

    @classmethod
    def start(cls, sim: bg.Simulator, size: int) -> LocalCluster:
        database, url = bg.POSTGRES.fresh()
        nodes = []
        for n in range(size):
            nodes.append(bg.GatewayProcess(sim.smpp_port, bg.Checkout.of(bg.ROOT, this=True), {
                "SMSGW_DATA_URL": url,
                "SMSGW_CLUSTER_SECRET": CLUSTER_SECRET,
                "SMSGW_CLUSTER_NODE": f"noeud-{n + 1}",
                "SMSGW_CLUSTER_LEASE_S": LEASE_S,
            }))
        cluster = cls(nodes, database, url)
        cluster.wait_shared()
        return cluster

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def view(self) -> dict[str, Any]:
        """GET /api/V1/admin/cluster from the first node."""
        r = httpx.get(self.urls[0] + "/api/V1/admin/cluster", timeout=10,
                      headers={"Authorization": f"Bearer {bg.ADMIN}"})
        r.raise_for_status()
        return dict(r.json())

    def wait_shared(self) -> None:
        """Until every node is live and holds its even share of the shards."""
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            view = self.view()
            held = [len(n["partitions"]) for n in view["noeuds"] if n["vivant"]]
            if len(held) == len(self.nodes) and sum(held) == view["partitions"] and (
                    max(held) - min(held) <= 1):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the shards were not shared within {SETTLE_S} s: {self.view()}")

    def holder(self, account_id: int) -> int:
        """The index in `nodes` of the node holding the account."""
        view = self.view()
        shard = account_id % view["partitions"]
        names = [n["noeud"] for n in view["noeuds"] if shard in n["partitions"]]
        return [f"noeud-{i + 1}" for i in range(len(self.nodes))].index(names[0])

    def account(self, solde: int, held_by: int) -> tuple[int, str]:
        """A new prepaid account held by node `held_by`: its id and key (accounts
        created on the way, held by another node, are left unused)."""
        for _ in range(64):
            key = self.nodes[0].account(solde)
            me = httpx.get(self.urls[0] + "/api/V1/compte", headers={"X-API-Key": key}).json()
            if self.holder(int(me["id"])) == held_by:
                return int(me["id"]), key
        raise RuntimeError(f"no account held by node {held_by + 1}")

    def cpu_s(self) -> float:
        """CPU seconds every node has used so far."""
        return sum(bg.cpu_s(node.proc.pid) for node in self.nodes)

    def commits(self) -> int:
        """pg_stat_database.xact_commit of the cluster's database right now."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                               (self.database,)).fetchone()
        assert row is not None
        return int(row[0])

    def stop(self) -> None:
        """Stop every node (SIGTERM: each hands its shards over), drop the database."""
        for node in reversed(self.nodes):
            node.stop()
        bg.POSTGRES.drop(self.database)


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


def in_cluster(sim: bg.Simulator, size: int, measure: Callable[[LocalCluster], bg.Figures]) -> bg.Figures:
    """`measure` on a fresh cluster of `size` nodes, stopped afterwards."""
    cluster = LocalCluster.start(sim, size)
    try:
        return measure(cluster)
    finally:
        cluster.stop()


# -- measurements -------------------------------------------------------------------------


def spread_load(jobs: Sequence[tuple[str, str]], total: int) -> bg.Figures:
    """`total` UNIDES from bench_gateway's load workers, one per (url, key) job,
    the 50 connections shared among them: rate, p50/p99, failures."""
    per = total // len(jobs)
    shares = [bg.CONNECTIONS // len(jobs) + (i < bg.CONNECTIONS % len(jobs)) for i in range(len(jobs))]
    work = [(url, key, per, shares[i], i * per, "") for i, (url, key) in enumerate(jobs)]
    with multiprocessing.get_context("spawn").Pool(len(work)) as pool:
        results = pool.map(bg._load_worker, work)
    elapsed = max(e for _, _, e in results)
    latencies = sorted(x for lat, _, _ in results for x in lat)
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "failures": sum(f for _, f, _ in results),
    }


def p1(cluster: LocalCluster, requests: int) -> bg.Figures:
    """Two accounts (one held by each node when there are two), each sending half
    of its UNIDES through each node."""
    size = len(cluster.nodes)
    keys = [cluster.account(requests, held_by=i % size)[1] for i in range(2)]
    jobs = [(url, key) for key in keys for url in (cluster.urls * 2)[:2]]
    measure = Measure(cluster)
    figures = spread_load(jobs, requests)
    for i, key in enumerate(keys):
        bg.wait_settled(cluster.urls[i % size], key)
    figures.update(measure.done(requests))
    figures["forwarded_pct"] = 50.0 if size > 1 else 0.0
    return figures


def p2(cluster: LocalCluster, recipients: int, accounts: int) -> bg.Figures:
    """`accounts` MULDES of `recipients / accounts` at once, account i held by node
    i (modulo the nodes), each sent to the next node (the holder when alone)."""
    size = len(cluster.nodes)
    each = recipients // accounts
    keys = [cluster.account(each, held_by=i % size)[1] for i in range(accounts)]
    measure = Measure(cluster)
    t0 = time.perf_counter()
    with multiprocessing.pool.ThreadPool(accounts) as pool:
        refs = pool.starmap(bg.muldes, [
            (cluster.urls[(i + 1) % size], key, each, i * each) for i, key in enumerate(keys)])
    accepted_s = time.perf_counter() - t0
    for i, key in enumerate(keys):
        bg.wait_settled(cluster.urls[i % size], key)
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
    bg.wait_settled(cluster.urls[0], key)
    out = []
    for n, url in enumerate(cluster.urls):
        measure = Measure(cluster)
        latencies = sequential(url, key, requests, (n + 1) * requests)
        bg.wait_settled(cluster.urls[0], key)
        figures = measure.done(requests)
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
                f"{f['cpu_us']:.0f} µs CPU a request (both nodes, sending included)",
                f"{f['commits_s']:,.0f}/s")

    return [
        row("UNIDES one at a time, to the holder", direct),
        row("UNIDES one at a time, to the other node (forwarded)", forwarded),
        ("Forwarding cost a request", "",
         f"+{forwarded['p50_ms'] - direct['p50_ms']:.2f} ms p50, "
         f"+{forwarded['p99_ms'] - direct['p99_ms']:.2f} ms p99",
         f"+{forwarded['cpu_us'] - direct['cpu_us']:.0f} µs CPU", ""),
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
    sim = bg.Simulator()
    try:
        for size in args.nodes:
            bg.progress(f"P1 through {nodes_label(size)}")
            rows.append(p1_row(size, in_cluster(sim, size, partial(p1, requests=args.p1_requests))))
        for accounts in (1, 2):
            for size in args.nodes:
                bg.progress(f"P2 {accounts} account(s) through {nodes_label(size)}")
                figures = in_cluster(sim, size, partial(p2, recipients=n, accounts=accounts))
                what = (f"P2 MULDES {n:,}, receipts on" if accounts == 1
                        else f"P2 two MULDES {n // 2:,} at once (two accounts)")
                where = nodes_label(size) if size == 1 else (
                    f"{size} nodes, sent to a node that does not hold the account" if accounts == 1
                    else f"{size} nodes, the accounts held by different nodes, each MULDES sent "
                    "to a node that does not hold its account")
                rows.append(p2_row(f"{what}, {where}", figures))
        if 2 in args.nodes:
            bg.progress("forwarding cost")
            pair = LocalCluster.start(sim, 2)
            try:
                rows += forward_rows(*forwarding(pair, args.forward_requests))
            finally:
                pair.stop()
    finally:
        sim.stop()
        bg.POSTGRES.stop()
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
            f"{LEASE_S} s, 64 shards, each with its own binds), one SMSC simulator, one "
            f"PostgreSQL ({bg.POSTGRES.about or 'throwaway server'}) and the load "
            "(raw-socket HTTP/1.1 processes) on 2 cores; a fresh cluster and database for "
            "every row. Commits: `pg_stat_database.xact_commit` deltas of the cluster's "
            f"database over the measurement. The run took {took_min:.1f} min.\n\n" + table
        )


if __name__ == "__main__":
    main()
