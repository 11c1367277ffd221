"""Store jobs for accounts, API keys, the journal and invoices.

Each function here is a transaction body (or a part of one), run in the writer
(writes) or on a reader connection (reads) with the connection as first
argument; `engine.store.operations` names them for the rest of the engine. The
records they answer with (`AccountRow`, `KeyRow`, `JournalRow`, `InvoiceRow`) are
the domain model's (`engine.model.views`), named here too for the modules that
import them with the queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from engine.model import AccountId, AccountType, Entry, EntryKind, Ledger
from engine.model.views import AccountRow, InvoiceRow, JournalRow, KeyRow
from engine.store.ledger import save_ledger as save_ledger  # written as deltas, checked
from engine.store.sql import Connection

ACCOUNT_COLUMNS = _ACCOUNT_COLUMNS = (
    "id, nom, email, password_hash, debit_max, url_rappel, initial_type, type, "
    "solde, reserve, debite, credite, consommation, du, periode_debut, cree_le, "
    "actif, emetteurs"
)


def account_of(row: tuple) -> AccountRow:  # type: ignore[type-arg]
    """An account row read with `ACCOUNT_COLUMNS`."""
    return _account(row)


def _account(row: tuple) -> AccountRow:  # type: ignore[type-arg]
    return AccountRow(
        id=AccountId(row[0]),
        nom=row[1],
        email=row[2],
        password_hash=row[3],
        debit_max=row[4],
        url_rappel=row[5],
        initial_type=AccountType(row[6]),
        ledger=Ledger(
            type=AccountType(row[7]),
            solde=row[8],
            reserve=row[9],
            debite=row[10],
            credite=row[11],
            consommation=row[12],
            du=row[13],
        ),
        periode_debut=row[14],
        cree_le=row[15],
        actif=bool(row[16]),
        emetteurs=tuple(json.loads(row[17])),
    )


def insert_account(
    conn: Connection,
    *,
    nom: str,
    type: AccountType,
    email: str | None,
    password_hash: str | None,
    debit_max: float,
    now: str,
    secret_rappel: str | None = None,
) -> AccountId:
    return AccountId(conn.execute(
        "INSERT INTO accounts (nom, type, initial_type, email, password_hash, debit_max,"
        " periode_debut, cree_le, secret_rappel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (nom, type.value, type.value, email, password_hash, debit_max, now, now, secret_rappel),
    ).fetchone()[0])


def create_account(
    conn: Connection,
    *,
    nom: str,
    type: AccountType,
    email: str | None,
    password_hash: str | None,
    debit_max: float,
    opening: tuple[Ledger, Sequence[Entry]] | None,
    key_hash: str,
    key_expiry: str,
    now: str,
    key_prefix: str = "",
    secret_rappel: str | None = None,
    emetteurs: Sequence[str] = (),
) -> AccountId | None:
    """A new account with its opening ledger (and the entries that explain it),
    its sender names and its first API key; None, and nothing written, when
    `email` is in use."""
    if email and conn.execute("SELECT 1 FROM accounts WHERE email = ?", (email,)).fetchone():
        return None
    account_id = insert_account(
        conn,
        nom=nom,
        type=type,
        email=email,
        password_hash=password_hash,
        debit_max=debit_max,
        now=now,
        secret_rappel=secret_rappel,
    )
    if opening is not None:
        ledger, entries = opening
        save_ledger(conn, account_id, ledger, entries, now)
    if emetteurs:
        conn.execute(
            "UPDATE accounts SET emetteurs = ? WHERE id = ?",
            (json.dumps(list(emetteurs), ensure_ascii=False), account_id),
        )
    replace_key(conn, account_id, key_hash, key_expiry, now, prefixe=key_prefix, nom="principale")
    return account_id


def any_account(conn: Connection) -> bool:
    return conn.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is not None


def get_account(conn: Connection, account_id: int) -> AccountRow | None:
    row = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
    ).fetchone()
    return _account(row) if row else None


def load_for_actors(
    conn: Connection, account_ids: Sequence[int]
) -> dict[int, tuple[AccountRow, int]]:
    """What account actors start from: each account's row and its count of
    messages still waiting, for many accounts in a few queries."""
    found: dict[int, tuple[AccountRow, int]] = {}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        pending = dict(
            conn.execute(
                f"SELECT account_id, COUNT(*) FROM messages WHERE account_id IN ({marks})"
                " AND statut = 'EN_ATTENTE' GROUP BY account_id",
                chunk,
            ).fetchall()
        )
        for row in conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id IN ({marks})", chunk
        ):
            account = _account(row)
            found[account.id] = (account, pending.get(account.id, 0))
    return found


def find_account_by_login(conn: Connection, login: str) -> AccountRow | None:
    if login.isdigit():
        return get_account(conn, int(login))
    row = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE email = ?", (login.lower(),)
    ).fetchone()
    return _account(row) if row else None


def list_accounts(conn: Connection, after: int, limit: int) -> list[AccountRow]:
    rows = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    ).fetchall()
    return [_account(r) for r in rows]


def journal_entries(conn: Connection, account_id: int) -> list[Entry]:
    rows = conn.execute(
        "SELECT kind, amount, ref, detail FROM journal WHERE account_id = ? ORDER BY id",
        (account_id,),
    ).fetchall()
    return [Entry(EntryKind(k), a, r, d) for k, a, r, d in rows]


def journal_page(
    conn: Connection, account_id: int, after: int, limit: int
) -> list[JournalRow]:
    """Journal entries of one account in order, from after entry id `after`."""
    rows = conn.execute(
        "SELECT id, kind, amount, ref, detail, at FROM journal"
        " WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
        (account_id, after, limit),
    ).fetchall()
    return [JournalRow(i, Entry(EntryKind(k), a, r, d), at) for i, k, a, r, d, at in rows]


def journal_totals(conn: Connection, account_id: int) -> Ledger | None:
    """The ledger the journal adds up to (what `state.replay` gives), computed by
    SQLite in one pass: an audit of the live balances that costs no Python loop."""
    head = conn.execute(
        "SELECT initial_type FROM accounts WHERE id = ?", (account_id,)
    ).fetchone()
    if head is None:
        return None
    sums = {EntryKind.CREDIT.value: 0}
    for kind, amount in conn.execute(
        "SELECT kind, SUM(amount) FROM journal WHERE account_id = ? GROUP BY kind",
        (account_id,),
    ):
        sums[kind] = amount
    last_type = conn.execute(
        "SELECT detail FROM journal WHERE account_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
        (account_id, EntryKind.TYPE.value),
    ).fetchone()

    def total(kind: EntryKind) -> int:
        return int(sums.get(kind.value, 0))

    return Ledger(
        type=AccountType(last_type[0] if last_type else head[0]),
        solde=total(EntryKind.CREDIT)
        - total(EntryKind.RESERVATION)
        + total(EntryKind.LIBERATION),
        reserve=total(EntryKind.RESERVATION)
        - total(EntryKind.DEBIT)
        - total(EntryKind.LIBERATION),
        debite=total(EntryKind.DEBIT),
        credite=total(EntryKind.CREDIT),
        consommation=total(EntryKind.CONSOMMATION) - total(EntryKind.FACTURE),
        du=total(EntryKind.FACTURE) - total(EntryKind.REGLEMENT),
    )


def account_exists(conn: Connection, account_id: int) -> bool:
    return conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is not None


def update_profile(
    conn: Connection,
    account_id: int,
    *,
    nom: str | None = None,
    debit_max: float | None = None,
    url_rappel: str | None = None,
    clear_url: bool = False,
) -> None:
    if nom is not None:
        conn.execute("UPDATE accounts SET nom = ? WHERE id = ?", (nom, account_id))
    if debit_max is not None:
        conn.execute("UPDATE accounts SET debit_max = ? WHERE id = ?", (debit_max, account_id))
    if url_rappel is not None or clear_url:
        conn.execute("UPDATE accounts SET url_rappel = ? WHERE id = ?", (url_rappel, account_id))


def replace_key(
    conn: Connection,
    account_id: int,
    key_hash: str,
    expire_le: str,
    now: str,
    *,
    prefixe: str = "",
    nom: str = "",
) -> int:
    """Revoke every live key of the account and store the new one; its id."""
    conn.execute(
        "UPDATE api_keys SET revoque_le = ? WHERE account_id = ? AND revoque_le IS NULL",
        (now, account_id),
    )
    return insert_key(conn, account_id, key_hash, expire_le, now, prefixe=prefixe, nom=nom)


def insert_key(
    conn: Connection,
    account_id: int,
    key_hash: str,
    expire_le: str,
    now: str,
    *,
    prefixe: str,
    nom: str,
) -> int:
    """Store one more key of the account; its id."""
    key_id: int = conn.execute(
        "INSERT INTO api_keys (account_id, key_hash, cree_le, expire_le, nom, prefixe)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (account_id, key_hash, now, expire_le, nom, prefixe),
    ).fetchone()[0]
    return key_id


def live_key_hashes(conn: Connection, account_id: int) -> list[str]:
    """The digests of the account's keys not revoked."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT key_hash FROM api_keys WHERE account_id = ? AND revoque_le IS NULL",
            (account_id,),
        )
    ]


def find_key(conn: Connection, key_hash: str) -> KeyRow | None:
    row = conn.execute(
        "SELECT account_id, key_hash, expire_le, revoque_le, id, nom FROM api_keys"
        " WHERE key_hash = ?",
        (key_hash,),
    ).fetchone()
    return KeyRow(AccountId(row[0]), row[1], row[2], row[3], row[4], row[5]) if row else None


def current_key_expiry(conn: Connection, account_id: int) -> str | None:
    row = conn.execute(
        "SELECT expire_le FROM api_keys WHERE account_id = ? AND revoque_le IS NULL"
        " ORDER BY id DESC LIMIT 1",
        (account_id,),
    ).fetchone()
    return row[0] if row else None


def insert_invoice(
    conn: Connection,
    account_id: int,
    debut: str,
    fin: str,
    amount: int,
    periode: str | None = None,
) -> int:
    """An invoice for the period [debut, fin), which starts the next period at
    `fin`; `periode` names the monthly close that made it (None: an admin's)."""
    invoice_id: int = conn.execute(
        "INSERT INTO invoices (account_id, debut, fin, nb_sms, montant, periode)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (account_id, debut, fin, amount, amount, periode),
    ).fetchone()[0]
    conn.execute("UPDATE accounts SET periode_debut = ? WHERE id = ?", (fin, account_id))
    return invoice_id


def get_invoice(conn: Connection, invoice_id: int) -> InvoiceRow | None:
    row = conn.execute(
        "SELECT id, account_id, debut, fin, nb_sms, montant, regle_le FROM invoices WHERE id = ?",
        (invoice_id,),
    ).fetchone()
    return InvoiceRow(row[0], AccountId(row[1]), *row[2:]) if row else None


def list_invoices(conn: Connection, account_id: int) -> list[InvoiceRow]:
    rows = conn.execute(
        "SELECT id, account_id, debut, fin, nb_sms, montant, regle_le FROM invoices"
        " WHERE account_id = ? ORDER BY id DESC",
        (account_id,),
    ).fetchall()
    return [InvoiceRow(r[0], AccountId(r[1]), *r[2:]) for r in rows]


def mark_invoice_paid(conn: Connection, invoice_id: int, now: str) -> None:
    conn.execute("UPDATE invoices SET regle_le = ? WHERE id = ?", (now, invoice_id))


def session_generation(conn: Connection, account_id: int) -> int | None:
    """The account's session generation (None for an unknown account)."""
    row = conn.execute("SELECT session_gen FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row[0]) if row else None


def end_sessions(conn: Connection, account_id: int) -> None:
    """Move the account's session generation on: every session that carries an
    older one is refused from now on."""
    conn.execute("UPDATE accounts SET session_gen = session_gen + 1 WHERE id = ?", (account_id,))


def set_password(conn: Connection, account_id: int, password_hash: str) -> None:
    """Store a new password digest and end every session of the account."""
    conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))
    end_sessions(conn, account_id)


OPERATOR_SESSIONS = "operator_sessions"
"""The `meta` key whose value every operator console session carries."""


def operator_epoch(conn: Connection) -> str:
    """The value operator console sessions must carry ('' before any logout)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (OPERATOR_SESSIONS,)).fetchone()
    return str(row[0]) if row else ""


def renew_operator_epoch(conn: Connection, epoch: str) -> None:
    """Replace the operator sessions' value with `epoch`: every open operator
    session is refused from now on."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (OPERATOR_SESSIONS, epoch),
    )


def set_callback_secret(conn: Connection, account_id: int, secret: str) -> bool:
    """Replace the account's callback signing secret; False when there is no such account."""
    return bool(
        conn.execute(
            "UPDATE accounts SET secret_rappel = ? WHERE id = ? RETURNING id", (secret, account_id)
        ).fetchall()
    )
