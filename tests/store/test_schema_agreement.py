"""SQLite's and PostgreSQL's migrations give the same schema, step by step.

Each backend's catalog is read into one neutral `Schema`: per table its columns in
order (type family integer/real/text, NOT NULL, default), its primary key and unique
constraints; indexes as (name, table, columns, unique, WHERE clause); foreign keys as
(table, columns, referenced table, referenced columns). `differences` names every
table and column where two descriptions part, so a failure says what to fix.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from engine.store.schema import MIGRATIONS
from engine.store.schema_pg import PG_MIGRATIONS, pg_migrate, pg_version

Cols = tuple[str, ...]


@dataclass(frozen=True)
class Column:
    """One column as both backends can describe it."""

    name: str
    family: str  # integer, real or text
    not_null: bool
    default: str | None


@dataclass
class Table:
    """A table's columns in order, its primary key and its unique constraints."""

    columns: list[Column] = field(default_factory=list)
    primary_key: Cols = ()
    uniques: set[Cols] = field(default_factory=set)


@dataclass(frozen=True)
class Index:
    """An index created by CREATE INDEX (not one backing a key or constraint)."""

    name: str
    table: str
    columns: Cols
    unique: bool
    where: str | None


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: the table's columns and the table and columns they reference."""

    table: str
    columns: Cols
    references: str
    referenced: Cols


@dataclass
class Schema:
    """A backend's schema in terms both backends share."""

    tables: dict[str, Table] = field(default_factory=dict)
    indexes: set[Index] = field(default_factory=set)
    foreign_keys: set[ForeignKey] = field(default_factory=set)


def family(declared: str) -> str:
    """The type family of a declared SQLite type or a PostgreSQL `data_type`."""
    upper = declared.upper()
    if "INT" in upper:
        return "integer"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB", "NUMERIC")):
        return "real"
    return f"other({declared})"


def _expression(text: str | None) -> str | None:
    """A default or a WHERE clause without casts, parentheses or blanks."""
    if text is None:
        return None
    return re.sub(r"::[a-z]+(?: precision| varying)?|[()\s]", "", text)


# --- SQLite --------------------------------------------------------------------------


def sqlite_schema(conn: sqlite3.Connection) -> Schema:
    schema = Schema()
    tables = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for name, create in tables:
        without_rowid = re.search(r"WITHOUT\s+ROWID\s*$", create.strip(), re.IGNORECASE) is not None
        info = conn.execute(f"PRAGMA table_info({name})").fetchall()
        pk = [row for row in info if row[5] > 0]
        rowid_alias = len(pk) == 1 and pk[0][2].upper() == "INTEGER" and not without_rowid
        table = Table(primary_key=tuple(row[1] for row in sorted(pk, key=lambda r: r[5])))
        for _cid, column, declared, not_null, default, in_pk in info:
            enforced = bool(not_null) or (in_pk > 0 and (without_rowid or rowid_alias))
            table.columns.append(Column(column, family(declared), enforced, _expression(default)))
        for _seq, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({name})"):
            columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index})"))
            if origin == "u":
                table.uniques.add(columns)
            elif origin == "c":
                where = None
                if partial:
                    text = conn.execute(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
                    ).fetchone()[0]
                    where = re.split(r"\bWHERE\b", text, maxsplit=1, flags=re.IGNORECASE)[1]
                schema.indexes.add(Index(index, name, columns, bool(unique), _expression(where)))
        keys: dict[int, list[tuple[str, str, str]]] = {}
        for key_id, _seq, parent, source, target, *_ in conn.execute(
            f"PRAGMA foreign_key_list({name})"
        ):
            keys.setdefault(key_id, []).append((parent, source, target))
        for parts in keys.values():
            schema.foreign_keys.add(ForeignKey(
                name, tuple(p[1] for p in parts), parts[0][0], tuple(p[2] for p in parts)))
        schema.tables[name] = table
    return schema


def sqlite_apply(conn: sqlite3.Connection, number: int) -> None:
    """Apply SQLite migration `number` (1-based) the way `migrate` does."""
    conn.executescript(f"BEGIN;{MIGRATIONS[number - 1]};PRAGMA user_version={number};COMMIT;")


# --- PostgreSQL ----------------------------------------------------------------------

_PG_KEYS = """
    SELECT c.contype, t.relname, r.relname,
           ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
           ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    LEFT JOIN pg_class r ON r.oid = c.confrelid
    WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')
      AND t.relname <> 'schema_version'
"""

_PG_INDEXES = """
    SELECT ic.relname, t.relname, i.indisunique, pg_get_expr(i.indpred, i.indrelid),
           ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> 'schema_version'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def pg_schema(conn: psycopg.Connection[Any]) -> Schema:
    schema = Schema()
    for table_name, column, data_type, nullable, default in conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position"
    ):
        schema.tables.setdefault(table_name, Table()).columns.append(
            Column(column, family(data_type), nullable == "NO", _expression(default)))
    for kind, table_name, parent, columns, targets in conn.execute(_PG_KEYS):
        if kind == "p":
            schema.tables[table_name].primary_key = tuple(columns)
        elif kind == "u":
            schema.tables[table_name].uniques.add(tuple(columns))
        else:
            schema.foreign_keys.add(ForeignKey(table_name, tuple(columns), parent, tuple(targets)))
    for index, table_name, unique, where, columns in conn.execute(_PG_INDEXES):
        schema.indexes.add(Index(index, table_name, tuple(columns), unique, _expression(where)))
    return schema


# --- comparison ----------------------------------------------------------------------


def differences(lite: Schema, pg: Schema) -> list[str]:
    """Every place where SQLite's description `lite` and PostgreSQL's `pg` part, one
    line each, naming the table and column."""
    found: list[str] = []
    for name in sorted(lite.tables.keys() ^ pg.tables.keys()):
        found.append(f"table {name}: only in {'sqlite' if name in lite.tables else 'postgresql'}")
    for name in sorted(lite.tables.keys() & pg.tables.keys()):
        a, b = lite.tables[name], pg.tables[name]
        a_cols, b_cols = {c.name: c for c in a.columns}, {c.name: c for c in b.columns}
        for column in sorted(a_cols.keys() | b_cols.keys()):
            if a_cols.get(column) != b_cols.get(column):
                found.append(f"{name}.{column}: sqlite {a_cols.get(column)} != "
                             f"postgresql {b_cols.get(column)}")
        if list(a_cols) != list(b_cols) and a_cols.keys() == b_cols.keys():
            found.append(f"table {name}: column order {list(a_cols)} != {list(b_cols)}")
        if a.primary_key != b.primary_key:
            found.append(f"table {name}: primary key {a.primary_key} != {b.primary_key}")
        if a.uniques != b.uniques:
            found.append(f"table {name}: unique {sorted(a.uniques)} != {sorted(b.uniques)}")
    for index in sorted(lite.indexes ^ pg.indexes, key=lambda i: (i.table, i.name)):
        side = "sqlite" if index in lite.indexes else "postgresql"
        found.append(f"index {index.table}.{index.name}: only in {side}: {index}")
    for key in sorted(lite.foreign_keys ^ pg.foreign_keys, key=lambda k: (k.table, k.columns)):
        side = "sqlite" if key in lite.foreign_keys else "postgresql"
        found.append(f"foreign key {key.table}.{','.join(key.columns)}: only in {side}: {key}")
    return found


# --- fixtures and tests --------------------------------------------------------------


@pytest.fixture
def pg_conn(postgres_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a database created for this test alone, dropped after it."""
    name = f"schema_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            with psycopg.connect(make_conninfo(postgres_dsn, dbname=name), autocommit=True) as conn:
                yield conn
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def lite_conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "schema.db", isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def test_both_lists_have_one_entry_per_migration() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)


def test_sqlite_and_postgresql_agree_after_every_migration(
    lite_conn: sqlite3.Connection, pg_conn: psycopg.Connection[Any]
) -> None:
    for number in range(1, len(MIGRATIONS) + 1):
        sqlite_apply(lite_conn, number)
        assert pg_migrate(pg_conn, PG_MIGRATIONS[:number]) == 1
        assert differences(sqlite_schema(lite_conn), pg_schema(pg_conn)) == [], f"migration {number}"
    final = sqlite_schema(lite_conn)
    assert len(final.tables) == 17 and final.indexes and final.foreign_keys  # read, not empty


@pytest.mark.parametrize(
    ("planted", "where"),
    [
        (("fuseau TEXT NOT NULL,", "fuseau TEXT,"), "campaigns.fuseau"),
        (("total BIGINT NOT NULL,", "total TEXT NOT NULL,"), "campaigns.total"),
        (("lances_jour BIGINT NOT NULL DEFAULT 0,", "lances_jour BIGINT NOT NULL DEFAULT 1,"),
         "campaigns.lances_jour"),
    ],
)
def test_a_one_column_difference_is_reported_with_its_table_and_column(
    lite_conn: sqlite3.Connection, pg_conn: psycopg.Connection[Any],
    planted: tuple[str, str], where: str,
) -> None:
    old, new = planted
    assert PG_MIGRATIONS[3].count(old) == 1
    modified = (*PG_MIGRATIONS[:3], PG_MIGRATIONS[3].replace(old, new), *PG_MIGRATIONS[4:])
    pg_migrate(pg_conn, modified)
    for number in range(1, len(MIGRATIONS) + 1):
        sqlite_apply(lite_conn, number)
    found = differences(sqlite_schema(lite_conn), pg_schema(pg_conn))
    assert len(found) == 1 and found[0].startswith(f"{where}: "), found


def test_a_missing_index_is_reported(
    lite_conn: sqlite3.Connection, pg_conn: psycopg.Connection[Any]
) -> None:
    modified = (*PG_MIGRATIONS[:3], PG_MIGRATIONS[3].replace(
        "CREATE INDEX campaigns_state ON campaigns(etat);", ""), *PG_MIGRATIONS[4:])
    pg_migrate(pg_conn, modified)
    for number in range(1, len(MIGRATIONS) + 1):
        sqlite_apply(lite_conn, number)
    found = differences(sqlite_schema(lite_conn), pg_schema(pg_conn))
    assert found == ["index campaigns.campaigns_state: only in sqlite: "
                     "Index(name='campaigns_state', table='campaigns', columns=('etat',), "
                     "unique=False, where=None)"]


def test_pg_migrate_is_idempotent_and_records_the_version(pg_conn: psycopg.Connection[Any]) -> None:
    assert pg_version(pg_conn) == 0
    assert pg_migrate(pg_conn) == len(PG_MIGRATIONS)
    assert pg_migrate(pg_conn) == 0
    assert pg_version(pg_conn) == len(PG_MIGRATIONS)
    assert pg_conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)


def test_pg_migrate_refuses_a_connection_inside_a_transaction(
    pg_conn: psycopg.Connection[Any],
) -> None:
    pg_conn.autocommit = False
    pg_conn.execute("SELECT 1")
    with pytest.raises(ValueError, match="no transaction open"):
        pg_migrate(pg_conn)
    pg_conn.rollback()
    pg_conn.autocommit = True


def test_ids_are_generated_and_a_campaign_keeps_its_sends_ref(pg_conn: psycopg.Connection[Any]) -> None:
    pg_migrate(pg_conn)
    account = pg_conn.execute(
        "INSERT INTO accounts (nom, type, initial_type, debit_max, periode_debut, cree_le)"
        " VALUES ('a', 'PREPAYE', 'PREPAYE', 10, 't', 't') RETURNING id"
    ).fetchone()
    send = pg_conn.execute(
        "INSERT INTO sends (account_id, type, emetteur, corps, encodage, segments,"
        " nb_destinataires, billing, cree_le) VALUES (%s, 'x', 'e', 'c', 'GSM7', 1, 1, 'b', 't')"
        " RETURNING ref", (account[0] if account else None,)
    ).fetchone()
    assert account == (1,) and send == (1,)
    pg_conn.execute(
        "INSERT INTO campaigns (ref, account_id, premier_message, total, date_debut, date_fin,"
        " nb_par_jour, intervalle_minutes, fenetre_debut, fenetre_fin, fuseau, accepte_le, etat)"
        " VALUES (1, 1, 1, 1, 'd', 'f', 1, 1, 'a', 'b', 'z', 't', 'EN_COURS')"
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        pg_conn.execute("UPDATE accounts SET solde = -1 WHERE id = 1")
