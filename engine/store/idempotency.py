"""Store jobs for Idempotency-Key records (written by the account actors)."""

from __future__ import annotations

import sqlite3


def expire(conn: sqlite3.Connection, before: float) -> int:
    """Delete records created before `before` (POSIX seconds); return how many.
    Walks the `idempotency_age` index."""
    return conn.execute("DELETE FROM idempotency WHERE cree_le < ?", (before,)).rowcount


def oldest(conn: sqlite3.Connection) -> float | None:
    """When the oldest record was created (POSIX seconds), or None."""
    row = conn.execute("SELECT MIN(cree_le) FROM idempotency").fetchone()
    return row[0] if row else None
