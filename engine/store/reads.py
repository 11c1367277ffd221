"""Read-only queries for the API: sends, their messages, counts."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SendView:
    ref: int
    account_id: int
    type: str
    emetteur: str
    corps: str
    encodage: str
    segments: int
    nb_destinataires: int
    doublons: int
    avertissements: list[str]
    campagne: dict[str, Any] | None
    cree_le: str
    compteurs: dict[str, int]

    @property
    def statut(self) -> str:
        """EN_ATTENTE while any recipient is pending; then ENVOYE if one was sent."""
        if self.compteurs["EN_ATTENTE"]:
            return "EN_ATTENTE"
        return "ENVOYE" if self.compteurs["ENVOYE"] else "ECHEC"


def get_send(conn: sqlite3.Connection, account_id: int, ref: int) -> SendView | None:
    row = conn.execute(
        "SELECT ref, account_id, type, emetteur, corps, encodage, segments, nb_destinataires,"
        " doublons, avertissements, campagne, cree_le FROM sends WHERE ref = ? AND account_id = ?",
        (ref, account_id),
    ).fetchone()
    if row is None:
        return None
    counts = {"EN_ATTENTE": 0, "ENVOYE": 0, "ECHEC": 0, "LIVRE": 0}
    for statut, n in conn.execute(
        "SELECT statut, COUNT(*) FROM messages WHERE ref = ? GROUP BY statut", (ref,)
    ):
        counts[statut] = n
    counts["LIVRE"] = conn.execute(
        "SELECT COUNT(*) FROM messages WHERE ref = ? AND livraison = 'LIVRE'", (ref,)
    ).fetchone()[0]
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
    )


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    destinataire: str
    statut: str
    raison: str | None
    code_smsc: int | None
    envoye_le: str | None
    livraison: str | None
    livre_le: str | None
    doublon_possible: bool


def list_messages(
    conn: sqlite3.Connection, ref: int, *, statut: str | None, after_id: int, limit: int
) -> list[MessageView]:
    """Messages of a send in id order, from after `after_id` (a stable cursor: ids
    never change, whatever the statuses do during the walk)."""
    sql = (
        "SELECT id, destinataire, statut, raison, code_smsc, envoye_le, livraison, livre_le,"
        " doublon_possible FROM messages WHERE ref = ? AND id > ?"
    )
    args: list[Any] = [ref, after_id]
    if statut is not None:
        sql += " AND statut = ?"
        args.append(statut)
    sql += " ORDER BY id LIMIT ?"
    args.append(limit)
    return [
        MessageView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]))
        for r in conn.execute(sql, args)
    ]


def pending_messages(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every message still EN_ATTENTE of a send that is not a campaign, oldest first,
    with what is needed to send it again."""
    return conn.execute(
        "SELECT m.id, m.account_id, m.ref, m.destinataire, m.tentatives, m.doublon_possible,"
        " s.type, s.emetteur, s.corps FROM messages m JOIN sends s ON s.ref = m.ref"
        " WHERE m.statut = 'EN_ATTENTE' AND s.campagne IS NULL ORDER BY m.id"
    ).fetchall()
