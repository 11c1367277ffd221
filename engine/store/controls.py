"""Store jobs for account controls: named keys, suspension and sender names, the
opt-out list, the administration journal and the monthly postpaid close.

Each function is a transaction body (or part of one) run in the writer or on a
reader connection, with the connection first; `engine.store.operations` names
them for the rest of the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from engine.model import AccountId, AccountRow, EntryKind, KeyView, OptOutRow
from engine.store.accounts import ACCOUNT_COLUMNS, account_of, insert_key
from engine.store.sql import Connection

# -- keys -------------------------------------------------------------------------------


def live_keys(conn: Connection, account_id: int, now: str) -> list[KeyView]:
    """The account's keys neither revoked nor expired at `now`, oldest first."""
    rows = conn.execute(
        "SELECT id, nom, prefixe, cree_le, expire_le, utilise_le FROM api_keys"
        " WHERE account_id = ? AND revoque_le IS NULL AND expire_le > ? ORDER BY id",
        (account_id, now),
    ).fetchall()
    return [KeyView(*r) for r in rows]


def add_key(
    conn: Connection,
    account_id: int,
    *,
    key_hash: str,
    prefixe: str,
    nom: str,
    expire_le: str,
    now: str,
    limit: int,
) -> KeyView | None:
    """One more live key of the account, unless it has `limit` already (None,
    nothing written)."""
    live = conn.execute(
        "SELECT COUNT(*) FROM api_keys WHERE account_id = ? AND revoque_le IS NULL"
        " AND expire_le > ?",
        (account_id, now),
    ).fetchone()[0]
    if live >= limit:
        return None
    key_id = insert_key(conn, account_id, key_hash, expire_le, now, prefixe=prefixe, nom=nom)
    return KeyView(key_id, nom, prefixe, now, expire_le, None)


def revoke_key(conn: Connection, account_id: int, key_id: int, now: str) -> str | None:
    """Revoke the account's live key `key_id`; its digest (None: no such live
    key of this account)."""
    row = conn.execute(
        "UPDATE api_keys SET revoque_le = ? WHERE id = ? AND account_id = ?"
        " AND revoque_le IS NULL RETURNING key_hash",
        (now, key_id, account_id),
    ).fetchone()
    return str(row[0]) if row else None


def swap_key(
    conn: Connection,
    account_id: int,
    old_hash: str,
    *,
    key_hash: str,
    prefixe: str,
    expire_le: str,
    now: str,
) -> bool:
    """Replace the account's live key `old_hash` by a new one of the same name;
    False (nothing written) when `old_hash` is not a live key of the account."""
    row = conn.execute(
        "UPDATE api_keys SET revoque_le = ? WHERE key_hash = ? AND account_id = ?"
        " AND revoque_le IS NULL RETURNING nom",
        (now, old_hash, account_id),
    ).fetchone()
    if row is None:
        return False
    insert_key(conn, account_id, key_hash, expire_le, now, prefixe=prefixe, nom=row[0])
    return True


def record_key_uses(conn: Connection, uses: Iterable[tuple[int, str]]) -> None:
    """Note when each key (id, ISO 8601) was last used; an older time never
    replaces a newer one."""
    conn.executemany(
        "UPDATE api_keys SET utilise_le = ? WHERE id = ?"
        " AND (utilise_le IS NULL OR utilise_le < ?)",
        [(at, key_id, at) for key_id, at in uses],
    )


# -- suspension and sender names --------------------------------------------------------


def set_controls(
    conn: Connection,
    account_id: int,
    *,
    actif: bool | None,
    emetteurs: Sequence[str] | None,
) -> None:
    if actif is not None:
        conn.execute("UPDATE accounts SET actif = ? WHERE id = ?", (int(actif), account_id))
    if emetteurs is not None:
        conn.execute(
            "UPDATE accounts SET emetteurs = ? WHERE id = ?",
            (json.dumps(list(emetteurs), ensure_ascii=False), account_id),
        )


def record_admin(conn: Connection, account_id: int, detail: str, now: str) -> None:
    """An administration action in the account's journal (amount 0)."""
    conn.execute(
        "INSERT INTO journal (account_id, kind, amount, ref, detail, at) VALUES (?, ?, 0, NULL, ?, ?)",
        (account_id, EntryKind.ADMIN.value, detail, now),
    )


# -- opt-out list -----------------------------------------------------------------------


def add_opt_outs(
    conn: Connection, account_id: int, numbers: Sequence[str], source: str, now: str
) -> int:
    """Put `numbers` (normalised) on the account's list; how many were not on it."""
    added = 0
    for number in dict.fromkeys(numbers):
        row = conn.execute(
            "INSERT INTO opt_outs (account_id, numero, source, cree_le) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (account_id, numero) DO NOTHING RETURNING id",
            (account_id, number, source, now),
        ).fetchone()
        added += row is not None
    return added


def remove_opt_out(conn: Connection, account_id: int, number: str) -> bool:
    row = conn.execute(
        "DELETE FROM opt_outs WHERE account_id = ? AND numero = ? RETURNING id",
        (account_id, number),
    ).fetchone()
    return row is not None


def opt_outs_page(conn: Connection, account_id: int, after: int, limit: int) -> list[OptOutRow]:
    rows = conn.execute(
        "SELECT id, numero, source, cree_le FROM opt_outs WHERE account_id = ? AND id > ?"
        " ORDER BY id LIMIT ?",
        (account_id, after, limit),
    ).fetchall()
    return [OptOutRow(*r) for r in rows]


def opted_out_among(
    conn: Connection, account_id: int, numbers: Sequence[str]
) -> tuple[bool, frozenset[str]]:
    """Whether the account's list holds any number at all, and which of `numbers` it holds."""
    if conn.execute("SELECT 1 FROM opt_outs WHERE account_id = ? LIMIT 1", (account_id,)).fetchone() is None:
        return False, frozenset()
    found: set[str] = set()
    unique = list(dict.fromkeys(numbers))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in conn.execute(
                f"SELECT numero FROM opt_outs WHERE account_id = ? AND numero IN ({marks})",  # noqa: S608
                (account_id, *chunk),
            )
        )
    return True, frozenset(found)


# -- monthly close ----------------------------------------------------------------------


def postpaid_due(conn: Connection, periode: str, boundary: str) -> list[AccountId]:
    """Postpaid accounts created before `boundary` (ISO 8601) that have no
    invoice for the monthly close `periode` yet."""
    rows = conn.execute(
        "SELECT a.id FROM accounts a WHERE a.type = 'POSTPAYE' AND a.cree_le < ?"
        " AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.periode = ? AND i.account_id = a.id)"
        " ORDER BY a.id",
        (boundary, periode),
    ).fetchall()
    return [AccountId(r[0]) for r in rows]


# -- reads for the pages ----------------------------------------------------------------


def search_accounts(conn: Connection, text: str, after: int, limit: int) -> list[AccountRow]:
    """Accounts whose id is `text`, or whose name or e-mail contains it (any case),
    by increasing id after `after`."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    exact = int(text) if text.isascii() and text.isdigit() and len(text) < 19 else -1
    rows = conn.execute(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id > ? AND (id = ?"  # noqa: S608
        " OR lower(nom) LIKE ? ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ? ESCAPE '\\')"
        " ORDER BY id LIMIT ?",
        (after, exact, pattern, pattern, limit),
    ).fetchall()
    return [account_of(r) for r in rows]


def consumption_by_hour(conn: Connection, account_id: int, since: str) -> list[tuple[str, int]]:
    """Postpaid consumption (segments) per UTC hour ('YYYY-MM-DDTHH') since `since`."""
    rows = conn.execute(
        "SELECT substr(at, 1, 13), SUM(amount) FROM journal WHERE account_id = ? AND kind = ?"
        " AND at >= ? GROUP BY substr(at, 1, 13) ORDER BY 1",
        (account_id, EntryKind.CONSOMMATION.value, since),
    ).fetchall()
    return [(str(h), int(n)) for h, n in rows]


MONTHLY_CLOSE_FROM = "monthly_close_from"
"""The `meta` key holding when the monthly close first ran on this database."""


def monthly_close_from(conn: Connection, now: str) -> str:
    """When the monthly close first ran here (`now` if this is the first time):
    boundaries before it are not closed, so an upgrade does not invoice a
    period an admin may have closed by hand already."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        (MONTHLY_CLOSE_FROM, now),
    )
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (MONTHLY_CLOSE_FROM,)).fetchone()
    return str(row[0])
