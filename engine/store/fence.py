"""Epoch fencing: a node's writes for an account count only while it holds the
account's shard under the epoch it took it with.

A node of a cluster (`engine.cluster`) tells the fence which shards it holds and
their epochs. Every account batch and every attempt record runs `check` first,
in the same transaction: it reads the shards' rows `FOR SHARE`, so a node taking
a shard over (an UPDATE of that row, with a new epoch) waits for the transaction
to end, and a transaction of a node that lost the shard finds another epoch and
writes nothing. A gateway alone on its store has no fence."""

from __future__ import annotations

from collections.abc import Iterable

from engine.model import shard_of
from engine.store.sql import Connection, StoreError


class StaleShard(StoreError):
    """This node no longer holds the account's shard: the write was refused."""


class Fence:
    """The shards this node holds and their epochs (changed by its cluster node)."""

    def __init__(self, node: str, shards: int) -> None:
        self.node = node
        self.shards = shards
        self.epochs: dict[int, int] = {}
        self.refused = 0
        """Writes refused so far (a stale epoch)."""

    def shard(self, account_id: int) -> int:
        return shard_of(account_id, self.shards)

    def held(self, conn: Connection, account_ids: Iterable[int]) -> set[int]:
        """The shards among those of `account_ids` this node still holds under its
        epoch, their rows locked for the rest of the transaction."""
        wanted = {self.shard(a) for a in account_ids}
        epochs = {s: self.epochs[s] for s in wanted if s in self.epochs}
        if not epochs:
            return set()
        rows = conn.execute(
            "SELECT s.shard FROM cluster_shards s"
            " JOIN unnest(?::bigint[], ?::bigint[]) AS h(shard, epoch)"
            " ON s.shard = h.shard AND s.epoch = h.epoch"
            " WHERE s.noeud = ? FOR SHARE OF s",
            (list(epochs), list(epochs.values()), self.node),
        ).fetchall()
        return {int(r[0]) for r in rows}

    def check(self, conn: Connection, account_id: int) -> None:
        """Raise `StaleShard` unless this node holds the account's shard."""
        if not self.held(conn, (account_id,)):
            self.refused += 1
            raise StaleShard(
                f"account {account_id}: shard {self.shard(account_id)} is no longer held "
                f"by node {self.node}"
            )
