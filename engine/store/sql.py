"""What the store's queries see of a database: a connection that runs SQL.

The query modules (`accounts`, `messages`, `campaigns`, ...) are written once, in
the SQL both backends understand: `?` placeholders, `RETURNING` for new ids,
`ON CONFLICT` for upserts, `CASE` and standard aggregates, no SQLite pragma and
no PostgreSQL cast. Each backend hands them a `Connection`:

- SQLite: the driver's own connection (`engine.store.sqlite.SqliteConnection`, a
  subclass that only names its backend).
- PostgreSQL: `engine.store.postgres.PgConnection`, which rewrites `?` into
  psycopg's `%s` once per distinct statement and otherwise passes the driver's
  cursors through.

`backend` tells the rare query that must differ (consecutive message ids, bulk
loads) which database it is talking to.

`StoreError` is what a failed store operation raises when the failure is the
store's (a database that cannot be opened, a ledger that changed behind its
actor, ids that are not consecutive); the drivers' own errors reach callers as
they are and `driver_errors()` names them.

psycopg is loaded only when a PostgreSQL store or a cluster's lease book opens a
connection (`engine.store.postgres`, `engine.store.leases`): a gateway on SQLite
never imports it (~10 MB of memory at start).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

if TYPE_CHECKING:
    from engine.store.postgres import PgConnection

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Cursor(Protocol):
    """The part of a DB-API cursor the queries use (no `rowcount`: in PostgreSQL's
    pipeline mode it is not known until the answers are collected; a query that
    needs a count of rows touched says `RETURNING` and counts them)."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the queries use, and its backend's name."""

    @property
    def backend(self) -> str: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class StoreError(Exception):
    """A store operation failed for a reason of the store's own (not a driver
    error): the database cannot be opened or migrated, a write's check failed."""


def driver_errors() -> tuple[type[Exception], ...]:
    """The drivers' error base classes: what a database itself may raise. psycopg's
    is among them once psycopg is loaded; before, nothing can raise it. Meant for an
    `except` clause, whose expression is evaluated only when an exception is there."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return _SQLITE_ERRORS
    return (sqlite3.Error, psycopg.Error)


_SQLITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)


_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (`postgresql://` or `postgres://`)."""
    return url.strip().lower().startswith(_SCHEMES)


def is_postgresql(conn: Connection) -> TypeGuard[PgConnection]:
    """Whether `conn` is a PostgreSQL connection (its `PgConnection`), for the rare
    query that must differ; without importing psycopg to ask."""
    return conn.backend == POSTGRESQL


@dataclass(frozen=True, slots=True)
class Durability:
    """What the writer connection itself reports of its durability.

    SQLite: its journal mode and `PRAGMA synchronous` level (2 FULL, 1 NORMAL).
    PostgreSQL: always "wal", and 2 when `synchronous_commit` is on, 1 when off."""

    backend: str
    journal_mode: str
    synchronous: int
