"""Persistence: the single-writer store on SQLite or PostgreSQL, its named
operations and queries.

`StoreError` is what the store raises for a failure of its own (a database that
cannot be opened, a check that failed); `STORE_FAILURES` adds the drivers' errors:
everything a failed store operation may raise.
"""

from engine.store.sql import DRIVER_ERRORS, Durability, StoreError
from engine.store.store import Store, StoreStatistics, backend_for

STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, *DRIVER_ERRORS)

__all__ = ["STORE_FAILURES", "Durability", "Store", "StoreError", "StoreStatistics", "backend_for"]
