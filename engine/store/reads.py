"""Read-only queries for the API: sends, their messages, counts.

The records they answer with (`SendView`, `MessageView`) are the
domain model's (`engine.model.views`), named here too for the modules that import
them with the queries."""

from __future__ import annotations

import json
from typing import Any

from engine.model import WaitingMessage
from engine.model.sends import expiry
from engine.model.views import MessageView, SendView
from engine.store.sql import Connection

_SEND_COLUMNS = (
    "ref, account_id, type, emetteur, corps, encodage, segments, nb_destinataires,"
    " doublons, avertissements, campagne, cree_le, reference, url_rappel, validite, priorite,"
    " date_envoi"
)


def get_send(conn: Connection, account_id: int, ref: int) -> SendView | None:
    row = conn.execute(
        f"SELECT {_SEND_COLUMNS} FROM sends WHERE ref = ? AND account_id = ?",
        (ref, account_id),
    ).fetchone()
    if row is None:
        return None
    return _send_view(conn, row)


def _send_view(conn: Connection, row: tuple[Any, ...]) -> SendView:
    ref = row[0]
    counts = {"EN_ATTENTE": 0, "ENVOYE": 0, "ECHEC": 0, "LIVRE": 0}
    for statut, n, delivered in conn.execute(
        "SELECT statut, COUNT(*), COUNT(CASE WHEN livraison = 'LIVRE' THEN 1 END)"
        " FROM messages WHERE ref = ?"
        " GROUP BY statut",
        (ref,),
    ):
        counts[statut] = n
        counts["LIVRE"] += delivered or 0
    return SendView(
        ref=row[0],
        account_id=row[1],
        type=row[2],
        emetteur=row[3],
        corps=row[4],
        encodage=row[5],
        segments=row[6],
        nb_destinataires=row[7],
        doublons=row[8],
        avertissements=json.loads(row[9]),
        campagne=json.loads(row[10]) if row[10] else None,
        cree_le=row[11],
        compteurs=counts,
        reference=row[12],
        url_rappel=row[13],
        validite=row[14],
        priorite=row[15],
        date_envoi=row[16],
    )


def list_messages(
    conn: Connection,
    ref: int,
    *,
    statut: str | None,
    after_id: int,
    limit: int,
    reference: str | None = None,
) -> list[MessageView]:
    """Messages of a send in id order, from after `after_id` (a stable cursor: ids
    never change, whatever the statuses do during the walk)."""
    sql = (
        "SELECT id, destinataire, statut, raison, code_smsc, envoye_le, livraison, livre_le,"
        " doublon_possible, smsc FROM messages WHERE ref = ? AND id > ?"
    )
    args: list[Any] = [ref, after_id]
    if statut is not None:
        sql += " AND statut = ?"
        args.append(statut)
    sql += " ORDER BY id LIMIT ?"
    args.append(limit)
    return [
        MessageView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), reference, r[9])
        for r in conn.execute(sql, args)
    ]


def messages_page(
    conn: Connection,
    account_id: int,
    ref: int,
    *,
    statut: str | None,
    after_id: int,
    limit: int,
) -> list[MessageView] | None:
    """One page of a send's messages, or None when the send is not the account's."""
    owned = conn.execute(
        "SELECT reference FROM sends WHERE ref = ? AND account_id = ?", (ref, account_id)
    ).fetchone()
    if owned is None:
        return None
    return list_messages(
        conn, ref, statut=statut, after_id=after_id, limit=limit, reference=owned[0]
    )


_ANY = "EXISTS (SELECT 1 FROM messages m WHERE m.ref = s.ref AND m.statut {})"
_AGGREGATE = {
    "EN_ATTENTE": _ANY.format("= 'EN_ATTENTE'"),
    "ENVOYE": "NOT " + _ANY.format("= 'EN_ATTENTE'") + " AND " + _ANY.format("= 'ENVOYE'"),
    "ECHEC": "NOT " + _ANY.format("IN ('EN_ATTENTE', 'ENVOYE')"),
}


def list_sends(
    conn: Connection,
    account_id: int,
    *,
    before_ref: int | None,
    type: str | None,
    statut: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    reference: str | None = None,
    numero: str | None = None,
) -> list[SendView]:
    """The account's sends, newest first, strictly before `before_ref` (a stable
    cursor: refs never change). `since` is inclusive, `until` exclusive (ISO 8601
    UTC strings, compared as text like `cree_le`). Walks the (account_id, ref) index;
    `reference` keeps the sends that carry it, `numero` those with that recipient."""
    sql = f"SELECT {_SEND_COLUMNS} FROM sends s WHERE account_id = ?"
    args: list[Any] = [account_id]
    if before_ref is not None:
        sql += " AND ref < ?"
        args.append(before_ref)
    if type is not None:
        sql += " AND type = ?"
        args.append(type)
    if since is not None:
        sql += " AND cree_le >= ?"
        args.append(since)
    if until is not None:
        sql += " AND cree_le < ?"
        args.append(until)
    if statut is not None:
        sql += " AND " + _AGGREGATE[statut]
    if reference is not None:
        sql += " AND reference = ?"
        args.append(reference)
    if numero is not None:
        sql += " AND EXISTS (SELECT 1 FROM messages m WHERE m.ref = s.ref AND m.destinataire = ?)"
        args.append(numero)
    sql += " ORDER BY ref DESC LIMIT ?"
    args.append(limit)
    return [_send_view(conn, row) for row in conn.execute(sql, args).fetchall()]


_WAITING = (
    "SELECT m.id, m.account_id, m.ref, m.destinataire, m.tentatives, m.doublon_possible,"
    " s.emetteur, s.corps, s.type = 'UNIDES' OR s.priorite = 'HAUTE', s.validite,"
    " s.date_envoi, s.cree_le FROM messages m JOIN sends s ON s.ref = m.ref"
    " WHERE m.statut = 'EN_ATTENTE' AND s.campagne IS NULL"
)


def pending_messages(conn: Connection) -> list[WaitingMessage]:
    """Every message still EN_ATTENTE of a send that is not a campaign, oldest first
    (single sends and HAUTE sends go ahead of bulk), with its send's validity and
    deferred departure; the caller holds back those whose time has not come."""
    return [waiting(row) for row in conn.execute(_WAITING + " ORDER BY m.id").fetchall()]


def pending_of(conn: Connection, ref: int) -> list[WaitingMessage]:
    """The messages of send `ref` still EN_ATTENTE, in order (a deferred send's, at
    its departure)."""
    rows = conn.execute(_WAITING + " AND m.ref = ? ORDER BY m.id", (ref,)).fetchall()
    return [waiting(row) for row in rows]


def waiting(row: tuple[Any, ...]) -> WaitingMessage:
    """A row of the waiting-messages queries as the model's record (with, when the
    row has them, its send's validity, departure and acceptance time)."""
    expires_at = date_envoi = None
    if len(row) > 9:
        date_envoi = row[10]
        expires_at = expiry(row[9], date_envoi or row[11])
    return WaitingMessage(
        row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], bool(row[8]),
        expires_at, date_envoi,
    )
