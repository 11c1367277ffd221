"""Several gateway nodes on one database: what the operator sees of them.

Accounts fall into a fixed number of shards (`shard_of`); each shard is held
by one live node under a lease with an epoch. These records are what
GET /api/V1/admin/cluster answers and the operator console shows."""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(account_id: int, shards: int) -> int:
    """The shard an account falls into (fixed for a database)."""
    return account_id % shards


@dataclass(frozen=True, slots=True)
class NodeView:
    """One node as the database knows it."""

    noeud: str
    """Its unique name."""
    url: str
    """Where the other nodes reach its HTTP API."""
    vu_le: str
    """Its last heartbeat (ISO 8601 UTC, the database's clock)."""
    demarre_le: str
    """When it registered (ISO 8601 UTC)."""
    vivant: bool
    """Its heartbeat is within the lease."""
    partitions: tuple[int, ...]
    """The shards it holds."""
    bail_age_s: float | None
    """Seconds since the oldest of its leases was renewed (None: it holds none)."""
    relais_par_s: float
    """Commands it forwarded to other nodes per second (over its last heartbeat)."""
    comptes_actifs: int
    """Live account actors on it (as of its last heartbeat)."""


@dataclass(frozen=True, slots=True)
class ClusterView:
    """The cluster as seen from the node answering."""

    noeud: str
    """The node answering."""
    partitions: int
    """How many shards the accounts fall into."""
    bail_s: float
    """The lease (`cluster.lease_s`)."""
    noeuds: tuple[NodeView, ...]
    """Every node registered, live ones first, by name."""
