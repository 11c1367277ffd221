"""A migration keeps the data it finds: messages written before the table lost its
foreign key (migration 6, a table rebuild on SQLite) are all there after it, with
their ids, and the next ids follow them."""

from __future__ import annotations

from pathlib import Path

from engine.store.schema import MIGRATIONS
from engine.store.sqlite import connect, migrate


def test_sqlite_messages_survive_the_rebuild_without_the_foreign_key(tmp_path: Path) -> None:
    conn = connect(tmp_path / "ancienne.sqlite3")
    conn.execute("BEGIN")
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={number}")
    conn.execute(
        "INSERT INTO accounts (id, nom, type, initial_type, debit_max, periode_debut, cree_le)"
        " VALUES (1, 'a', 'PREPAYE', 'PREPAYE', 10, '', '')"
    )
    conn.execute(
        "INSERT INTO sends (ref, account_id, type, emetteur, corps, encodage, segments,"
        " nb_destinataires, billing, cree_le) VALUES (7, 1, 'MULDES', 'X', 'y', 'GSM7', 1, 3,"
        " 'PREPAYE', '')"
    )
    conn.executemany(
        "INSERT INTO messages (id, ref, account_id, destinataire, statut, billing, segments,"
        " livraison) VALUES (?, 7, 1, ?, ?, 'PREPAYE', 1, ?)",
        [(40, "+24106000001", "ENVOYE", "LIVRE"), (41, "+24106000002", "EN_ATTENTE", None),
         (42, "+24106000003", "ECHEC", None)],
    )
    conn.execute("COMMIT")
    cursor = conn.execute("SELECT * FROM messages ORDER BY id")
    before = cursor.fetchall()
    columns = ", ".join(d[0] for d in cursor.description)  # later migrations add columns

    assert migrate(conn) == len(MIGRATIONS)

    assert conn.execute(f"SELECT {columns} FROM messages ORDER BY id").fetchall() == before  # noqa: S608
    assert conn.execute("PRAGMA foreign_key_list(messages)").fetchall() == []
    indexes = {row[1] for row in conn.execute("PRAGMA index_list(messages)")}
    assert {"messages_ref", "messages_pending"} <= indexes
    new_id = conn.execute(
        "INSERT INTO messages (ref, account_id, destinataire, statut, billing, segments)"
        " VALUES (7, 1, '+24106000004', 'EN_ATTENTE', 'PREPAYE', 1) RETURNING id"
    ).fetchone()[0]
    assert new_id == 43
    conn.close()
