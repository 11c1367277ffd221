"""Message ids come from the database as the rows are inserted: one send's ids
are a run of consecutive values after every id already taken, and a send whose
ids would not be consecutive is refused whole.

The run's backend is checked by the generic tests; each backend's own mechanism
(SQLite's rowids checked after the insert, PostgreSQL's `take_ids` blocks) by the
tests named after it, which open that backend whatever the run's backend is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
import trio

from engine.accounts import state
from engine.model import AccountId, Ledger
from engine.store import Store, StoreError
from engine.store.postgres import PostgresBackend
from engine.store.sql import Connection
from engine.store.writes import SendWrite
from tests.store.test_operations import batch, new_account, open_store, send_of
from tests.stores import postgres_url, store_at


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


async def test_sqlite_ids_follow_a_row_another_writer_inserted_with_a_higher_id(
    tmp_path: Path,
) -> None:
    """A row written behind the store's back (another node, later) moves the next
    ids past it instead of colliding with it."""
    with trio.fail_after(10):
        async with open_store(tmp_path, Store(tmp_path / "lite.sqlite3")) as store:
            account_id = await new_account(store, solde=0)
            first = await store.ledger.apply(
                batch(account_id, Ledger(), sends=(plain_send(account_id, 2),)), state.settle
            )
            ((ref, _),) = first.created

            def foreign_row(conn: Connection) -> None:
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


async def test_sqlite_send_whose_ids_are_not_consecutive_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """A trigger stands for a writer slipping a row between two of a send's
    messages: the store sees the gap and rolls the whole batch back."""
    with trio.fail_after(10):
        async with open_store(tmp_path, Store(tmp_path / "lite.sqlite3")) as store:
            account_id = await new_account(store, solde=0)

            def interleave(conn: Connection) -> None:
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


def pg_store(tmp_path: Path, name: str = "pg") -> Store:
    """A PostgreSQL store on the tests' server, in a schema of its own."""
    return Store(PostgresBackend(postgres_url(tmp_path / name)))


async def test_postgresql_ids_taken_behind_the_store_are_skipped_and_a_collision_is_refused_whole(
    tmp_path: Path,
) -> None:
    """Another writer taking ids with `take_ids` moves this store's next block past
    them; a row slipped in without taking its id (a writer breaking the rule) makes
    the send's insert fail, and the whole batch is rolled back."""
    with trio.fail_after(20):
        async with open_store(tmp_path, pg_store(tmp_path)) as store:
            account_id = await new_account(store, solde=0)
            one = await store.ledger.apply(
                batch(account_id, Ledger(), sends=(plain_send(account_id, 2),)), state.settle
            )
            ((ref, first),) = one.created

            def other_writer(conn: Connection) -> int:
                taken = int(conn.execute("SELECT take_ids('messages_id_seq', 500)").fetchone()[0])
                conn.execute(
                    "INSERT INTO messages (id, ref, account_id, destinataire, statut, billing,"
                    " segments) OVERRIDING SYSTEM VALUE VALUES"
                    " (take_ids('messages_id_seq', 1) + 1, ?, ?, 'x', 'ENVOYE', 'PREPAYE', 1)",
                    (ref, account_id),
                )
                return taken

            taken = await store.transact(other_writer)
            assert taken == first + 2
            with pytest.raises(psycopg.errors.UniqueViolation):
                await store.ledger.apply(
                    batch(account_id, Ledger(), sends=(plain_send(account_id, 3),)),
                    state.settle,
                )
            pages = await store.reads.sends_page(
                account_id, before_ref=None, type=None, statut=None, since=None, until=None, limit=10
            )
            assert [p.ref for p in pages] == [ref]
            after = await store.ledger.apply(
                batch(account_id, Ledger(), sends=(plain_send(account_id, 3),)), state.settle
            )
            ((_, next_first),) = after.created
            assert next_first > first + 2 + 500 + 1


@pytest.mark.parametrize("backend", ["run", "postgresql"])
async def test_two_writers_on_one_database_never_share_an_id_and_keep_each_send_consecutive(
    tmp_path: Path, backend: str
) -> None:
    """Two stores on the same database (two gateway nodes) insert sends of
    various sizes at once: every id is distinct and each send's ids are a run."""
    def make() -> Store:
        return pg_store(tmp_path, "shared") if backend == "postgresql" else store_at(
            tmp_path / "shared.sqlite3")

    with trio.fail_after(60):
        async with open_store(tmp_path, make()) as a, open_store(tmp_path, make()) as b:
            account_id = await new_account(a, solde=0)
            runs: list[tuple[int, int]] = []

            async def writer(store: Store, sizes: list[int]) -> None:
                for size in sizes:
                    done = await store.ledger.apply(
                        batch(account_id, Ledger(), sends=(plain_send(account_id, size),)),
                        state.settle,
                    )
                    ((_, first),) = done.created
                    runs.append((first, size))

            sizes = [1, 70, 3, 200, 1, 1, 65, 2] * 4
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer, a, sizes)
                nursery.start_soon(writer, b, list(reversed(sizes)))

            def all_ids(conn: Connection) -> list[tuple[int, int]]:
                return conn.execute("SELECT id, ref FROM messages ORDER BY id").fetchall()

            rows = await a.read(all_ids)
            ids = [mid for mid, _ in rows]
            assert len(ids) == len(set(ids)) == 2 * sum(sizes)
            by_id = dict(rows)
            for first, size in runs:
                assert len({by_id[first + i] for i in range(size)}) == 1
