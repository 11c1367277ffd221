"""The callback outbox: one row per event still to deliver (contract section 11).

An event is written by the same transaction as the change it reports (a
recipient's final status in the settlement of an account's batch, a delivery
receipt in the receipts' job), with one INSERT ... SELECT per batch that keeps
only the messages whose send or account has a callback URL, so an account
without one costs a lookup and no row. The notifier reads the events that are
due, oldest first, and only the first of each message's events (its status,
then its receipts: they arrive in the order they happened; an inbound message's ENTRANT
event, written with the message, names it by its id in `message_id`), and writes back what became of each
delivery: acknowledged ones are deleted, failed ones wait for their next
attempt, those past their age are deleted and counted by the notifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import PendingCallback
from engine.store.sql import Connection, is_postgresql

_RECORD = (
    "INSERT INTO callback_events (account_id, message_id, type, url, cree_le, prochain)"
    " SELECT m.account_id, m.id, ?, COALESCE(NULLIF(s.url_rappel, ''), a.url_rappel), ?, 0"
    " FROM messages m JOIN sends s ON s.ref = m.ref JOIN accounts a ON a.id = m.account_id"
    " WHERE COALESCE(NULLIF(s.url_rappel, ''), NULLIF(a.url_rappel, '')) IS NOT NULL"
    " AND m.id"
)


def record(conn: Connection, kind: str, message_ids: Sequence[int], stamp: float) -> int:
    """An event of `kind` (STATUT or LIVRAISON) for each of these messages that has
    a callback URL (its send's, else its account's), in message order; how many."""
    if not message_ids:
        return 0
    if is_postgresql(conn):
        return len(conn.execute(
            _RECORD + " = ANY(?::bigint[]) ORDER BY m.id RETURNING id",
            (kind, stamp, list(message_ids)),
        ).fetchall())
    ids = sorted(message_ids)
    made = 0
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        made += len(conn.execute(
            _RECORD + f" IN ({','.join('?' * len(chunk))}) ORDER BY m.id RETURNING id",
            (kind, stamp, *chunk),
        ).fetchall())
    return made


def claim(conn: Connection, now: float, limit: int, until: float) -> list[PendingCallback]:
    """`due`, and each event returned is claimed until `until` (its next time moves
    there), in the same transaction: on several nodes sharing the database, an
    event is delivered by one of them (PostgreSQL skips the rows another node's
    claim has locked). A claim not settled by `until` (its node died) makes the
    event due again for every node."""
    found = due(conn, now, limit, lock=is_postgresql(conn))
    if not found:
        return found
    ids = [e.id for e in found]
    if is_postgresql(conn):
        conn.execute(
            "UPDATE callback_events SET prochain = ? WHERE id = ANY(?::bigint[])", (until, ids)
        )
    else:
        conn.executemany(
            "UPDATE callback_events SET prochain = ? WHERE id = ?", ((until, i) for i in ids)
        )
    return found


def due(conn: Connection, now: float, limit: int, *, lock: bool = False) -> list[PendingCallback]:
    """Up to `limit` events due at `now` (POSIX seconds), oldest first, each the
    first event of its message still waiting, with what they report as committed now.

    A recipient's events go in the order they happened: its final status, then its
    receipts. A receipt may be committed before the status it follows (the
    receipts' and the settlement's transactions race), so a LIVRAISON event waits
    while its message is EN_ATTENTE or a STATUT event of it waits. With `lock`
    (PostgreSQL), the rows returned are locked, those another transaction holds
    skipped."""
    skip = " FOR UPDATE OF e SKIP LOCKED" if lock else ""
    rows = conn.execute(
        "SELECT e.id, e.account_id, e.url, e.type, e.cree_le, e.tentatives, a.secret_rappel,"
        " m.ref, m.destinataire, m.statut, m.raison, m.code_smsc, m.envoye_le, m.livraison,"
        " m.livre_le, m.doublon_possible, s.reference, m.smsc"
        " FROM callback_events e JOIN messages m ON m.id = e.message_id"
        " JOIN sends s ON s.ref = m.ref JOIN accounts a ON a.id = e.account_id"
        " WHERE e.prochain <= ? AND e.type <> 'ENTRANT'"
        " AND (e.type <> 'LIVRAISON' OR m.statut <> 'EN_ATTENTE')"
        " AND NOT EXISTS (SELECT 1 FROM callback_events p WHERE p.message_id = e.message_id"
        " AND p.id <> e.id AND (p.type = e.type AND p.id < e.id"
        " OR p.type = 'STATUT' AND e.type = 'LIVRAISON'))"
        " ORDER BY e.id LIMIT ?" + skip,
        (now, limit),
    ).fetchall()
    found = [
        PendingCallback(
            id=r[0], account_id=r[1], url=r[2], type=r[3], cree_le=r[4], tentatives=r[5],
            secret=r[6] or "", ref=r[7], destinataire=r[8], statut=r[9], raison=r[10],
            code_smsc=r[11], envoye_le=r[12], livraison=r[13], livre_le=r[14],
            doublon_possible=bool(r[15]), reference=r[16], smsc=r[17],
        )
        for r in rows
    ]
    inbound = _inbound_due(conn, now, limit, skip)
    return sorted([*found, *inbound], key=lambda e: e.id)[:limit]


def _inbound_due(conn: Connection, now: float, limit: int, skip: str = "") -> list[PendingCallback]:
    """ENTRANT events due at `now`: their `message_id` is the inbound message's id."""
    rows = conn.execute(
        "SELECT e.id, e.account_id, e.url, e.cree_le, e.tentatives, a.secret_rappel,"
        " i.emetteur, i.destinataire, i.corps, i.recu_le, i.smsc"
        " FROM callback_events e JOIN inbound_messages i ON i.id = e.message_id"
        " JOIN accounts a ON a.id = e.account_id"
        " WHERE e.type = 'ENTRANT' AND e.prochain <= ? ORDER BY e.id LIMIT ?" + skip,
        (now, limit),
    ).fetchall()
    return [
        PendingCallback(
            id=r[0], account_id=r[1], url=r[2], type="ENTRANT", cree_le=r[3], tentatives=r[4],
            secret=r[5] or "", ref=0, destinataire=r[7], statut="", raison=None, code_smsc=None,
            envoye_le=None, livraison=None, livre_le=None, doublon_possible=False,
            reference=None, smsc=r[10], emetteur=r[6], corps=r[8], recu_le=r[9],
        )
        for r in rows
    ]


def record_inbound(conn: Connection, account_id: int, inbound_id: int, stamp: float) -> int:
    """An ENTRANT event for an inbound message of `account_id`, when the account has
    a callback URL; how many (0 or 1)."""
    return len(conn.execute(
        "INSERT INTO callback_events (account_id, message_id, type, url, cree_le, prochain)"
        " SELECT a.id, ?, 'ENTRANT', a.url_rappel, ?, 0 FROM accounts a"
        " WHERE a.id = ? AND NULLIF(a.url_rappel, '') IS NOT NULL RETURNING id",
        (inbound_id, stamp, account_id),
    ).fetchall())


def next_due(conn: Connection) -> float | None:
    """When the next event falls due (POSIX seconds), or None when none waits."""
    row = conn.execute("SELECT MIN(prochain) FROM callback_events").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def waiting(conn: Connection) -> int:
    """Events not yet delivered."""
    return int(conn.execute("SELECT COUNT(*) FROM callback_events").fetchone()[0])


def settle(
    conn: Connection,
    done: Sequence[int],
    retry: Sequence[tuple[float, int]],
) -> None:
    """Forget the events in `done` (acknowledged or dropped); give each (next
    attempt time, id) in `retry` one more attempt on record and its next time."""
    if is_postgresql(conn):
        if done:
            conn.execute("DELETE FROM callback_events WHERE id = ANY(?::bigint[])", (list(done),))
        if retry:
            conn.execute(
                "UPDATE callback_events AS e SET tentatives = e.tentatives + 1,"
                " prochain = v.prochain FROM unnest(?::float8[], ?::bigint[]) AS v(prochain, id)"
                " WHERE e.id = v.id",
                ([t for t, _ in retry], [i for _, i in retry]),
            )
        return
    conn.executemany("DELETE FROM callback_events WHERE id = ?", ((i,) for i in done))
    conn.executemany(
        "UPDATE callback_events SET tentatives = tentatives + 1, prochain = ? WHERE id = ?", retry
    )
