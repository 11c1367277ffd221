"""A second writer changing an account's row behind its actor's back: the actor's
next batch cannot overwrite that change, neither silently at the store nor in
the balances the rebuilt actor serves from."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio

from engine.accounts import state
from engine.accounts.commands import GetSnapshot, Submit
from engine.model import AccountId, AccountType, Entry, EntryKind, Ledger, MessageStatus
from engine.store import StoreError
from engine.store.ledger import EFFECTS, LedgerConflict, change
from engine.store.sql import Connection
from tests.accounts.support import assert_books_balance, audit, create_accounts, draft, open_engine
from tests.store.test_operations import batch, new_account, open_store, send_of


def credit_behind_the_actor(conn: Connection, account_id: AccountId, amount: int) -> None:
    """What another node topping the account up would write."""
    conn.execute(
        "UPDATE accounts SET solde = solde + ?, credite = credite + ? WHERE id = ?",
        (amount, amount, account_id),
    )
    conn.execute(
        "INSERT INTO journal (account_id, kind, amount, detail, at)"
        " VALUES (?, 'CREDIT', ?, '', '2025-10-10T08:00:00.000Z')",
        (account_id, amount),
    )


async def test_a_batch_decided_before_another_writers_change_is_refused_whole(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=5)
            seen = Ledger(solde=5, credite=5)
            await store.transact(partial(credit_behind_the_actor, account_id=account_id, amount=10))
            led, entries = state.reserve(seen, 3) or (seen, [])
            with pytest.raises(LedgerConflict, match=f"account {account_id}.*changed behind") as info:
                await store.ledger.apply(
                    batch(account_id, led, entries=tuple(entries), sends=(send_of(account_id, 3, held=1),)),
                    state.settle,
                )
            assert isinstance(info.value, StoreError)
            row = await store.accounts.get(account_id)
            assert row is not None and row.ledger == Ledger(solde=15, credite=15)
            assert await store.accounts.journal(account_id) == [
                Entry(EntryKind.CREDIT, 5), Entry(EntryKind.CREDIT, 10)
            ]
            assert await store.reads.sends_page(
                account_id, before_ref=None, type=None, statut=None, since=None, until=None, limit=5
            ) == []


async def test_a_batch_on_a_missing_account_is_refused(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            with pytest.raises(LedgerConflict, match="no ledger"):
                await store.ledger.apply(
                    batch(AccountId(99), Ledger(solde=1), entries=(Entry(EntryKind.CREDIT, 1),)),
                    state.settle,
                )


async def test_the_actor_is_rebuilt_from_the_other_writers_row_and_keeps_both_changes(
    tmp_path: Path,
) -> None:
    """Absolute balances would have written the actor's solde of 1 over the
    credit of 10; the actor is rebuilt from the stored row and its send retried."""
    with trio.fail_after(20):
        async with open_engine(tmp_path) as engine:
            (account_id,) = await create_accounts(engine.store, 1, solde=2)
            before = await engine.ask(account_id, GetSnapshot)
            assert before.solde == 2
            await engine.store.transact(
                partial(credit_behind_the_actor, account_id=account_id, amount=10)
            )
            accepted = await engine.ask(account_id, Submit, draft(1), None)
            assert accepted.statut is MessageStatus.EN_ATTENTE
            assert engine.registry.restarts == 1
            snap = await engine.ask(account_id, GetSnapshot)
            assert (snap.solde, snap.reserve) == (11, 1)
            books = await engine.store.read(partial(audit, account_id=account_id))
            assert_books_balance(books)
            assert books.row.credite == 12


@pytest.mark.parametrize("kind", list(EntryKind))
def test_the_stores_meaning_of_each_entry_is_the_ledgers(kind: EntryKind) -> None:
    start = Ledger(type=AccountType.POSTPAYE, solde=50, reserve=50, debite=50, credite=150,
                   consommation=50, du=50)
    entry = Entry(kind, 7, detail=AccountType.PREPAYE.value if kind is EntryKind.TYPE else "")
    deltas, new_type = change([entry])
    moved = start.plus(**deltas)
    if new_type is not None:
        moved = Ledger(new_type, *(getattr(moved, name) for name in deltas))
    assert moved == state.apply_entry(start, entry)
    assert set(EFFECTS) == set(EntryKind)
