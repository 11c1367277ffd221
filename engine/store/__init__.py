"""Persistence: the single-writer SQLite store, its named operations and queries.

`StoreError` is what a failed store operation raises (the driver's error class).
"""

from sqlite3 import Error as StoreError

from engine.store.store import Durability, Store, StoreStatistics

__all__ = ["Durability", "Store", "StoreError", "StoreStatistics"]
