"""Writing an account's ledger so that no update is ever lost without a word.

The account actor decides a batch against the ledger it holds in memory and hands
the store the ledger it arrived at with the journal entries that explain the
change. The store does not write those balances as absolute values (a writer
that had not seen another's change would overwrite it): it adds the entries'
amounts to the stored row (`solde = solde + ?`, ...) and reads back what the row
now holds in the same statement. If that is not the ledger the actor arrived at,
the row had changed behind the actor's back (another writer, or entries that do
not explain the new ledger): `LedgerConflict` is raised, the batch's transaction
is rolled back, and the actor is rebuilt from the stored row before it retries.

`EFFECTS` is the journal's meaning, the same as `engine.accounts.state.apply_entry`
(a test holds them equal) and `engine.store.accounts.journal_totals`.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.model import AccountType, Entry, EntryKind, Ledger
from engine.store.sql import Connection, StoreError

FIELDS = ("solde", "reserve", "debite", "credite", "consommation", "du")
"""The ledger's amounts, in the order of the stored columns."""

EFFECTS: dict[EntryKind, dict[str, int]] = {
    EntryKind.CREDIT: {"solde": 1, "credite": 1},
    EntryKind.RESERVATION: {"solde": -1, "reserve": 1},
    EntryKind.DEBIT: {"reserve": -1, "debite": 1},
    EntryKind.LIBERATION: {"reserve": -1, "solde": 1},
    EntryKind.CONSOMMATION: {"consommation": 1},
    EntryKind.FACTURE: {"consommation": -1, "du": 1},
    EntryKind.REGLEMENT: {"du": -1},
    EntryKind.TYPE: {},
    EntryKind.ADMIN: {},
}
"""What one unit of each entry's amount adds to each amount of the ledger (a TYPE
entry changes the account's type to its `detail` instead; an ADMIN entry records
an administration action and changes nothing)."""


class LedgerConflict(StoreError):
    """The stored ledger is not what the actor's batch expected: the row changed
    behind the actor's back. The batch is not written."""


def change(entries: Iterable[Entry]) -> tuple[dict[str, int], AccountType | None]:
    """The amounts the entries add to each field, and the type the last TYPE
    entry sets (None when there is none)."""
    deltas = dict.fromkeys(FIELDS, 0)
    new_type: AccountType | None = None
    for entry in entries:
        if entry.kind is EntryKind.TYPE:
            new_type = AccountType(entry.detail)
        for name, sign in EFFECTS[entry.kind].items():
            deltas[name] += sign * entry.amount
    return deltas, new_type


def save_ledger(
    conn: Connection,
    account_id: int,
    ledger: Ledger,
    entries: Iterable[Entry],
    now: str,
) -> None:
    """Add the entries to the account's stored ledger, check that it now holds
    `ledger`, and append the entries to the journal.

    Raises `LedgerConflict` when the account does not exist or its row does not
    come out as `ledger` (the caller's transaction then rolls back)."""
    entries = list(entries)
    deltas, new_type = change(entries)
    row = conn.execute(
        "UPDATE accounts SET type = COALESCE(?, type), solde = solde + ?, reserve = reserve + ?,"
        " debite = debite + ?, credite = credite + ?, consommation = consommation + ?,"
        " du = du + ? WHERE id = ?"
        " RETURNING type, solde, reserve, debite, credite, consommation, du",
        (
            new_type.value if new_type is not None else None,
            *(deltas[name] for name in FIELDS),
            account_id,
        ),
    ).fetchall()
    if len(row) != 1:
        raise LedgerConflict(f"account {account_id}: no ledger to update ({len(row)} rows)")
    stored = Ledger(AccountType(row[0][0]), *row[0][1:])
    if stored != ledger:
        raise LedgerConflict(
            f"account {account_id}: the stored ledger changed behind its actor"
            f" (after this batch it would hold {stored}, the actor expected {ledger});"
            " nothing written"
        )
    conn.executemany(
        "INSERT INTO journal (account_id, kind, amount, ref, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
        [(account_id, e.kind.value, e.amount, e.ref, e.detail, now) for e in entries],
    )
