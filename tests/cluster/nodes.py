"""Two gateway nodes on one database for the cluster tests: their settings, and
waiting until they share the shards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from smsgw_cli.cluster import DB_NOW, Cluster, SimulatorProcess, eventually, nodes_on
from smsgw_cli.postgres import create_database

LEASE_S = 1.0
SHARDS = 64
NODE_ENV = {
    # one API key sends thousands of requests a second here
    "SMSGW_HTTP_RATE_LIMIT_PER_S": "1000000",
    "SMSGW_HTTP_RATE_LIMIT_BURST": "1000000",
    # a new bind opens its window at once: drains are timed by the simulator's latency
    "SMSGW_SMSC_PROBE_SUBMITS": "0",
}
DEFAULT_KNOBS = {"latency": "fixed:0", "window_size": 0, "throughput_cap_per_s": 0,
                 "error_rate": 0, "rules": []}


@contextmanager
def two_nodes(dsn: str, simulator: SimulatorProcess, name: str) -> Iterator[Cluster]:
    """Two nodes on a fresh database `name`, every shard held and both holding some;
    the end of each node's log printed at the end."""
    url = create_database(dsn, name)
    with nodes_on(url, simulator, 2, lease_s=LEASE_S, shards=SHARDS, env=NODE_ENV, grace_s=0) as nodes:
        try:
            ready(nodes)
            yield nodes
        finally:
            for node in nodes.nodes:
                print(f"----- {node.name} (pid {node.pid}, {node.url}) -----\n{node.log_tail(80)}")


def ready(cluster: Cluster) -> None:
    """Wait until every shard is held, by both nodes."""
    eventually(lambda: shared(cluster), 15, what="every shard held, by both nodes")


def holdings(cluster: Cluster) -> dict[str, int]:
    """How many shards each node holds under an unexpired lease (the database's view)."""
    with cluster.audit() as conn:
        rows = conn.execute(
            f"SELECT noeud, count(*) FROM cluster_shards WHERE expire_le > {DB_NOW} GROUP BY noeud"
        ).fetchall()
    return {str(node): int(count) for node, count in rows}


def shared(cluster: Cluster) -> bool:
    held = holdings(cluster)
    return sum(held.values()) == SHARDS and all(held.get(n.name, 0) > 0 for n in cluster.nodes)
