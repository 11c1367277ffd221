"""Store jobs for Idempotency-Key records (written by the account actors)."""

from __future__ import annotations

import sqlite3


def expire(conn: sqlite3.Connection, before: float) -> int:
    """Delete records created before `before` (POSIX seconds); return how many.
    Walks the `idempotency_age` index."""
    return conn.execute("DELETE FROM idempotency WHERE cree_le < ?", (before,)).rowcount
