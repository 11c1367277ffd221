"""Attempts recorded before a submit leaves: one range update per run of ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio
from hypothesis import given
from hypothesis import strategies as st

from engine.model import AccountType, Billing, MessageStatus, NewRecipient, NewSendRow
from engine.store.accounts import insert_account
from engine.store.messages import id_runs, insert_send, mark_attempt
from engine.store.sql import Connection
from engine.store.sqlite import connect
from tests.stores import store_at


@given(st.lists(st.integers(1, 60), max_size=80))
def test_runs_cover_exactly_the_ids(ids: list[int]) -> None:
    runs = id_runs(ids)
    covered = [i for first, last in runs for i in range(first, last + 1)]
    assert covered == sorted(set(ids))
    assert all(b[0] > a[1] + 1 for a, b in zip(runs, runs[1:], strict=False))


async def test_each_marked_message_counts_one_attempt_and_no_other(tmp_path: Path) -> None:
    store = store_at(tmp_path / "db.sqlite3")
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(store.serve)

            def twenty_messages(conn: Connection) -> int:
                account = insert_account(conn, nom="a", type=AccountType.PREPAYE, email=None,
                                         password_hash=None, debit_max=10, now="")
                row = NewSendRow(
                    account_id=account, type="MULDES", emetteur="X", corps="y", encodage="GSM7",
                    segments=1, doublons=0, billing=Billing.PREPAYE, avertissements=(),
                    campagne=None, cree_le="",
                    recipients=tuple(
                        NewRecipient(f"+241060000{i:02d}", MessageStatus.EN_ATTENTE, None, 0)
                        for i in range(20)
                    ),
                )
                return insert_send(conn, row)[1]

            first = await store.transact(twenty_messages)
            marked = [3, 4, 5, 9, 12, 11, 10, 4]
            await store.transact(lambda conn: mark_attempt(conn, [first + i for i in marked]))
            await store.transact(lambda conn: mark_attempt(conn, [first + 5, first + 6]))
            rows = await store.read(
                lambda conn: conn.execute("SELECT id, tentatives FROM messages").fetchall()
            )
            got = {mid - first: tries for mid, tries in rows}
            expected = dict.fromkeys(range(20), 0)
            for i in (3, 4, 5, 9, 10, 11, 12, 5, 6):
                expected[i] += 1
            assert got == expected
            nursery.cancel_scope.cancel()


def test_connect_uses_wal(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(conn, sqlite3.Connection)
    conn.close()
