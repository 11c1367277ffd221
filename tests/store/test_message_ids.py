"""Message ids come from the database as the rows are inserted: one send's ids
are a run of consecutive values after every id already taken, and a send whose
ids would not be consecutive is refused whole."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from engine.accounts import state
from engine.model import AccountId, Ledger
from engine.store import StoreError
from engine.store.writes import SendWrite
from tests.store.test_operations import batch, new_account, open_store, send_of


def plain_send(account_id: AccountId, recipients: int) -> SendWrite:
    """A send of `recipients` messages holding nothing, without an idempotency key."""
    return replace(send_of(account_id, recipients, held=0), idempotency=None)


async def test_the_sends_of_one_batch_get_consecutive_runs_one_after_the_other(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=0)
            sends = (plain_send(account_id, 3), plain_send(account_id, 1), plain_send(account_id, 4))
            done = await store.ledger.apply(batch(account_id, Ledger(), sends=sends), state.settle)
            firsts = [first for _, first in done.created]
            assert firsts == [firsts[0], firsts[0] + 3, firsts[0] + 4]
            for (ref, first), count in zip(done.created, (3, 1, 4), strict=True):
                page = await store.reads.messages_page(
                    account_id, ref, statut=None, after_id=0, limit=10
                )
                assert page is not None
                assert [m.id for m in page] == list(range(first, first + count))


async def test_ids_follow_a_row_another_writer_inserted_with_a_higher_id(tmp_path: Path) -> None:
    """A row written behind the store's back (another node, later) moves the next
    ids past it instead of colliding with it."""
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=0)
            first = await store.ledger.apply(
                batch(account_id, Ledger(), sends=(plain_send(account_id, 2),)), state.settle
            )
            ((ref, _),) = first.created

            def foreign_row(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT INTO messages (id, ref, account_id, destinataire, statut, billing,"
                    " segments) VALUES (1000, ?, ?, '+24106000000', 'ENVOYE', 'PREPAYE', 1)",
                    (ref, account_id),
                )

            await store.transact(foreign_row)
            after = await store.ledger.apply(
                batch(account_id, Ledger(), sends=(plain_send(account_id, 3),)), state.settle
            )
            ((_, next_first),) = after.created
            assert next_first == 1001


async def test_a_send_whose_ids_are_not_consecutive_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """A trigger stands for a writer slipping a row between two of a send's
    messages: the store sees the gap and rolls the whole batch back."""
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=0)

            def interleave(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "CREATE TRIGGER interleave AFTER INSERT ON messages"
                    " WHEN NEW.destinataire = '+24106600001' BEGIN"
                    " INSERT INTO messages (id, ref, account_id, destinataire, statut, billing,"
                    " segments) VALUES (NEW.id + 1, NEW.ref, NEW.account_id, 'x', 'ENVOYE',"
                    " 'PREPAYE', 1); END"
                )

            await store.transact(interleave)
            with pytest.raises(StoreError, match="consecutive"):
                await store.ledger.apply(
                    batch(account_id, Ledger(), sends=(plain_send(account_id, 3),)),
                    state.settle,
                )
            assert await store.reads.sends_page(
                account_id, before_ref=None, type=None, statut=None, since=None, until=None, limit=10
            ) == []
