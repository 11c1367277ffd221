"""Store reads behind the operator console: the latest entries of an account's
journal. Run with the connection as first argument; `engine.store.operations`
names them. The SQL is the same on SQLite and PostgreSQL."""

from __future__ import annotations

from engine.model import Entry, EntryKind
from engine.model.views import JournalRow
from engine.store.sql import Connection


def latest_entries(conn: Connection, account_id: int, limit: int) -> list[JournalRow]:
    """The account's last `limit` journal entries, newest first."""
    rows = conn.execute(
        "SELECT id, kind, amount, ref, detail, at FROM journal"
        " WHERE account_id = ? ORDER BY id DESC LIMIT ?",
        (account_id, limit),
    ).fetchall()
    return [JournalRow(i, Entry(EntryKind(k), a, r, d), at) for i, k, a, r, d, at in rows]
