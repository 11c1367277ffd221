"""Attempts recorded before a submit leaves: one range update per run of ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engine.store.messages import id_runs, mark_attempt
from engine.store.store import connect, migrate


@given(st.lists(st.integers(1, 60), max_size=80))
def test_runs_cover_exactly_the_ids(ids: list[int]) -> None:
    runs = id_runs(ids)
    covered = [i for first, last in runs for i in range(first, last + 1)]
    assert covered == sorted(set(ids))
    assert all(b[0] > a[1] + 1 for a, b in zip(runs, runs[1:], strict=False))


def test_each_marked_message_counts_one_attempt_and_no_other(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    migrate(conn)
    conn.execute(
        "INSERT INTO accounts (id, nom, type, initial_type, debit_max, periode_debut, cree_le)"
        " VALUES (1, 'a', 'PREPAYE', 'PREPAYE', 10, '', '')"
    )
    conn.execute(
        "INSERT INTO sends (ref, account_id, type, emetteur, corps, encodage, segments,"
        " nb_destinataires, billing, cree_le) VALUES (1, 1, 'MULDES', 'X', 'y', 'GSM7', 1, 20,"
        " 'PREPAYE', '')"
    )
    conn.executemany(
        "INSERT INTO messages (id, ref, account_id, destinataire, statut, billing, segments)"
        " VALUES (?, 1, 1, '+24106000000', 'EN_ATTENTE', 'PREPAYE', 1)",
        [(i,) for i in range(1, 21)],
    )
    mark_attempt(conn, [3, 4, 5, 9, 12, 11, 10, 4])
    mark_attempt(conn, [5, 6])
    got = dict(conn.execute("SELECT id, tentatives FROM messages").fetchall())
    expected = {i: 0 for i in range(1, 21)}
    for i in (3, 4, 5, 9, 10, 11, 12, 5, 6):
        expected[i] += 1
    assert got == expected
    conn.close()


def test_connect_uses_wal(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(conn, sqlite3.Connection)
    conn.close()
