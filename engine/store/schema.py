"""The SQLite schema, as numbered migrations applied in order at start-up.

`PRAGMA user_version` records the last migration applied; a migration is never
edited once released, a change is a new entry.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: accounts, keys, journal, sends, messages, receipts index, invoices, idempotency
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        nom TEXT NOT NULL,
        type TEXT NOT NULL,
        initial_type TEXT NOT NULL,
        email TEXT UNIQUE,
        password_hash TEXT,
        debit_max REAL NOT NULL,
        url_rappel TEXT,
        solde INTEGER NOT NULL DEFAULT 0 CHECK (solde >= 0),
        reserve INTEGER NOT NULL DEFAULT 0 CHECK (reserve >= 0),
        debite INTEGER NOT NULL DEFAULT 0,
        credite INTEGER NOT NULL DEFAULT 0,
        consommation INTEGER NOT NULL DEFAULT 0,
        du INTEGER NOT NULL DEFAULT 0,
        periode_debut TEXT NOT NULL,
        cree_le TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        key_hash TEXT NOT NULL UNIQUE,
        cree_le TEXT NOT NULL,
        expire_le TEXT NOT NULL,
        revoque_le TEXT
    );
    CREATE INDEX api_keys_account ON api_keys(account_id);
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        kind TEXT NOT NULL,
        amount INTEGER NOT NULL,
        ref INTEGER,
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE INDEX journal_account ON journal(account_id, id);
    CREATE TABLE sends (
        ref INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        type TEXT NOT NULL,
        emetteur TEXT NOT NULL,
        corps TEXT NOT NULL,
        encodage TEXT NOT NULL,
        segments INTEGER NOT NULL,
        nb_destinataires INTEGER NOT NULL,
        doublons INTEGER NOT NULL DEFAULT 0,
        billing TEXT NOT NULL,
        avertissements TEXT NOT NULL DEFAULT '[]',
        campagne TEXT,
        cree_le TEXT NOT NULL
    );
    CREATE INDEX sends_account ON sends(account_id, ref);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        ref INTEGER NOT NULL REFERENCES sends(ref),
        account_id INTEGER NOT NULL,
        destinataire TEXT NOT NULL,
        statut TEXT NOT NULL,
        raison TEXT,
        code_smsc INTEGER,
        billing TEXT NOT NULL,
        segments INTEGER NOT NULL,
        reserve INTEGER NOT NULL DEFAULT 0,
        tentatives INTEGER NOT NULL DEFAULT 0,
        doublon_possible INTEGER NOT NULL DEFAULT 0,
        smsc_ids TEXT,
        envoye_le TEXT,
        livraison TEXT,
        livre_le TEXT
    );
    CREATE INDEX messages_ref ON messages(ref, id);
    CREATE INDEX messages_pending ON messages(account_id, id) WHERE statut = 'EN_ATTENTE';
    CREATE TABLE smsc_ids (
        smsc_id TEXT PRIMARY KEY,
        message_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE invoices (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        debut TEXT NOT NULL,
        fin TEXT NOT NULL,
        nb_sms INTEGER NOT NULL,
        montant INTEGER NOT NULL,
        regle_le TEXT
    );
    CREATE TABLE idempotency (
        account_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        cree_le REAL NOT NULL,
        PRIMARY KEY (account_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
        ref INTEGER PRIMARY KEY REFERENCES sends(ref),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        premier_message INTEGER NOT NULL,
        total INTEGER NOT NULL,
        date_debut TEXT NOT NULL,
        date_fin TEXT NOT NULL,
        nb_par_jour INTEGER NOT NULL,
        intervalle_minutes INTEGER NOT NULL,
        fenetre_debut TEXT NOT NULL,
        fenetre_fin TEXT NOT NULL,
        fuseau TEXT NOT NULL,
        accepte_le TEXT NOT NULL,
        etat TEXT NOT NULL,
        lances INTEGER NOT NULL DEFAULT 0,
        jour TEXT,
        lances_jour INTEGER NOT NULL DEFAULT 0,
        dernier_creneau TEXT,
        fin_le TEXT
    );
    CREATE INDEX campaigns_state ON campaigns(etat);
    CREATE TABLE campaign_waves (
        ref INTEGER NOT NULL REFERENCES campaigns(ref),
        creneau TEXT NOT NULL,
        demandes INTEGER NOT NULL,
        lances INTEGER NOT NULL,
        fait_le TEXT NOT NULL,
        PRIMARY KEY (ref, creneau)
    ) WITHOUT ROWID;
    """,
    # 5: (PostgreSQL's take_ids: blocks of consecutive message ids; SQLite's rowids
    # already are, see engine.store.messages)
    """
    SELECT 1
    """,
    # 6: messages no longer check their send's ref by foreign key: the store writes a
    # send and its messages in one transaction, and PostgreSQL's per-row check cost
    # more than half of a large send's insert (SQLite rebuilds the table to drop it)
    """
    CREATE TABLE messages_sans_fk (
        id INTEGER PRIMARY KEY,
        ref INTEGER NOT NULL,
        account_id INTEGER NOT NULL,
        destinataire TEXT NOT NULL,
        statut TEXT NOT NULL,
        raison TEXT,
        code_smsc INTEGER,
        billing TEXT NOT NULL,
        segments INTEGER NOT NULL,
        reserve INTEGER NOT NULL DEFAULT 0,
        tentatives INTEGER NOT NULL DEFAULT 0,
        doublon_possible INTEGER NOT NULL DEFAULT 0,
        smsc_ids TEXT,
        envoye_le TEXT,
        livraison TEXT,
        livre_le TEXT
    );
    INSERT INTO messages_sans_fk (id, ref, account_id, destinataire, statut, raison, code_smsc,
        billing, segments, reserve, tentatives, doublon_possible, smsc_ids, envoye_le,
        livraison, livre_le)
    SELECT id, ref, account_id, destinataire, statut, raison, code_smsc, billing, segments,
        reserve, tentatives, doublon_possible, smsc_ids, envoye_le, livraison, livre_le
    FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_sans_fk RENAME TO messages;
    CREATE INDEX messages_ref ON messages(ref, id);
    CREATE INDEX messages_pending ON messages(account_id, id) WHERE statut = 'EN_ATTENTE'
    """,
    # 7: client-space sessions carry their account's session generation; logging
    # out, changing the password or the API key moves it on, which ends every
    # session of the account on every node
    """
    ALTER TABLE accounts ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: (PostgreSQL leaves room in each page of messages for their updates; SQLite
    # updates rows in place)
    """
    SELECT 1
    """,
    # 9: account controls: suspension (actif), the sender names an account may use
    # (JSON list), several named keys (their first characters and last use), the
    # opt-out list, and the period each automatic postpaid invoice closed
    """
    ALTER TABLE accounts ADD COLUMN actif INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE accounts ADD COLUMN emetteurs TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE api_keys ADD COLUMN nom TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_keys ADD COLUMN prefixe TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_keys ADD COLUMN utilise_le TEXT;
    CREATE TABLE opt_outs (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        numero TEXT NOT NULL,
        source TEXT NOT NULL,
        cree_le TEXT NOT NULL,
        UNIQUE (account_id, numero)
    );
    ALTER TABLE invoices ADD COLUMN periode TEXT;
    CREATE INDEX invoices_period ON invoices(periode, account_id) WHERE periode IS NOT NULL;
    """,
    # 10: send options (the client's reference, a callback URL, validity, priority, a
    # deferred time), each account's callback signing secret, and the callback
    # outbox: one row per event still to deliver, written in the transaction of the
    # change it reports (AUTOINCREMENT: an event id is never given twice)
    """
    ALTER TABLE accounts ADD COLUMN secret_rappel TEXT;
    UPDATE accounts SET secret_rappel = lower(hex(randomblob(32)));
    ALTER TABLE sends ADD COLUMN reference TEXT;
    ALTER TABLE sends ADD COLUMN url_rappel TEXT;
    ALTER TABLE sends ADD COLUMN validite INTEGER;
    ALTER TABLE sends ADD COLUMN priorite TEXT;
    ALTER TABLE sends ADD COLUMN date_envoi TEXT;
    CREATE INDEX sends_reference ON sends(account_id, reference);
    CREATE TABLE callback_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        type TEXT NOT NULL,
        url TEXT NOT NULL,
        cree_le REAL NOT NULL,
        prochain REAL NOT NULL,
        tentatives INTEGER NOT NULL DEFAULT 0
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
        account_id INTEGER NOT NULL REFERENCES accounts(id)
    ) WITHOUT ROWID;
    CREATE INDEX inbound_numbers_account ON inbound_numbers(account_id);
    CREATE TABLE inbound_messages (
        id INTEGER PRIMARY KEY,
        account_id INTEGER REFERENCES accounts(id),
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
        noeud TEXT NOT NULL PRIMARY KEY,
        url TEXT NOT NULL,
        demarre_le REAL NOT NULL,
        vu_le REAL NOT NULL,
        relais_par_s REAL NOT NULL DEFAULT 0,
        comptes_actifs INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE cluster_shards (
        shard INTEGER PRIMARY KEY,
        noeud TEXT,
        epoch INTEGER NOT NULL DEFAULT 0,
        expire_le REAL NOT NULL DEFAULT 0,
        renouvele_le REAL NOT NULL DEFAULT 0
    );
    """,
)
