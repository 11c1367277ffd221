"""The cluster's database as the tests audit it, from outside the nodes."""

from __future__ import annotations

from typing import Any

import psycopg

from devcluster.cluster import Cluster

DB_NOW = "extract(epoch FROM clock_timestamp())"
"""The database's clock (POSIX seconds), as the cluster's tables keep time."""


def audit(cluster: Cluster) -> psycopg.Connection[Any]:
    """A new autocommit connection to the cluster's database (close it after use)."""
    return psycopg.connect(cluster.data_url, autocommit=True, connect_timeout=10,
                           application_name="smsgw-audit")


def held_shards(cluster: Cluster) -> str:
    """SQL: each shard (`shard`) with its holder (`noeud`) while that node is live
    (its last beat within the lease)."""
    return (
        "SELECT s.shard, s.noeud FROM cluster_shards s JOIN cluster_nodes n ON n.noeud = s.noeud"
        f" WHERE n.vu_le >= {DB_NOW} - {float(cluster.lease_s)}"
    )
