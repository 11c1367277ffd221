"""Store jobs behind the operator console and the client space's pages: account
search, the operators' notes in an account's journal, the journal's latest
entries, and postpaid consumption by hour.

Each function is a transaction body or a read, run with the connection as first
argument; `engine.store.operations` names them. The SQL is the same on SQLite and
PostgreSQL (`LIKE` with an explicit escape character, `SUBSTR` on ISO 8601 text).
"""

from __future__ import annotations

from engine.model import Entry, EntryKind
from engine.model.views import AccountRow, JournalRow
from engine.store.accounts import _ACCOUNT_COLUMNS, _account
from engine.store.sql import Connection


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_accounts(conn: Connection, text: str, limit: int) -> list[AccountRow]:
    """Accounts whose id is `text`, or whose name or e-mail holds it (any case),
    by id; every account when `text` is empty."""
    text = text.strip()
    if not text:
        rows = conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [_account(r) for r in rows]
    exact = int(text) if text.isdigit() and len(text) < 18 else -1
    pattern = _like(text)
    rows = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"
        " WHERE id = ? OR LOWER(nom) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE ? ESCAPE '\\'"
        " ORDER BY id LIMIT ?",
        (exact, pattern, pattern, limit),
    ).fetchall()
    return [_account(r) for r in rows]


def note_action(conn: Connection, account_id: int, detail: str, now: str) -> bool:
    """Append an ACTION entry (amount 0: it moves no balance) to the account's
    journal; False when the account does not exist."""
    exists = conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if exists is None:
        return False
    conn.execute(
        "INSERT INTO journal (account_id, kind, amount, ref, detail, at) VALUES (?, ?, 0, NULL, ?, ?)",
        (account_id, EntryKind.ACTION.value, detail, now),
    )
    return True


def latest_entries(conn: Connection, account_id: int, limit: int) -> list[JournalRow]:
    """The account's last `limit` journal entries, newest first."""
    rows = conn.execute(
        "SELECT id, kind, amount, ref, detail, at FROM journal"
        " WHERE account_id = ? ORDER BY id DESC LIMIT ?",
        (account_id, limit),
    ).fetchall()
    return [JournalRow(i, Entry(EntryKind(k), a, r, d), at) for i, k, a, r, d, at in rows]


def consumption_by_hour(conn: Connection, account_id: int, since: str) -> list[tuple[str, int]]:
    """Postpaid segments consumed per UTC hour (`YYYY-MM-DDTHH`) from `since` on."""
    rows = conn.execute(
        "SELECT SUBSTR(at, 1, 13) AS hour, SUM(amount) FROM journal"
        " WHERE account_id = ? AND kind = ? AND at >= ? GROUP BY SUBSTR(at, 1, 13) ORDER BY hour",
        (account_id, EntryKind.CONSOMMATION.value, since),
    ).fetchall()
    return [(str(hour), int(total)) for hour, total in rows]
