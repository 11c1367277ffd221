"""Store jobs for scheduled campaigns: their calendar, their progress, their waves.

A campaign's recipients are ordinary `messages` rows of its send, inserted at
acceptance with consecutive ids in list order, EN_ATTENTE and nothing reserved.
`campaigns.lances` counts the recipients released so far (ids below
`premier_message + lances`); `campaign_waves` has one row per slot handled, and
its primary key makes a slot handled twice impossible.

Each function is a transaction body (or a part of one) with the connection as
first argument; `engine.store.operations` names them for the rest of the engine.
The rows they answer with (`CampaignRow`, `WaveRow`) are the domain model's
(`engine.model.campaigns`), named here too for the modules that import them with
the queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engine.model import AccountId, MessageId, SendRef, WaitingMessage
from engine.model.campaigns import LIVE, CampaignRow, WaveRow
from engine.store.reads import waiting
from engine.store.sql import Connection

LIVE_STATES = tuple(sorted(state.value for state in LIVE))
"""The live campaign states (`engine.model.LIVE`) as query parameters."""


_COLUMNS = (
    "c.ref, c.account_id, c.premier_message, c.total, c.date_debut, c.date_fin,"
    " c.nb_par_jour, c.intervalle_minutes, c.fenetre_debut, c.fenetre_fin, c.fuseau,"
    " c.accepte_le, c.etat, c.lances, c.jour, c.lances_jour, c.dernier_creneau, c.fin_le,"
    " s.emetteur, s.corps, s.segments, s.billing"
)


def _row(r: tuple[Any, ...]) -> CampaignRow:
    return CampaignRow(
        SendRef(r[0]), AccountId(r[1]), MessageId(r[2]), *r[3:]
    )


def insert_campaign(
    conn: Connection,
    *,
    ref: SendRef,
    account_id: AccountId,
    premier_message: MessageId,
    total: int,
    date_debut: str,
    date_fin: str,
    nb_par_jour: int,
    intervalle_minutes: int,
    fenetre_debut: str,
    fenetre_fin: str,
    fuseau: str,
    accepte_le: str,
    etat: str,
) -> None:
    conn.execute(
        "INSERT INTO campaigns (ref, account_id, premier_message, total, date_debut, date_fin,"
        " nb_par_jour, intervalle_minutes, fenetre_debut, fenetre_fin, fuseau, accepte_le, etat,"
        " fin_le) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ref, account_id, premier_message, total, date_debut, date_fin, nb_par_jour,
            intervalle_minutes, fenetre_debut, fenetre_fin, fuseau, accepte_le, etat,
            accepte_le if etat not in LIVE_STATES else None,
        ),
    )


def get_campaign(conn: Connection, ref: int) -> CampaignRow | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM campaigns c JOIN sends s ON s.ref = c.ref WHERE c.ref = ?",
        (ref,),
    ).fetchone()
    return _row(row) if row else None


def live_campaigns(conn: Connection) -> list[CampaignRow]:
    marks = ",".join("?" * len(LIVE_STATES))
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLUMNS} FROM campaigns c JOIN sends s ON s.ref = c.ref"
            f" WHERE c.etat IN ({marks}) ORDER BY c.ref",
            LIVE_STATES,
        )
    ]


def recipients(conn: Connection, first: int, count: int) -> list[tuple[MessageId, str]]:
    """(id, number) of the messages `first` .. `first + count - 1` still EN_ATTENTE."""
    return [
        (MessageId(r[0]), r[1])
        for r in conn.execute(
            "SELECT id, destinataire FROM messages WHERE id >= ? AND id < ?"
            " AND statut = 'EN_ATTENTE' ORDER BY id",
            (first, first + count),
        )
    ]


def reserve_messages(conn: Connection, ids: Sequence[int], per_message: int) -> None:
    """Record the credits held for each released prepaid message."""
    conn.executemany(
        "UPDATE messages SET reserve = ? WHERE id = ? AND statut = 'EN_ATTENTE'",
        ((per_message, m) for m in ids),
    )


def record_wave(
    conn: Connection,
    ref: SendRef,
    *,
    creneau: str,
    demandes: int,
    lances: int,
    fait_le: str,
    total_lances: int,
    jour: str,
    lances_jour: int,
    etat: str,
    public: dict[str, Any],
) -> None:
    """One slot handled: its wave row (unique per slot) and the campaign's progress."""
    conn.execute(
        "INSERT INTO campaign_waves (ref, creneau, demandes, lances, fait_le)"
        " VALUES (?, ?, ?, ?, ?)",
        (ref, creneau, demandes, lances, fait_le),
    )
    conn.execute(
        "UPDATE campaigns SET lances = ?, jour = ?, lances_jour = ?, dernier_creneau = ?,"
        " etat = ? WHERE ref = ?",
        (total_lances, jour, lances_jour, creneau, etat, ref),
    )
    set_public(conn, ref, public)


def finish(
    conn: Connection, ref: SendRef, etat: str, at: str, public: dict[str, Any]
) -> None:
    conn.execute("UPDATE campaigns SET etat = ?, fin_le = ? WHERE ref = ?", (etat, at, ref))
    set_public(conn, ref, public)


def set_state(conn: Connection, ref: SendRef, etat: str, public: dict[str, Any]) -> None:
    """A live campaign's state changed without a wave (its account suspended or
    reactivated): its row and the fields its send shows."""
    conn.execute("UPDATE campaigns SET etat = ? WHERE ref = ?", (etat, ref))
    set_public(conn, ref, public)


def set_public(conn: Connection, ref: SendRef, public: dict[str, Any]) -> None:
    """The campaign fields `GET /api/V1/sms/{ref}` shows (the send's `campagne`)."""
    conn.execute(
        "UPDATE sends SET campagne = ? WHERE ref = ?", (json.dumps(public, ensure_ascii=False), ref)
    )


def waves_done(conn: Connection, ref: int) -> list[WaveRow]:
    return [
        WaveRow(*r)
        for r in conn.execute(
            "SELECT creneau, demandes, lances, fait_le FROM campaign_waves WHERE ref = ?"
            " ORDER BY creneau",
            (ref,),
        )
    ]


def released_pending(conn: Connection) -> list[WaitingMessage]:
    """Released campaign messages still EN_ATTENTE (handed to the dispatcher before a
    stop), with bulk priority."""
    rows = conn.execute(
        "SELECT m.id, m.account_id, m.ref, m.destinataire, m.tentatives, m.doublon_possible,"
        " s.emetteur, s.corps, 0 FROM campaigns c JOIN messages m ON m.ref = c.ref"
        " JOIN sends s ON s.ref = c.ref"
        " WHERE m.statut = 'EN_ATTENTE' AND m.id < c.premier_message + c.lances ORDER BY m.id"
    ).fetchall()
    return [waiting(row) for row in rows]
