"""Several gateway nodes on one PostgreSQL database (contract section 14).

`Solo` is a gateway alone on its store: it holds every account. `Cluster`
(engine/cluster/node.py) is one node of several: it registers and heartbeats in
the database, holds shards of accounts under leases with epochs, and says which
node holds an account, so a command for it is decided in one place."""

from __future__ import annotations

from engine.cluster.solo import Solo, claim_alone, default_node_name

__all__ = ["Solo", "claim_alone", "default_node_name"]
