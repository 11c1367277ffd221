"""The PostgreSQL backend (15 or newer), through psycopg 3's synchronous API.

The store's shape does not change: one writer thread owns one connection and runs
whole transactions with group commit; reads run on their own connections in
worker threads. (psycopg's asyncio API does not run under trio; its synchronous
API in threads does.) Connections are in autocommit mode and the store issues
BEGIN, SAVEPOINT and COMMIT itself, exactly as on SQLite.

`SMSGW_DATA_URL` names the database: `postgresql://user:password@host:port/db`
(or `postgres://`, and any libpq parameter in the query string). `parse_url`
refuses a malformed one with one line saying what is wrong; an unreachable server
fails start-up with one line too (`connect_timeout` bounds the wait).

Durability: `synchronous_commit=on` (a commit waits for its WAL record to be
flushed) by default; NORMAL sets it `off` for this gateway's connections only
(a crash of the server may lose the last commits, never corrupt them).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from config.settings import SyncMode
from engine.store.schema_pg import pg_migrate
from engine.store.sql import POSTGRESQL, Cursor, Durability, StoreError, is_postgres_url

CONNECT_TIMEOUT_S = 5
_COMMIT = {SyncMode.FULL: "on", SyncMode.NORMAL: "off"}
_PLACEHOLDER = re.compile(r"'[^']*'|\?|%")


def parse_url(url: str) -> dict[str, Any]:
    """The libpq parameters of `url`; `StoreError` naming the problem when it is not
    a usable `postgresql://` URL (the password never appears in the message)."""
    text = url.strip()
    if not is_postgres_url(text):
        raise StoreError(
            "SMSGW_DATA_URL must start with postgresql:// (or be empty for SQLite), "
            f"got {_redact(text)!r}"
        )
    try:
        params = conninfo_to_dict(text)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"SMSGW_DATA_URL is not a valid PostgreSQL URL: {first}") from None
    if not params.get("dbname"):
        raise StoreError(
            "SMSGW_DATA_URL names no database: postgresql://user:password@host:port/DATABASE"
        )
    port = str(params.get("port", "5432"))
    if not all(p.isdigit() and 0 < int(p) < 65536 for p in port.split(",")):
        raise StoreError(f"SMSGW_DATA_URL has an invalid port: {port!r}")
    return params


def create_empty_database(dsn: str, name: str) -> None:
    """CREATE DATABASE `name` (a checked identifier) on the server of `dsn`: for
    throwaway servers (tests, benchmarks, a local cluster)."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def where(params: dict[str, Any]) -> str:
    """`host:port/database` as operators read it (no user, no password)."""
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params['dbname']}"


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def to_pg(sql: str) -> str:
    """The store's portable SQL in psycopg's placeholder style: each `?` outside a
    string literal becomes `%s` and each `%` is doubled."""

    def swap(match: re.Match[str]) -> str:
        piece = match.group(0)
        return "%s" if piece == "?" else "%%" if piece == "%" else piece

    return _PLACEHOLDER.sub(swap, sql)


class PgConnection:
    """A psycopg connection seen through the store's `Connection` protocol.

    The writer runs each group in pipeline mode (`enter_pipeline`): statements are
    sent without waiting for their answers, a fetch waits for what it needs, and
    `sync` collects the rest at the end of each job (where a job's error surfaces).
    A group then costs a few round trips per job instead of one per statement."""

    backend = POSTGRESQL
    __slots__ = ("raw", "_translated", "_pipeline", "_pipeline_exit")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._translated: dict[str, str] = {}
        self._pipeline: psycopg.Pipeline | None = None
        self._pipeline_exit: ExitStack | None = None

    def enter_pipeline(self) -> None:
        if self._pipeline_exit is None:
            stack = ExitStack()
            self._pipeline = stack.enter_context(self.raw.pipeline())
            self._pipeline_exit = stack

    def leave_pipeline(self) -> None:
        """Leave pipeline mode, collecting every answer (a pending error raises)."""
        stack, self._pipeline_exit, self._pipeline = self._pipeline_exit, None, None
        if stack is not None:
            stack.close()

    def sync(self) -> None:
        """Wait for the answers of everything sent so far (a pending error raises)."""
        if self._pipeline is not None:
            self._pipeline.sync()

    def _sql(self, sql: str) -> str:
        found = self._translated.get(sql)
        if found is None:
            found = self._translated[sql] = to_pg(sql)
        return found

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self.raw.execute(self._sql(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(self._sql(sql), parameters)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Load rows with COPY: the fast way in for a large send's messages (COPY
        does not run in pipeline mode: the pipeline is left and entered again)."""
        resume = self._pipeline_exit is not None
        self.leave_pipeline()
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        if resume:
            self.enter_pipeline()

    def close(self) -> None:
        self.raw.close()


class PostgresBackend:
    """Opens the writer and reader connections of one PostgreSQL database."""

    name = POSTGRESQL
    begin_write = "BEGIN"
    begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    optimistic = True

    def __init__(self, url: str, sync: SyncMode = SyncMode.FULL) -> None:
        self.params = parse_url(url)
        self.sync = sync

    @property
    def where(self) -> str:
        return where(self.params)

    def _connect(self) -> PgConnection:
        params = dict(self.params)
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        params.setdefault("application_name", "smsgw")
        try:
            raw = psycopg.connect(autocommit=True, **params)
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreError(f"cannot reach PostgreSQL at {self.where}: {detail}") from None
        raw.execute(f"SET synchronous_commit = {_COMMIT[self.sync]}")
        version = raw.info.server_version
        if version < 150000:
            raw.close()
            raise StoreError(
                f"PostgreSQL at {self.where} is version {version // 10000}; 15 or newer is needed"
            )
        return PgConnection(raw)

    def open_writer(self) -> PgConnection:
        conn = self._connect()
        report = self.durability(conn)
        if report.synchronous != (2 if self.sync is SyncMode.FULL else 1):
            conn.close()
            raise StoreError(
                f"PostgreSQL kept synchronous level {report.synchronous}, asked {self.sync}"
            )
        try:
            pg_migrate(conn.raw)
        except (psycopg.Error, RuntimeError) as exc:
            conn.close()
            raise StoreError(f"cannot migrate the PostgreSQL schema at {self.where}: {exc}") from exc
        return conn

    def open_reader(self) -> PgConnection:
        return self._connect()

    def durability(self, conn: PgConnection) -> Durability:
        commit = conn.raw.execute("SHOW synchronous_commit").fetchone()
        assert commit is not None
        return Durability(POSTGRESQL, "wal", 1 if commit[0] == "off" else 2)

    def start_group(self, conn: PgConnection) -> None:
        conn.enter_pipeline()

    def job_done(self, conn: PgConnection) -> None:
        conn.sync()

    def job_failed(self, conn: PgConnection) -> None:
        with contextlib.suppress(psycopg.Error):  # the job's own error, already raised
            conn.sync()

    def end_group(self, conn: PgConnection) -> None:
        conn.leave_pipeline()

    def abandon_group(self, conn: PgConnection) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.leave_pipeline()

    def in_transaction(self, conn: PgConnection) -> bool:
        return conn.raw.info.transaction_status != TransactionStatus.IDLE

    def broken(self, conn: PgConnection) -> bool:
        return conn.raw.closed or conn.raw.broken

    def close(self, conn: PgConnection) -> None:
        conn.close()
