"""The PostgreSQL schema, as numbered migrations kept side by side with SQLite's.

`PG_MIGRATIONS[n]` is the PostgreSQL form of `MIGRATIONS[n]` in `engine.store.schema`:
both lists have the same length and, applied in full, give the same tables, columns,
NOT NULL-ness, defaults, keys, unique constraints, indexes and foreign keys
(tests/store/test_schema_agreement.py compares the two catalogs). A change to the
schema is a new entry in both lists, never an edit of a released one.

Translation rules: SQLite's INTEGER is 64-bit, so every integer column is BIGINT;
`INTEGER PRIMARY KEY` rowids the store never names in an INSERT become
`GENERATED ALWAYS AS IDENTITY`, while `campaigns.ref`, always inserted with its
send's ref, stays a plain BIGINT key; REAL is DOUBLE PRECISION; TEXT stays TEXT;
flags stay integers compared with 0 and 1; partial indexes keep their WHERE.

`schema_version` (one row) records the last migration applied; `pg_migrate` owns it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

# pg_advisory_xact_lock key held while a migration runs, so that two gateway nodes
# starting together apply each migration once
MIGRATION_LOCK = 0x534D5347  # "SMSG"

PG_MIGRATIONS: tuple[str, ...] = (
    # 1: accounts, keys, journal, sends, messages, receipts index, invoices, idempotency
    """
    CREATE TABLE accounts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        nom TEXT NOT NULL,
        type TEXT NOT NULL,
        initial_type TEXT NOT NULL,
        email TEXT UNIQUE,
        password_hash TEXT,
        debit_max DOUBLE PRECISION NOT NULL,
        url_rappel TEXT,
        solde BIGINT NOT NULL DEFAULT 0 CHECK (solde >= 0),
        reserve BIGINT NOT NULL DEFAULT 0 CHECK (reserve >= 0),
        debite BIGINT NOT NULL DEFAULT 0,
        credite BIGINT NOT NULL DEFAULT 0,
        consommation BIGINT NOT NULL DEFAULT 0,
        du BIGINT NOT NULL DEFAULT 0,
        periode_debut TEXT NOT NULL,
        cree_le TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        key_hash TEXT NOT NULL UNIQUE,
        cree_le TEXT NOT NULL,
        expire_le TEXT NOT NULL,
        revoque_le TEXT
    );
    CREATE INDEX api_keys_account ON api_keys(account_id);
    CREATE TABLE journal (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        kind TEXT NOT NULL,
        amount BIGINT NOT NULL,
        ref BIGINT,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE INDEX journal_account ON journal(account_id, id);
    CREATE TABLE sends (
        ref BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        type TEXT NOT NULL,
        emetteur TEXT NOT NULL,
        corps TEXT NOT NULL,
        encodage TEXT NOT NULL,
        segments BIGINT NOT NULL,
        nb_destinataires BIGINT NOT NULL,
        doublons BIGINT NOT NULL DEFAULT 0,
        billing TEXT NOT NULL,
        avertissements TEXT NOT NULL DEFAULT '[]',
        campagne TEXT,
        cree_le TEXT NOT NULL
    );
    CREATE INDEX sends_account ON sends(account_id, ref);
    CREATE TABLE messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ref BIGINT NOT NULL REFERENCES sends(ref),
        account_id BIGINT NOT NULL,
        destinataire TEXT NOT NULL,
        statut TEXT NOT NULL,
        raison TEXT,
        code_smsc BIGINT,
        billing TEXT NOT NULL,
        segments BIGINT NOT NULL,
        reserve BIGINT NOT NULL DEFAULT 0,
        tentatives BIGINT NOT NULL DEFAULT 0,
        doublon_possible BIGINT NOT NULL DEFAULT 0,
        smsc_ids TEXT,
        envoye_le TEXT,
        livraison TEXT,
        livre_le TEXT
    );
    CREATE INDEX messages_ref ON messages(ref, id);
    CREATE INDEX messages_pending ON messages(account_id, id) WHERE statut = 'EN_ATTENTE';
    CREATE TABLE smsc_ids (
        smsc_id TEXT PRIMARY KEY,
        message_id BIGINT NOT NULL
    );
    CREATE TABLE invoices (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        debut TEXT NOT NULL,
        fin TEXT NOT NULL,
        nb_sms BIGINT NOT NULL,
        montant BIGINT NOT NULL,
        regle_le TEXT
    );
    CREATE TABLE idempotency (
        account_id BIGINT NOT NULL,
        key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        cree_le DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (account_id, key)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: expiry of Idempotency-Key records walks an index on their age
    """
    CREATE INDEX idempotency_age ON idempotency(cree_le);
    """,
    # 3: a concatenated message's part receipts are kept on their SMSC ids until
    # every part has one; parts of a message found by its id
    """
    ALTER TABLE smsc_ids ADD COLUMN livraison TEXT;
    CREATE INDEX smsc_ids_message ON smsc_ids(message_id);
    """,
    # 4: scheduled campaigns (MULDESP): calendar and progress, one row per slot handled
    """
    CREATE TABLE campaigns (
        ref BIGINT PRIMARY KEY REFERENCES sends(ref),
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        premier_message BIGINT NOT NULL,
        total BIGINT NOT NULL,
        date_debut TEXT NOT NULL,
        date_fin TEXT NOT NULL,
        nb_par_jour BIGINT NOT NULL,
        intervalle_minutes BIGINT NOT NULL,
        fenetre_debut TEXT NOT NULL,
        fenetre_fin TEXT NOT NULL,
        fuseau TEXT NOT NULL,
        accepte_le TEXT NOT NULL,
        etat TEXT NOT NULL,
        lances BIGINT NOT NULL DEFAULT 0,
        jour TEXT,
        lances_jour BIGINT NOT NULL DEFAULT 0,
        dernier_creneau TEXT,
        fin_le TEXT
    );
    CREATE INDEX campaigns_state ON campaigns(etat);
    CREATE TABLE campaign_waves (
        ref BIGINT NOT NULL REFERENCES campaigns(ref),
        creneau TEXT NOT NULL,
        demandes BIGINT NOT NULL,
        lances BIGINT NOT NULL,
        fait_le TEXT NOT NULL,
        PRIMARY KEY (ref, creneau)
    );
    """,
    # 5: take_ids(sequence, n) hands out n consecutive values of a sequence at once
    # (a send's message ids); every taker holds the same advisory lock for the few
    # microseconds it takes, so two writers can never interleave inside a block
    """
    CREATE FUNCTION take_ids(seq regclass, n bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
    DECLARE
        first_id bigint;
    BEGIN
        PERFORM pg_advisory_lock(1397572423);
        BEGIN
            first_id := nextval(seq);
            IF n > 1 THEN
                PERFORM setval(seq, first_id + n - 1);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            PERFORM pg_advisory_unlock(1397572423);
            RAISE;
        END;
        PERFORM pg_advisory_unlock(1397572423);
        RETURN first_id;
    END
    $$;
    """,
    # 6: messages no longer check their send's ref by foreign key: the store writes a
    # send and its messages in one transaction, and the per-row check cost more than
    # half of a 100,000-recipient send's COPY (measured 5.0 s with it, 1.9 s without)
    """
    ALTER TABLE messages DROP CONSTRAINT messages_ref_fkey;
    """,
    # 7: client-space sessions carry their account's session generation; logging
    # out, changing the password or the API key moves it on, which ends every
    # session of the account on every node
    """
    ALTER TABLE accounts ADD COLUMN session_gen BIGINT NOT NULL DEFAULT 0;
    """,
    # 8: every message is updated three times after its insert (attempt, outcome,
    # receipt): a fifth of each page kept free lets those updates stay in the page
    # (heap-only tuples, no new index entries) instead of piling versions and index
    # entries up. Store alone, 100,000 messages through attempts, settlement and
    # receipts in batches of 500: 27.6-30.8 s at fillfactor 100, 10.1 s at 80.
    """
    ALTER TABLE messages SET (fillfactor = 80);
    """,
    # 9: account controls: suspension (actif), the sender names an account may use
    # (JSON list), several named keys (their first characters and last use), the
    # opt-out list, and the period each automatic postpaid invoice closed
    """
    ALTER TABLE accounts ADD COLUMN actif BIGINT NOT NULL DEFAULT 1;
    ALTER TABLE accounts ADD COLUMN emetteurs TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE api_keys ADD COLUMN nom TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_keys ADD COLUMN prefixe TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_keys ADD COLUMN utilise_le TEXT;
    CREATE TABLE opt_outs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id),
        numero TEXT NOT NULL,
        source TEXT NOT NULL,
        cree_le TEXT NOT NULL,
        UNIQUE (account_id, numero)
    );
    ALTER TABLE invoices ADD COLUMN periode TEXT;
    CREATE INDEX invoices_period ON invoices(periode, account_id) WHERE periode IS NOT NULL;
    """,
    # 10: send options, each account's callback signing secret, the callback outbox
    """
    ALTER TABLE accounts ADD COLUMN secret_rappel TEXT;
    UPDATE accounts SET secret_rappel
        = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    ALTER TABLE sends ADD COLUMN reference TEXT;
    ALTER TABLE sends ADD COLUMN url_rappel TEXT;
    ALTER TABLE sends ADD COLUMN validite BIGINT;
    ALTER TABLE sends ADD COLUMN priorite TEXT;
    ALTER TABLE sends ADD COLUMN date_envoi TEXT;
    CREATE INDEX sends_reference ON sends(account_id, reference);
    CREATE TABLE callback_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL,
        message_id BIGINT NOT NULL,
        type TEXT NOT NULL,
        url TEXT NOT NULL,
        cree_le DOUBLE PRECISION NOT NULL,
        prochain DOUBLE PRECISION NOT NULL,
        tentatives BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX callback_events_message ON callback_events(message_id, id);
    CREATE INDEX callback_events_due ON callback_events(prochain);
    """,
    # 11: several SMSC connections: each message records the connection it left on;
    # accounts own inbound numbers and short codes; inbound messages (MO) are kept,
    # with their owner (NULL: no known number, the operators' list)
    """
    ALTER TABLE messages ADD COLUMN smsc TEXT;
    CREATE TABLE inbound_numbers (
        numero TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id)
    );
    CREATE INDEX inbound_numbers_account ON inbound_numbers(account_id);
    CREATE TABLE inbound_messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT REFERENCES accounts(id),
        emetteur TEXT NOT NULL,
        destinataire TEXT NOT NULL,
        corps TEXT NOT NULL,
        recu_le TEXT NOT NULL,
        smsc TEXT NOT NULL
    );
    CREATE INDEX inbound_messages_account ON inbound_messages(account_id, id);
    """,
    # 12: several gateway nodes on one database: the nodes, heartbeating, and the
    # shards of accounts each holds under a lease with an epoch (times are the
    # database's clock, POSIX seconds)
    """
    CREATE TABLE cluster_nodes (
        noeud TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        demarre_le DOUBLE PRECISION NOT NULL,
        vu_le DOUBLE PRECISION NOT NULL,
        relais_par_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        comptes_actifs BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE cluster_shards (
        shard BIGINT PRIMARY KEY,
        noeud TEXT,
        epoch BIGINT NOT NULL DEFAULT 0,
        expire_le DOUBLE PRECISION NOT NULL DEFAULT 0,
        renouvele_le DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    """,
)


def pg_version(conn: psycopg.Connection[Any]) -> int:
    """The last migration applied to the database behind `conn` (0 before any)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def pg_migrate(
    conn: psycopg.Connection[Any], migrations: tuple[str, ...] = PG_MIGRATIONS
) -> int:
    """Apply the pending `migrations` (default `PG_MIGRATIONS`), each in its own
    transaction together with its `schema_version` bump; return how many were applied.

    `conn` must be idle (no transaction open). Each transaction holds an advisory lock
    and re-reads the version, so concurrent callers apply every migration once. A
    database already past `len(migrations)` is refused rather than downgraded.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("pg_migrate needs a connection with no transaction open")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        conn.execute(
            "INSERT INTO schema_version (version)"
            " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)"
        )
    applied = 0
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version = pg_version(conn)
            if version > len(migrations):
                raise RuntimeError(
                    f"the database's schema is at version {version}, newer than this "
                    f"gateway's {len(migrations)}"
                )
            if version == len(migrations):
                return applied
            conn.execute(migrations[version])
            conn.execute("UPDATE schema_version SET version = %s", (version + 1,))
        applied += 1
