"""Which store the tests run on, and how a test reaches it.

`TEST_STORE` chooses the backend for the whole run: `sqlite` (the default)
or `postgresql`. `make test` runs the suite once on each. On PostgreSQL, the run
starts one throwaway server (`tests.pg`) on first use and stops it when the
session ends; each data folder a test uses gets its own schema in it (created on
first use, found again when the test restarts a gateway on the same folder), so
tests never see each other's rows. Nothing here skips: a server that cannot start
fails the test that needed it, saying what to install.

- `data_url(data_dir)`: the `SMSGW_DATA_URL` for a gateway on that folder ("" on
  SQLite).
- `store_at(path)`: a `Store` for a SQLite file's path, or its PostgreSQL schema.
- `audit_connection(data_dir)`: a plain connection to a gateway's data, for a test
  that checks the books from outside the gateway.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg

from config.settings import SyncMode
from engine.store import Store
from engine.store.postgres import PgConnection, PostgresBackend
from engine.store.sql import Connection
from engine.store.sqlite import SqliteConnection
from tests.pg import running_postgres

SQLITE, POSTGRESQL = "sqlite", "postgresql"
BACKEND = os.environ.get("TEST_STORE", SQLITE).strip().lower() or SQLITE
if BACKEND not in (SQLITE, POSTGRESQL):
    raise RuntimeError(f"TEST_STORE must be sqlite or postgresql, got {BACKEND!r}")
ON_POSTGRES = BACKEND == POSTGRESQL


class _Server:
    """The run's throwaway PostgreSQL server, started on first use."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._dsn: str | None = None
        self._created: set[str] = set()

    def dsn(self) -> str:
        if self._dsn is None:
            # thrown away at the end: no flush to disk (commits still wait for the WAL)
            self._dsn = self._stack.enter_context(running_postgres(fsync=False))
        return self._dsn

    def schema_url(self, name: str) -> str:
        dsn = self.dsn()
        if name not in self._created:
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
            self._created.add(name)
        return f"{dsn}?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        self._stack.close()
        self._dsn = None


SERVER = _Server()

BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ" if ON_POSTGRES else "BEGIN"
"""Opens a read transaction that sees one consistent state of the database."""


def _schema_for(path: Path) -> str:
    return "t_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:20]


def postgres_url(path: Path) -> str:
    """The URL of `path`'s own schema on the tests' PostgreSQL server, whatever
    the run's backend (for the tests of PostgreSQL's own mechanisms)."""
    return SERVER.schema_url(_schema_for(path))


def data_url(data_dir: Path) -> str:
    """`SMSGW_DATA_URL` for a gateway whose data folder is `data_dir`."""
    return postgres_url(data_dir) if ON_POSTGRES else ""


def store_at(path: Path, *, sync: SyncMode = SyncMode.FULL, read_threads: int = 4) -> Store:
    """A store for the SQLite file `path`, or for its own schema on PostgreSQL."""
    if ON_POSTGRES:
        return Store(PostgresBackend(data_url(path), sync), read_threads=read_threads)
    return Store(path, sync=sync, read_threads=read_threads)


@contextmanager
def audit_connection(data_dir: Path) -> Iterator[Connection]:
    """A connection, in autocommit, to the data of the gateway whose data folder
    is `data_dir` (its SQLite file, or its PostgreSQL schema); closed on exit."""
    conn: SqliteConnection | PgConnection
    if ON_POSTGRES:
        conn = PgConnection(psycopg.connect(data_url(data_dir), autocommit=True))
    else:
        conn = sqlite3.connect(
            data_dir / "smsgw.sqlite3", isolation_level=None, factory=SqliteConnection
        )
    try:
        yield conn
    finally:
        conn.close()
