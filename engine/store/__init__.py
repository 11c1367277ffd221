"""Persistence: the single-writer SQLite store and its queries."""

from engine.store.store import Store, StoreStatistics

__all__ = ["Store", "StoreStatistics"]
