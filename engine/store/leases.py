"""The cluster's tables, read and written on a node's own PostgreSQL connection.

`LeaseBook` owns that connection (apart from the store's writer, so a heartbeat
never waits behind a large group of writes) and runs each function below in a
worker thread, one at a time. Every function is synchronous (psycopg 3's
synchronous API) and runs in one transaction. Times are the database's clock
(`clock_timestamp()`, POSIX seconds), so nodes on machines with different
clocks agree on who holds what.

psycopg is imported by `connect`, when a book first opens its connection: a
gateway on SQLite imports this module without loading the driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from engine.store.sql import StoreError, driver_errors

if TYPE_CHECKING:
    import psycopg

_NOW = "extract(epoch FROM clock_timestamp())"


@dataclass(frozen=True, slots=True)
class ShardRow:
    shard: int
    noeud: str | None
    epoch: int
    pris_le: float


@dataclass(frozen=True, slots=True)
class NodeRow:
    noeud: str
    url: str
    demarre_le: float
    vu_le: float
    relais_par_s: float
    comptes_actifs: int


@dataclass(frozen=True, slots=True)
class Beat:
    """What one heartbeat saw: the database's time, the shards the database says
    this node holds (by epoch), every shard and every node."""

    now: float
    mine: dict[int, int]
    shards: tuple[ShardRow, ...]
    nodes: tuple[NodeRow, ...]

    def live(self, lease_s: float) -> set[str]:
        """The nodes whose last beat is within the lease."""
        return {n.noeud for n in self.nodes if n.vu_le >= self.now - lease_s}


def connect(params: Mapping[str, Any]) -> psycopg.Connection[Any]:
    conninfo = dict(params)
    conninfo.setdefault("connect_timeout", 5)
    conninfo["application_name"] = "smsgw-cluster"
    import psycopg

    return psycopg.connect(autocommit=True, **conninfo)


def register(
    conn: psycopg.Connection[Any], node: str, url: str, shards: int, lease_s: float
) -> float:
    """Create the shards' rows (once per database) and this node's; returns the
    database's time. `StoreError` when a node of this name is live (it beat within
    `lease_s`), or when the database's shards were made with another count."""
    with conn.transaction():
        live = conn.execute(
            f"SELECT 1 FROM cluster_nodes WHERE noeud = %s AND vu_le >= {_NOW} - %s",
            (node, lease_s),
        ).fetchone()
        if live is not None:
            raise StoreError(
                f"a cluster node named {node!r} is already running on this database: "
                "give each node its own cluster.node"
            )
        made = conn.execute("SELECT count(*) FROM cluster_shards").fetchone()
        if made is not None and made[0] and int(made[0]) != shards:
            raise StoreError(
                f"this database's accounts fall into {made[0]} shards, not {shards}: "
                "every node needs the same cluster.shards"
            )
        conn.execute(
            "INSERT INTO cluster_shards (shard) SELECT generate_series(0, %s - 1)"
            " ON CONFLICT (shard) DO NOTHING",
            (shards,),
        )
        row = conn.execute(
            f"INSERT INTO cluster_nodes (noeud, url, demarre_le, vu_le) VALUES (%s, %s, {_NOW}, {_NOW})"
            " ON CONFLICT (noeud) DO UPDATE SET url = excluded.url,"
            " demarre_le = excluded.demarre_le, vu_le = excluded.vu_le"
            " RETURNING vu_le",
            (node, url),
        ).fetchone()
    assert row is not None
    return float(row[0])


def beat(
    conn: psycopg.Connection[Any],
    node: str,
    url: str,
    *,
    pid: int,
    relais_par_s: float,
    comptes_actifs: int,
    forget_after_s: float,
) -> Beat:
    """Renew this node's heartbeat (which renews the lease of every shard it
    holds: the shards' rows are not written, so a renewal never waits behind the
    node's own fenced writes), forget nodes unseen for `forget_after_s`, and read
    every shard and node."""
    with conn.transaction():
        conn.execute(
            f"INSERT INTO cluster_nodes (noeud, url, demarre_le, vu_le, pid, relais_par_s,"
            f" comptes_actifs) VALUES (%s, %s, {_NOW}, {_NOW}, %s, %s, %s)"
            f" ON CONFLICT (noeud) DO UPDATE SET vu_le = {_NOW}, pid = excluded.pid,"
            " relais_par_s = excluded.relais_par_s, comptes_actifs = excluded.comptes_actifs",
            (node, url, pid, relais_par_s, comptes_actifs),
        )
        conn.execute(
            f"DELETE FROM cluster_nodes WHERE vu_le < {_NOW} - %s AND noeud <> %s",
            (forget_after_s, node),
        )
        now, shards, nodes = _read(conn)
    mine = {r.shard: r.epoch for r in shards if r.noeud == node}
    return Beat(now, mine, shards, nodes)


def _read(
    conn: psycopg.Connection[Any],
) -> tuple[float, tuple[ShardRow, ...], tuple[NodeRow, ...]]:
    now_row = conn.execute(f"SELECT {_NOW}").fetchone()
    assert now_row is not None
    shards = tuple(
        ShardRow(int(s), n, int(e), float(p))
        for s, n, e, p in conn.execute(
            "SELECT shard, noeud, epoch, pris_le FROM cluster_shards ORDER BY shard"
        ).fetchall()
    )
    nodes = tuple(
        NodeRow(n, u, float(d), float(v), float(r), int(a))
        for n, u, d, v, r, a in conn.execute(
            "SELECT noeud, url, demarre_le, vu_le, relais_par_s, comptes_actifs"
            " FROM cluster_nodes ORDER BY noeud"
        ).fetchall()
    )
    return float(now_row[0]), shards, nodes


def read(conn: psycopg.Connection[Any], node: str = "") -> Beat:
    """Every shard and node, as they stand (nothing renewed)."""
    with conn.transaction():
        now, shards, nodes = _read(conn)
    return Beat(now, {r.shard: r.epoch for r in shards if r.noeud == node}, shards, nodes)


def acquire(
    conn: psycopg.Connection[Any], node: str, wanted: Sequence[int], lease_s: float,
    wait_s: float,
) -> dict[int, int]:
    """Take the shards of `wanted` that nobody holds, that this node's earlier
    life held, or whose holder's last beat is older than the lease, each under a
    new epoch; returns those taken with their epochs.

    A holder that froze in the middle of a write still holds its transaction's
    locks on the shards' rows: its store session is ended first (its `pid`), which
    rolls that transaction back. The takeover waits at most `wait_s` for a lock,
    else takes nothing this time."""
    if not wanted:
        return {}
    from psycopg.errors import LockNotAvailable  # loaded with `conn`

    with conn.transaction():
        conn.execute(
            f"SELECT pg_terminate_backend(n.pid::integer) FROM cluster_nodes n"
            f" WHERE n.pid <> 0 AND n.noeud <> %s AND n.vu_le < {_NOW} - %s"
            " AND EXISTS (SELECT 1 FROM cluster_shards s WHERE s.noeud = n.noeud"
            " AND s.shard = ANY(%s::bigint[]))",
            (node, lease_s, list(wanted)),
        )
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = {max(int(wait_s * 1000), 1)}")
            rows = conn.execute(
                f"UPDATE cluster_shards s SET noeud = %s, epoch = s.epoch + 1, pris_le = {_NOW}"
                " WHERE s.shard = ANY(%s::bigint[]) AND (s.noeud IS NULL OR s.noeud = %s"
                " OR NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.noeud = s.noeud"
                f" AND n.vu_le >= {_NOW} - %s))"
                " RETURNING s.shard, s.epoch",
                (node, list(wanted), node, lease_s),
            ).fetchall()
    except LockNotAvailable:
        return {}
    return {int(s): int(e) for s, e in rows}


def release(conn: psycopg.Connection[Any], node: str, shards: Mapping[int, int]) -> None:
    """Give shards up (a hand-over): free at once for another node."""
    if not shards:
        return
    with conn.transaction():
        conn.execute(
            "UPDATE cluster_shards s SET noeud = NULL"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS h(shard, epoch)"
            " WHERE s.shard = h.shard AND s.epoch = h.epoch AND s.noeud = %s",
            (list(shards), list(shards.values()), node),
        )


def lock_database(conn: psycopg.Connection[Any], shared: bool) -> bool:
    """Mark this connection's session as a gateway on the database (its current
    schema): shared for the nodes of a cluster, exclusive for a gateway alone.
    False when the other kind holds it. Held until the connection closes."""
    kind = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    row = conn.execute(
        f"SELECT {kind}(hashtext('smsgw-gateway:' || current_schema()))"
    ).fetchone()
    return bool(row and row[0])


def leave(conn: psycopg.Connection[Any], node: str) -> None:
    """This node stops: its row goes."""
    with conn.transaction():
        conn.execute("DELETE FROM cluster_nodes WHERE noeud = %s", (node,))


def revoked_keys(conn: psycopg.Connection[Any], since: str) -> list[str]:
    """Hashes of the API keys revoked or replaced at `since` (ISO 8601) or later."""
    rows = conn.execute(
        "SELECT key_hash FROM api_keys WHERE revoque_le >= %s", (since,)
    ).fetchall()
    return [str(r[0]) for r in rows]


def _connection_failures() -> tuple[type[Exception], ...]:
    """What drops a book's connection: the driver's errors and the network's."""
    return (*driver_errors(), OSError)


class LeaseBook:
    """A node's connection to the cluster's tables (see the module's docstring).
    `open` before use; a failed call drops the connection, and the next opens a
    new one."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = dict(params)
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = trio.Lock()

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            if self._conn is None:
                self._conn = await trio.to_thread.run_sync(connect, self._params)
            conn = self._conn
            try:
                return await trio.to_thread.run_sync(lambda: fn(conn, *args, **kwargs))
            except _connection_failures():
                self._conn = None
                await trio.to_thread.run_sync(conn.close)
                raise

    async def register(self, node: str, url: str, shards: int, lease_s: float) -> float:
        result: float = await self._call(register, node, url, shards, lease_s)
        return result

    async def beat(
        self, node: str, url: str, *, pid: int, relais_par_s: float, comptes_actifs: int,
        forget_after_s: float,
    ) -> Beat:
        result: Beat = await self._call(
            beat, node, url, pid=pid, relais_par_s=relais_par_s,
            comptes_actifs=comptes_actifs, forget_after_s=forget_after_s,
        )
        return result

    async def read(self, node: str = "") -> Beat:
        result: Beat = await self._call(read, node)
        return result

    async def acquire(
        self, node: str, wanted: Sequence[int], lease_s: float, wait_s: float
    ) -> dict[int, int]:
        result: dict[int, int] = await self._call(acquire, node, wanted, lease_s, wait_s)
        return result

    async def release(self, node: str, shards: Mapping[int, int]) -> None:
        await self._call(release, node, shards)

    async def leave(self, node: str) -> None:
        await self._call(leave, node)

    async def lock_database(self, shared: bool) -> bool:
        result: bool = await self._call(lock_database, shared)
        return result

    async def revoked_keys(self, since: str) -> list[str]:
        result: list[str] = await self._call(revoked_keys, since)
        return result

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
