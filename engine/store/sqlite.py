"""The SQLite backend: one file in the data folder, WAL mode.

The writer connection syncs the log at every commit (`synchronous=FULL`) unless
the operator chose NORMAL; readers are separate connections (WAL readers do not
block the writer). `PRAGMA user_version` records the schema's version.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from config.settings import SyncMode
from engine.store.schema import MIGRATIONS
from engine.store.sql import SQLITE, Durability, StoreError

_SYNCHRONOUS = {SyncMode.FULL: 2, SyncMode.NORMAL: 1}
"""SQLite's `PRAGMA synchronous` level for each mode."""


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, naming its backend for the queries."""

    backend = SQLITE


def connect(path: Path, sync: SyncMode = SyncMode.FULL) -> SqliteConnection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, factory=SqliteConnection
    )
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
    return Durability(SQLITE, str(journal_mode).lower(), int(synchronous))


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


class SqliteBackend:
    """Opens the writer and reader connections of one SQLite file."""

    name = SQLITE
    begin_write = "BEGIN IMMEDIATE"
    begin_read = "BEGIN"
    optimistic = True
    """A group runs without a SAVEPOINT and a RELEASE per job: two statements a
    job saved, each a step of the driver that lets go of the interpreter's lock
    and takes it back."""

    def __init__(self, path: Path, sync: SyncMode = SyncMode.FULL) -> None:
        self.path = path
        self.sync = sync

    @property
    def where(self) -> str:
        return str(self.path)

    def open_writer(self) -> SqliteConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(self.path, self.sync)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite database {self.path}: {exc}") from exc
        level = durability(conn).synchronous
        if level != _SYNCHRONOUS[self.sync]:
            conn.close()
            raise StoreError(
                f"SQLite kept synchronous={level}, asked {_SYNCHRONOUS[self.sync]} ({self.sync})"
            )
        migrate(conn)
        return conn

    def open_reader(self) -> SqliteConnection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, factory=SqliteConnection
        )
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def durability(self, conn: sqlite3.Connection) -> Durability:
        return durability(conn)

    def start_group(self, conn: sqlite3.Connection) -> None:
        pass

    def job_done(self, conn: sqlite3.Connection) -> None:
        pass

    def job_failed(self, conn: sqlite3.Connection) -> None:
        pass

    def end_group(self, conn: sqlite3.Connection) -> None:
        pass

    def abandon_group(self, conn: sqlite3.Connection) -> None:
        pass

    def in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    def broken(self, conn: sqlite3.Connection) -> bool:
        return False

    def close(self, conn: sqlite3.Connection) -> None:
        conn.close()
