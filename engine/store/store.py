"""The store: sole owner of the writer connection, and of all SQL.

The rest of the engine calls its named operations (`store.accounts`,
`store.ledger`, `store.messages`, ... in `engine.store.operations`) with plain
data and never sees a connection. Underneath, one long-lived writer thread owns
the connection of its backend (`engine.store.sqlite`: a file in WAL mode;
`engine.store.postgres`: PostgreSQL through psycopg), durable at every commit
unless the operator chose speed (`config.settings.SyncMode`). Each write
operation hands it a whole transaction as a function of the connection
(`transact`); the thread drains every job queued so far, runs them one after the
other and commits the group once (group commit), then wakes every caller with
one hop back into trio. A job that raises is rolled back alone (the group is
rolled back and run again with each job inside its own SAVEPOINT); its exception
is re-raised in its caller. `transact` returns only after the commit: what it wrote
is durable.

Cancellation: a job handed over is always executed and committed, even if its
caller was cancelled while waiting (a whole transaction never half-happens).

Reads run on separate connections in worker threads (`read`), each in one
read-only transaction; they do not block the writer.

A PostgreSQL writer whose connection breaks fails the group in flight (its callers
get the error; nothing of it was committed) and reconnects for the next one.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import trio

from config.settings import SyncMode
from engine.store import operations
from engine.store.fence import Fence
from engine.store.sql import Connection, Durability, StoreError, driver_errors, is_postgres_url
from engine.store.sqlite import SqliteBackend

T = TypeVar("T")
Job = Callable[[Any], Any]


class Backend(Protocol):
    """What the store needs of a database: its connections and how to drive them."""

    name: str
    sync: SyncMode
    begin_write: str
    begin_read: str
    optimistic: bool
    """Run a group's jobs without a savepoint or a wait between them, and only when
    one fails roll the group back and run it again job by job (PostgreSQL: a
    round trip per job saved; SQLite: the SAVEPOINT and RELEASE statements)."""

    @property
    def where(self) -> str: ...

    def open_writer(self) -> Any: ...

    def open_reader(self) -> Any: ...

    def durability(self, conn: Any) -> Durability: ...

    def start_group(self, conn: Any) -> None:
        """Before a group's BEGIN (PostgreSQL: enter pipeline mode)."""

    def job_done(self, conn: Any) -> None:
        """After a job ran: make its errors surface now, not in a later job's."""

    def job_failed(self, conn: Any) -> None:
        """After a job raised, before its savepoint is rolled back."""

    def end_group(self, conn: Any) -> None:
        """After the group's COMMIT: collect its answer (a failed commit raises)."""

    def abandon_group(self, conn: Any) -> None:
        """After a failed group, before the rollback: drop what is pending."""

    def in_transaction(self, conn: Any) -> bool: ...

    def broken(self, conn: Any) -> bool: ...

    def close(self, conn: Any) -> None: ...


def backend_for(url: str, data_dir: Path, sync: SyncMode = SyncMode.FULL) -> Backend:
    """The backend `SMSGW_DATA_URL` names: empty for SQLite in `data_dir`,
    `postgresql://...` for PostgreSQL; `StoreError` for anything else."""
    if not url.strip():
        return SqliteBackend(data_dir / "smsgw.sqlite3", sync)
    if is_postgres_url(url):
        from engine.store.postgres import PostgresBackend  # psycopg: only for PostgreSQL

        return PostgresBackend(url, sync)
    raise StoreError(
        "SMSGW_DATA_URL must be empty (SQLite in the data folder) or postgresql://..."
    )


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    """The writer as operators see it: which database and how durable its
    commits are, its queue, and how long the last group commit took."""

    backend: str
    where: str
    sync: SyncMode
    queue_depth: int
    transactions: int
    commits: int
    last_commit_ms: float
    last_group_size: int
    replayed_groups: int = 0
    """Groups run again job by job because one of their jobs failed."""


class _Pending:
    __slots__ = ("event", "result", "error")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Probe(_Pending):
    """The writer's own empty transaction, tried while the store is not writable."""

    __slots__ = ()


def _probe(conn: Any) -> None:
    """An empty transaction: the store takes writes again when it commits."""


_PROBE_S = 1.0
"""How long a writer left unwritable by a failed group waits for work before it
tries an empty transaction of its own (so that a store with no traffic is not
reported unwritable for ever after one failure)."""


class Store:
    """Owns the database. Start it with `serve` in a nursery before any call.

    `target` is a SQLite file's path or a backend (`backend_for`); `sync` sets how
    hard each group commit waits for the disk (FULL by default) when a path is
    given.
    """

    def __init__(
        self,
        target: Path | Backend,
        *,
        sync: SyncMode = SyncMode.FULL,
        read_threads: int = 4,
    ) -> None:
        self.backend: Backend = (
            SqliteBackend(target, sync) if isinstance(target, Path) else target
        )
        self.sync = self.backend.sync
        self._jobs: queue.SimpleQueue[tuple[Job, _Pending] | None] = queue.SimpleQueue()
        self._token: trio.lowlevel.TrioToken | None = None
        self._queued = 0
        self._transactions = 0
        self._commits = 0
        self._last_commit_ms = 0.0
        self._last_group = 0
        self._replayed = 0
        self._read_limiter = trio.CapacityLimiter(read_threads)
        self._local = threading.local()
        self._readers: dict[int, Any] = {}
        self._busy: set[int] = set()
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writable = True
        self.accounts = operations.Accounts(self)
        self.keys = operations.Keys(self)
        self.ledger = operations.LedgerOps(self)
        self.idempotency = operations.IdempotencyOps(self)
        self.messages = operations.Messages(self)
        self.receipts = operations.Receipts(self)
        self.campaigns = operations.Campaigns(self)
        self.inbound = operations.Inbound(self)
        self.reads = operations.Reads(self)
        self.console = operations.Console(self)
        self.controls = operations.Controls(self)
        self.outbox = operations.Outbox(self)
        self.writer_pid = 0
        """The writer connection's server process id (PostgreSQL), 0 if none."""
        self.fence: Fence | None = None
        """Set on a node of a cluster: account writes count only under its epochs."""

    @property
    def where(self) -> str:
        """Where the data lives: a file's path, or PostgreSQL's host:port/database."""
        return self.backend.where

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Open the database, migrate it, run the writer until cancelled.

        On cancellation every job already handed over is committed before this
        returns. A database that cannot be opened raises `StoreError`.
        """
        conn = await trio.to_thread.run_sync(self.backend.open_writer)
        self._note_writer(conn)
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
                await trio.to_thread.run_sync(self._close_readers)

    async def durability(self) -> Durability:
        """What the writer connection reports of its durability, asked in the
        writer thread (behind the writes queued before)."""
        return await self.transact(self.backend.durability)

    async def transact(self, job: Callable[[Connection], T]) -> T:
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

    def _writer_loop(self, conn: Any) -> None:
        stop = False
        while not stop:
            try:
                first = self._jobs.get(timeout=None if self._writable else _PROBE_S)
            except queue.Empty:
                first = (_probe, _Probe())
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
                conn = self._run_group(conn, group)
        if conn is not None:
            self.backend.close(conn)

    def _run_group(self, conn: Any, group: list[tuple[Job, _Pending]]) -> Any:
        """Run and commit one group; return the connection for the next one
        (a new one when this one broke, None when none could be opened).

        A job may run twice: on a backend that runs groups optimistically, a
        group in which any job fails is rolled back whole and run again job by
        job, each in its own savepoint. Jobs therefore change nothing but the
        database (the store's operations are written so)."""
        started = time.perf_counter()
        results: list[tuple[_Pending, Any, BaseException | None]] | None = None
        backend = self.backend
        try:
            if conn is None:
                conn = backend.open_writer()
                self._note_writer(conn)
            if backend.optimistic:
                results = self._run_optimistic(conn, group)
            if results is None:
                results = self._run_careful(conn, group)
            self._writable = True
        except Exception as exc:  # noqa: BLE001 - the whole group failed: every caller hears it
            self._writable = False
            conn = self._after_failure(conn)
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
        return conn

    def _run_optimistic(
        self, conn: Any, group: list[tuple[Job, _Pending]]
    ) -> list[tuple[_Pending, Any, BaseException | None]] | None:
        """Every job of the group one after the other, one COMMIT, no wait in
        between; None (everything rolled back) when anything failed, except
        when the group's one job raised: its caller hears why (rolled back,
        there is nothing else to run again)."""
        backend = self.backend
        values: list[Any] = []
        in_job = False
        try:
            backend.start_group(conn)
            conn.execute(backend.begin_write)
            for job, _ in group:
                in_job = True
                values.append(job(conn))
                in_job = False
            conn.execute("COMMIT")
            backend.end_group(conn)
        except Exception as exc:
            if backend.broken(conn):
                raise
            backend.abandon_group(conn)
            if backend.in_transaction(conn):
                conn.execute("ROLLBACK")
            if in_job and len(group) == 1:
                return [(group[0][1], None, exc)]
            self._replayed += 1
            return None
        return [(pending, value, None) for (_, pending), value in zip(group, values, strict=True)]

    def _run_careful(
        self, conn: Any, group: list[tuple[Job, _Pending]]
    ) -> list[tuple[_Pending, Any, BaseException | None]]:
        """Every job in its own savepoint: a job that fails is rolled back alone
        and its caller hears why; the others commit."""
        backend = self.backend
        results: list[tuple[_Pending, Any, BaseException | None]] = []
        backend.start_group(conn)
        conn.execute(backend.begin_write)
        for job, pending in group:
            conn.execute("SAVEPOINT job")
            try:
                value = job(conn)
                backend.job_done(conn)
            except Exception as exc:  # noqa: BLE001 - handed back to the caller
                if backend.broken(conn):
                    raise
                backend.job_failed(conn)
                conn.execute("ROLLBACK TO SAVEPOINT job")
                conn.execute("RELEASE SAVEPOINT job")
                backend.job_done(conn)
                results.append((pending, None, exc))
            else:
                conn.execute("RELEASE SAVEPOINT job")
                results.append((pending, value, None))
        conn.execute("COMMIT")
        backend.end_group(conn)
        return results

    def _note_writer(self, conn: Any) -> None:
        """Remember the writer's server process (PostgreSQL): a node of a cluster
        publishes it, so that a node taking its shards over after it froze can end
        that session and the locks its open transaction holds."""
        info = getattr(getattr(conn, "raw", None), "info", None)
        self.writer_pid = int(getattr(info, "backend_pid", 0) or 0)

    def _after_failure(self, conn: Any) -> Any:
        """Roll back what is open; drop a broken connection (the next group
        opens a new one)."""
        if conn is None:
            return None
        self.backend.abandon_group(conn)
        if self.backend.broken(conn):
            with contextlib.suppress(Exception):  # already broken
                self.backend.close(conn)
            return None
        try:
            if self.backend.in_transaction(conn):
                conn.execute("ROLLBACK")
        except driver_errors():
            self.backend.close(conn)
            return None
        return conn

    def _deliver(self, results: list[tuple[_Pending, Any, BaseException | None]]) -> None:
        self._queued -= sum(not isinstance(p, _Probe) for p, _, _ in results)
        for pending, value, error in results:
            pending.result = value
            pending.error = error
            pending.event.set()

    async def read(self, query: Callable[[Connection], T]) -> T:
        """Run a read-only `query(conn)` on a reader connection in a worker thread
        (for the store's own operations, and tests that audit the database)."""
        return await trio.to_thread.run_sync(
            self._run_read, query, limiter=self._read_limiter
        )

    def _run_read(self, query: Callable[[Connection], T]) -> T:
        conn: Any = getattr(self._local, "conn", None)
        if conn is not None and self.backend.broken(conn):
            self._forget_reader(conn)
            conn = None
        if conn is None:
            conn = self.backend.open_reader()
            self._local.conn = conn
        with self._readers_lock:
            self._readers[id(conn)] = conn
            self._busy.add(id(conn))
        try:
            conn.execute(self.backend.begin_read)
            return query(conn)
        finally:
            try:
                if not self.backend.broken(conn) and self.backend.in_transaction(conn):
                    conn.execute("COMMIT")
            finally:
                with self._readers_lock:
                    self._busy.discard(id(conn))
                    last_use = self._closed
                if last_use:  # the store stopped while this read ran: close it here
                    self._forget_reader(conn)

    def _forget_reader(self, conn: Any) -> None:
        with self._readers_lock:
            self._readers.pop(id(conn), None)
        with contextlib.suppress(Exception):  # closing a broken or finished connection
            self.backend.close(conn)

    def _close_readers(self) -> None:
        """Close the reader connections not in use; one still reading closes
        itself when its read ends (`_closed` is set before this runs)."""
        with self._readers_lock:
            idle = [c for key, c in self._readers.items() if key not in self._busy]
        for conn in idle:
            self._forget_reader(conn)

    @property
    def writable(self) -> bool:
        return self._writable and not self._closed

    def statistics(self) -> StoreStatistics:
        return StoreStatistics(
            backend=self.backend.name,
            where=self.backend.where,
            sync=self.sync,
            queue_depth=self._queued,
            transactions=self._transactions,
            commits=self._commits,
            last_commit_ms=round(self._last_commit_ms, 3) if math.isfinite(self._last_commit_ms) else 0.0,
            last_group_size=self._last_group,
            replayed_groups=self._replayed,
        )
