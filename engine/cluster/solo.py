"""A gateway alone on its store: one node that holds every account."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.clock import WallClock
from engine.model import AccountId, ClusterView, NodeView, iso
from engine.store import Store, StoreError

if TYPE_CHECKING:
    from engine.store.leases import LeaseBook


def default_node_name(port: int) -> str:
    """A node's name when `cluster.node` is empty: the host name and HTTP port."""
    return f"{socket.gethostname()}:{port}"


class Solo:
    """The only node: every account is its own, nothing is forwarded."""

    clustered = False

    def __init__(self, node: str, url: str, clock: WallClock, *, shards: int, lease_s: float) -> None:
        self.node = node
        self.url = url
        self._clock = clock
        self._shards = shards
        self._lease_s = lease_s
        self._started = iso(clock.now())
        self.live_actors: Callable[[], int] = lambda: 0
        """How many account actors run here (set by the runtime)."""

    def rename(self, node: str) -> None:
        self.node = node

    def holds(self, account_id: AccountId) -> bool:
        return True

    def may_host(self, account_id: AccountId) -> bool:
        return True

    async def view(self) -> ClusterView:
        now = iso(self._clock.now())
        return ClusterView(
            noeud=self.node,
            partitions=self._shards,
            bail_s=self._lease_s,
            noeuds=(
                NodeView(
                    noeud=self.node,
                    url=self.url,
                    vu_le=now,
                    demarre_le=self._started,
                    vivant=True,
                    partitions=tuple(range(self._shards)),
                    bail_age_s=None,
                    relais_par_s=0.0,
                    comptes_actifs=self.live_actors(),
                ),
            ),
        )


async def claim_alone(store: Store) -> LeaseBook | None:
    """A gateway alone on a PostgreSQL database makes sure it is alone: a second
    gateway without `cluster.secret` on the same database (and schema) would send
    the same waiting messages twice. Returns the connection that holds the claim
    (keep it open for the process's life), None on SQLite; `StoreError` when
    another gateway (alone, or nodes of a cluster) uses the database."""
    params = getattr(store.backend, "params", None)
    if params is None:
        return None
    from engine.store.leases import LeaseBook

    book = LeaseBook(params)
    if not await book.lock_database(shared=False):
        book.close()
        raise StoreError(
            "another gateway is running on this database: run one gateway per database, "
            "or make every one a node of a cluster (the same cluster.secret on each)"
        )
    return book
