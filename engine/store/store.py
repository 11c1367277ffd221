"""The store: sole owner of the SQLite writer connection, and of all SQL.

The rest of the engine calls its named operations (`store.accounts`,
`store.ledger`, `store.messages`, ... in `engine.store.operations`) with plain
data and never sees a connection. Underneath, one long-lived writer thread owns
the connection (WAL; `synchronous=FULL` by default, `NORMAL` when the operator
chooses speed, see `config.settings.SyncMode`). Each write operation hands it a
whole transaction as a function of the connection (`transact`); the thread
drains every job queued so far, runs each inside its own SAVEPOINT and commits
the group once (group commit), then wakes every caller with one hop back into
trio. A job that raises is rolled back alone; its exception is
re-raised in its caller. `transact` returns only after the commit: what it wrote
is durable.

Cancellation: a job handed over is always executed and committed, even if its
caller was cancelled while waiting (a whole transaction never half-happens).

Reads run on separate connections in worker threads (`read`); WAL readers do not
block the writer.
"""

from __future__ import annotations

import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

from config.settings import SyncMode
from engine.store import operations
from engine.store.schema import MIGRATIONS

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]


BACKEND = "sqlite"
_SYNCHRONOUS = {SyncMode.FULL: 2, SyncMode.NORMAL: 1}
"""SQLite's `PRAGMA synchronous` level for each mode."""


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    """The writer as operators see it: which database and how durable its
    commits are, its queue, and how long the last group commit took."""

    backend: str
    sync: SyncMode
    queue_depth: int
    transactions: int
    commits: int
    last_commit_ms: float
    last_group_size: int


class _Pending:
    __slots__ = ("event", "result", "error")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class Durability:
    """What the writer connection itself reports: its journal mode and its
    `PRAGMA synchronous` level (2 FULL, 1 NORMAL)."""

    backend: str
    journal_mode: str
    synchronous: int


def connect(path: Path, sync: SyncMode = SyncMode.FULL) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={_SYNCHRONOUS[sync]}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    # statement journals (a SAVEPOINT per job) in memory, not in a temporary file
    # opened and unlinked many times a second
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def durability(conn: sqlite3.Connection) -> Durability:
    """Read back the connection's journal mode and synchronous level."""
    journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    return Durability(BACKEND, str(journal_mode).lower(), int(synchronous))


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Store:
    """Owns the SQLite file. Start it with `serve` in a nursery before any call.

    `sync` sets how hard each group commit waits for the disk (FULL by default).
    """

    def __init__(
        self, path: Path, *, sync: SyncMode = SyncMode.FULL, read_threads: int = 4
    ) -> None:
        self.path = path
        self.sync = sync
        self._jobs: queue.SimpleQueue[tuple[Job, _Pending] | None] = queue.SimpleQueue()
        self._token: trio.lowlevel.TrioToken | None = None
        self._queued = 0
        self._transactions = 0
        self._commits = 0
        self._last_commit_ms = 0.0
        self._last_group = 0
        self._read_limiter = trio.CapacityLimiter(read_threads)
        self._local = threading.local()
        self._closed = False
        self._writable = True
        self.accounts = operations.Accounts(self)
        self.keys = operations.Keys(self)
        self.ledger = operations.LedgerOps(self)
        self.idempotency = operations.IdempotencyOps(self)
        self.messages = operations.Messages(self)
        self.receipts = operations.Receipts(self)
        self.campaigns = operations.Campaigns(self)
        self.reads = operations.Reads(self)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Open the database, migrate it, run the writer until cancelled.

        On cancellation every job already handed over is committed before this
        returns.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await trio.to_thread.run_sync(self._open_writer)
        self._token = trio.lowlevel.current_trio_token()
        thread = threading.Thread(target=self._writer_loop, args=(conn,), name="store-writer")
        thread.start()
        try:
            task_status.started(self)
            await trio.sleep_forever()
        finally:
            self._closed = True
            self._jobs.put(None)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(thread.join)

    def _open_writer(self) -> sqlite3.Connection:
        conn = connect(self.path, self.sync)
        level = durability(conn).synchronous
        if level != _SYNCHRONOUS[self.sync]:
            conn.close()
            raise sqlite3.OperationalError(
                f"SQLite kept synchronous={level}, asked {_SYNCHRONOUS[self.sync]} ({self.sync})"
            )
        migrate(conn)
        return conn

    async def durability(self) -> Durability:
        """What the writer connection reports of its durability, asked in the
        writer thread (behind the writes queued before)."""
        return await self.transact(durability)

    async def transact(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job(conn)` as one transaction in the writer; return once committed.

        For the store's own operations (and tests that audit the database): the
        rest of the engine calls the named operations."""
        if self._closed or self._token is None:
            raise RuntimeError("store is not running")
        pending = _Pending()
        self._queued += 1
        self._jobs.put((job, pending))
        with trio.CancelScope(shield=True):
            await pending.event.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[no-any-return]

    def _writer_loop(self, conn: sqlite3.Connection) -> None:
        stop = False
        while not stop:
            first = self._jobs.get()
            group: list[tuple[Job, _Pending]] = []
            if first is None:
                stop = True
            else:
                group.append(first)
            while True:
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    group.append(item)
            if group:
                self._run_group(conn, group)
        conn.close()

    def _run_group(self, conn: sqlite3.Connection, group: list[tuple[Job, _Pending]]) -> None:
        started = time.perf_counter()
        results: list[tuple[_Pending, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, pending in group:
                conn.execute("SAVEPOINT job")
                try:
                    value = job(conn)
                except Exception as exc:  # noqa: BLE001 - handed back to the caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((pending, None, exc))
                else:
                    conn.execute("RELEASE job")
                    results.append((pending, value, None))
            conn.execute("COMMIT")
            self._writable = True
        except sqlite3.Error as exc:
            self._writable = False
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(pending, None, exc) for _, pending in group]
        self._last_commit_ms = (time.perf_counter() - started) * 1000
        self._last_group = len(group)
        self._transactions += len(group)
        self._commits += 1
        assert self._token is not None
        try:
            self._token.run_sync_soon(self._deliver, results)
        except trio.RunFinishedError:
            pass

    def _deliver(self, results: list[tuple[_Pending, Any, BaseException | None]]) -> None:
        self._queued -= len(results)
        for pending, value, error in results:
            pending.result = value
            pending.error = error
            pending.event.set()

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read-only `query(conn)` on a reader connection in a worker thread
        (for the store's own operations, and tests that audit the database)."""
        return await trio.to_thread.run_sync(
            self._run_read, query, limiter=self._read_limiter
        )

    def _run_read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=5000")
            self._local.conn = conn
        conn.execute("BEGIN")
        try:
            return query(conn)
        finally:
            conn.execute("COMMIT")

    @property
    def writable(self) -> bool:
        return self._writable and not self._closed

    def statistics(self) -> StoreStatistics:
        return StoreStatistics(
            backend=BACKEND,
            sync=self.sync,
            queue_depth=self._queued,
            transactions=self._transactions,
            commits=self._commits,
            last_commit_ms=round(self._last_commit_ms, 3) if math.isfinite(self._last_commit_ms) else 0.0,
            last_group_size=self._last_group,
        )
