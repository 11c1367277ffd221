"""Persistence: the single-writer store on SQLite or PostgreSQL, its named
operations and queries.

`StoreError` is what the store raises for a failure of its own (a database that
cannot be opened, a check that failed); `store_failures()` adds the drivers' errors:
everything a failed store operation may raise.
"""

from engine.store.sql import Durability, StoreError, driver_errors
from engine.store.store import Store, StoreStatistics, backend_for


def store_failures() -> tuple[type[Exception], ...]:
    """Everything a failed store operation may raise: `StoreError` and the drivers'
    errors (`driver_errors`: psycopg's only once it is loaded). For an `except`
    clause: `except store_failures():`."""
    return (StoreError, *driver_errors())


__all__ = ["store_failures", "Durability", "Store", "StoreError", "StoreStatistics", "backend_for"]
