"""A node that dies or freezes mid-send: the other node takes its accounts over within
three leases and sends what was waiting; nothing is charged twice, and a frozen node
that wakes up writes nothing for the accounts it lost."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from smsgw_cli.cluster import DB_NOW, Cluster, Node, SimulatorProcess, eventually
from tests.cluster.books import (
    SENDER,
    account_held_by,
    books,
    client,
    debits_by_ref,
    ended,
    numbers,
    sent_by_ref,
    statuses,
    wait_ended,
)
from tests.cluster.nodes import LEASE_S, two_nodes

TAKEOVER_S = 3 * LEASE_S
"""The contract: a dead or frozen node's accounts are taken over within 3 leases."""
SMSC_LATENCY = "fixed:100"
"""Each submit_sm answered after 100 ms: with 2 binds of 200 outstanding per node, a
node sends at most 4,000 messages a second, so a drain lasts a few seconds."""


@pytest.fixture
def cluster(request: pytest.FixtureRequest, cluster_dsn: str, smsc: SimulatorProcess) -> Iterator[Cluster]:
    """Two fresh nodes on a fresh database: these tests kill or freeze one."""
    name = "c_" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    with two_nodes(cluster_dsn, smsc, name) as nodes:
        yield nodes


def sent(conn: psycopg.Connection[Any], ref: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE ref = %s AND statut = 'ENVOYE'", (ref,)
    ).fetchone()
    return int(row[0]) if row else 0


def flagged(conn: psycopg.Connection[Any], ref: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE ref = %s AND doublon_possible = 1", (ref,)
    ).fetchone()
    return int(row[0]) if row else 0


def writing(conn: psycopg.Connection[Any], node: Node) -> bool:
    """Whether one of the node's connections is inside a transaction that wrote or
    locked rows (it has a transaction id)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND backend_xid IS NOT NULL", (node.name,)
    ).fetchone()
    return bool(row and row[0])


def freeze_mid_write(conn: psycopg.Connection[Any], node: Node, timeout_s: float) -> bool:
    """SIGSTOP the node, in the middle of a write transaction if one is caught within
    `timeout_s` (a pause can strike anywhere; there it holds locks): whether it was."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if writing(conn, node):
            node.freeze()
            if writing(conn, node):
                return True
            node.wake()  # the transaction ended before the signal: frozen for a moment only
    node.freeze()
    return False


def lock_waits(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """Each backend waiting on a lock: its writer, its statement, and who blocks it."""
    return conn.execute(
        "SELECT a.application_name, left(a.query, 80), array_agg(b.application_name || ' ' || b.state"
        " || ': ' || left(b.query, 60)) FROM pg_stat_activity a"
        " JOIN pg_stat_activity b ON b.pid = ANY(pg_blocking_pids(a.pid))"
        " GROUP BY a.pid, a.application_name, a.query"
    ).fetchall()


def send(node: Node, key: str, recipients: int) -> int:
    r = client(node, key, "POST", "/sms/muldes",
               {"emetteur": SENDER, "numeros": numbers(recipients), "corps": "Relève"})
    assert r.status_code == 202, r.text
    assert r.json()["nbDestinataires"] == recipients, r.json()
    return int(r.json()["ref"])


def assert_charged_once(conn: psycopg.Connection[Any], account_id: int, ref: int, recipients: int,
                        cluster: Cluster) -> None:
    """Every recipient ended; debits equal what was sent; the books balance; what the
    SMSC received twice is flagged doublonPossible."""
    counts = statuses(conn, ref=ref)
    assert counts.get("ENVOYE", 0) + counts.get("ECHEC", 0) == recipients, counts
    assert counts.get("ECHEC", 0) == 0, counts  # the SMSC refused nothing
    assert debits_by_ref(conn, account_id) == sent_by_ref(conn, account_id) == {ref: recipients}
    held = books(conn, account_id)
    assert (held.reserve, held.debite, held.solde) == (0, recipients, 0), held
    assert held.balance() and held.lowest_solde >= 0, held
    stats = cluster.simulator.stats()
    assert stats["submit_accepted"] >= recipients, stats
    assert stats["duplicates"] <= flagged(conn, ref), (stats["duplicates"], flagged(conn, ref))


def test_the_accounts_of_a_killed_node_are_sent_by_the_other_within_three_leases(
    cluster: Cluster,
) -> None:
    first, second = cluster.nodes
    recipients = 20_000
    account_id, key = account_held_by(cluster, first, solde=recipients, debitMax=100_000)
    cluster.simulator.configure(latency=SMSC_LATENCY)
    ref = send(first, key, recipients)
    with cluster.audit() as conn:
        eventually(lambda: sent(conn, ref) >= 2_000, 30, what="the drain under way")
        first.kill()
        killed_at = time.monotonic()
        sent_at_kill = sent(conn, ref)
        assert sent_at_kill < recipients - 5_000, "the drain ended before the kill: slow the SMSC"
        eventually(lambda: cluster.holder(account_id) is second, TAKEOVER_S + 1, every_s=0.02,
                   what=f"{second.name} holding the account")
        took_over_s = time.monotonic() - killed_at
        eventually(lambda: sent(conn, ref) > sent_at_kill, 10, every_s=0.02,
                   what=f"{second.name} sending the account's messages")
        resumed_s = time.monotonic() - killed_at
        assert took_over_s <= TAKEOVER_S, f"taken over {took_over_s:.2f} s after the kill"
        assert resumed_s <= TAKEOVER_S, f"sending again {resumed_s:.2f} s after the kill"
        wait_ended(cluster, ref, 60)
        ended_s = time.monotonic() - killed_at
        compteurs = client(second, key, "GET", f"/sms/{ref}").json()["compteurs"]
        assert compteurs["EN_ATTENTE"] == 0 and compteurs["ENVOYE"] == recipients, compteurs
        assert_charged_once(conn, account_id, ref, recipients, cluster)
    print(f"kill -9 at {sent_at_kill} sent: taken over after {took_over_s:.2f} s, sending again "
          f"after {resumed_s:.2f} s, all {recipients} ended after {ended_s:.2f} s")


AUDIT_TRIGGERS = """
CREATE TABLE audit_writes (at DOUBLE PRECISION NOT NULL, writer TEXT NOT NULL, tbl TEXT NOT NULL,
                           account_id BIGINT, n BIGINT NOT NULL);
CREATE TABLE audit_shards (at DOUBLE PRECISION NOT NULL, shard BIGINT NOT NULL, noeud TEXT,
                           epoch BIGINT NOT NULL);
CREATE FUNCTION audit_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_writes
        SELECT extract(epoch FROM clock_timestamp()), current_setting('application_name'),
               TG_TABLE_NAME, account_id, count(*) FROM changed GROUP BY account_id;
    RETURN NULL;
END $$;
CREATE FUNCTION audit_ledgers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_writes
        SELECT extract(epoch FROM clock_timestamp()), current_setting('application_name'),
               TG_TABLE_NAME, id, count(*) FROM changed GROUP BY id;
    RETURN NULL;
END $$;
CREATE FUNCTION audit_shard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_shards VALUES (extract(epoch FROM clock_timestamp()), NEW.shard, NEW.noeud,
                                     NEW.epoch);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_messages AFTER UPDATE ON messages REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows();
CREATE TRIGGER audit_journal AFTER INSERT ON journal REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION audit_rows();
CREATE TRIGGER audit_accounts AFTER UPDATE ON accounts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION audit_ledgers();
CREATE TRIGGER audit_shard AFTER UPDATE ON cluster_shards FOR EACH ROW
    WHEN (OLD.noeud IS DISTINCT FROM NEW.noeud OR OLD.epoch <> NEW.epoch)
    EXECUTE FUNCTION audit_shard();
"""
"""Every write to messages, the journal and the ledgers, by writer (each node's
connections name it: `application_name`) and account, with the database's time;
every change of a shard's holder or epoch."""


def test_a_frozen_node_that_wakes_writes_nothing_for_the_accounts_it_lost(cluster: Cluster) -> None:
    first, second = cluster.nodes
    recipients = 6_000
    with cluster.audit() as conn:
        conn.execute(AUDIT_TRIGGERS)
        account_id, key = account_held_by(cluster, first, solde=recipients, debitMax=100_000)
        shard = account_id % cluster.shards
        cluster.simulator.configure(latency=SMSC_LATENCY)
        ref = send(second, key, recipients)  # forwarded to the holder
        eventually(lambda: sent(conn, ref) >= 500, 30, what="the drain under way")
        caught = freeze_mid_write(conn, first, 10)
        row = conn.execute(f"SELECT {DB_NOW}").fetchone()
        assert row is not None
        frozen_at = float(row[0])
        assert sent(conn, ref) < recipients - 2_000, "the drain ended before the freeze: slow the SMSC"
        try:
            eventually(lambda: cluster.holder(account_id) is second, TAKEOVER_S + 1, every_s=0.02)
        except TimeoutError:
            raise AssertionError(f"{second.name} not holding the frozen node's account "
                                 f"{TAKEOVER_S + 1:g} s after the freeze (frozen mid-write: "
                                 f"{caught}); waiting on a lock: {lock_waits(conn)}") from None
        row = conn.execute(
            "SELECT min(at) FROM audit_shards WHERE shard = %s AND noeud = %s AND at > %s",
            (shard, second.name, frozen_at),
        ).fetchone()
        assert row is not None and row[0] is not None
        taken_at = float(row[0])
        assert taken_at - frozen_at <= TAKEOVER_S, f"taken over {taken_at - frozen_at:.2f} s after the freeze"
        sent_at_takeover = sent(conn, ref)
        eventually(lambda: sent(conn, ref) > sent_at_takeover or ended(conn, ref=ref), 10,
                   every_s=0.02, what=f"{second.name} sending the account's messages")
        first.wake()
        # the woken node sees it lost the shard and serves again (any shard it gets back)
        eventually(lambda: first.health().get("statut") == "OK", 15, what=f"{first.name} healthy")
        wait_ended(cluster, ref, 60)
        # what it wrote for the account once the other node held it, until it held it again
        row = conn.execute(
            "SELECT min(at) FROM audit_shards WHERE shard = %s AND noeud = %s AND at > %s",
            (shard, first.name, taken_at),
        ).fetchone()
        regained_at = float(row[0]) if row and row[0] is not None else float("inf")
        stale = conn.execute(
            "SELECT tbl, count(*), sum(n), min(at) - %s FROM audit_writes WHERE writer = %s"
            " AND account_id = %s AND at > %s AND at < %s GROUP BY tbl",
            (taken_at, first.name, account_id, taken_at, regained_at),
        ).fetchall()
        assert stale == [], f"{first.name} wrote for the account after losing it: {stale}"
        writers = dict(conn.execute(
            "SELECT writer, sum(n) FROM audit_writes WHERE account_id = %s AND tbl = 'messages'"
            " GROUP BY writer", (account_id,)).fetchall())
        # the audit tells the nodes' writes apart: both wrote for the account, in turn
        assert writers.get(first.name, 0) > 0 and writers.get(second.name, 0) > 0, writers
        assert_charged_once(conn, account_id, ref, recipients, cluster)

