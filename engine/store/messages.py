"""Store jobs for sends and their per-recipient messages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.accounts.state import Billing, Entry, Ledger, settle_failed, settle_sent
from engine.types import AccountId, MessageId, Raison, SendRef, Statut


@dataclass(frozen=True, slots=True)
class NewRecipient:
    destinataire: str
    statut: Statut
    raison: Raison | None
    reserve: int


@dataclass(frozen=True, slots=True)
class NewSendRow:
    account_id: AccountId
    type: str
    emetteur: str
    corps: str
    encodage: str
    segments: int
    billing: Billing
    doublons: int
    avertissements: tuple[str, ...]
    recipients: Sequence[NewRecipient]
    cree_le: str
    campagne: dict[str, object] | None = None


def insert_send(conn: sqlite3.Connection, send: NewSendRow) -> tuple[SendRef, MessageId]:
    """Insert one send and its messages; return its ref and its first message id.

    Message ids of one send are consecutive, in recipient order.
    """
    cur = conn.execute(
        "INSERT INTO sends (account_id, type, emetteur, corps, encodage, segments,"
        " nb_destinataires, doublons, billing, avertissements, campagne, cree_le)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            send.account_id,
            send.type,
            send.emetteur,
            send.corps,
            send.encodage,
            send.segments,
            len(send.recipients),
            send.doublons,
            send.billing.value,
            json.dumps(list(send.avertissements), ensure_ascii=False),
            json.dumps(send.campagne) if send.campagne is not None else None,
            send.cree_le,
        ),
    )
    assert cur.lastrowid is not None
    ref = SendRef(cur.lastrowid)
    first = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]) + 1
    billing = send.billing.value
    conn.executemany(
        "INSERT INTO messages (id, ref, account_id, destinataire, statut, raison, billing,"
        " segments, reserve) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                first + i,
                ref,
                send.account_id,
                r.destinataire,
                r.statut.value,
                r.raison.value if r.raison else None,
                billing,
                send.segments,
                r.reserve,
            )
            for i, r in enumerate(send.recipients)
        ),
    )
    return ref, MessageId(first)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one message ended at the SMSC side."""

    message_id: MessageId
    ref: SendRef
    statut: Statut
    raison: Raison | None = None
    code_smsc: int | None = None
    smsc_ids: tuple[str, ...] = ()
    at: str = ""
    doublon_possible: bool = False


@dataclass(slots=True)
class SettleResult:
    ledger: Ledger
    entries: list[Entry] = field(default_factory=list)
    settled: list[Outcome] = field(default_factory=list)


def settle_outcomes(
    conn: sqlite3.Connection, ledger: Ledger, outcomes: Sequence[Outcome]
) -> SettleResult:
    """Record final statuses and bill them, once per message.

    A message that is no longer EN_ATTENTE (already ended) is skipped, so a
    repeated outcome can never be billed twice.
    """
    result = SettleResult(ledger)
    ids = [o.message_id for o in outcomes]
    pending: dict[int, tuple[str, int, int]] = {}
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        marks = ",".join("?" * len(chunk))
        for mid, billing, segments, reserve in conn.execute(
            f"SELECT id, billing, segments, reserve FROM messages WHERE id IN ({marks})"
            " AND statut = 'EN_ATTENTE'",
            chunk,
        ):
            pending[mid] = (billing, segments, reserve)
    sent_by_key: dict[tuple[int, Billing], int] = {}
    freed_by_ref: dict[int, int] = {}
    rows = []
    smsc_rows = []
    for o in outcomes:
        info = pending.pop(o.message_id, None)
        if info is None:
            continue
        billing, segments, reserve = info
        if o.statut is Statut.ENVOYE:
            key = (o.ref, Billing(billing))
            sent_by_key[key] = sent_by_key.get(key, 0) + segments
            freed = reserve - segments if billing == Billing.PREPAYE.value else 0
        else:
            freed = reserve
        if freed:
            freed_by_ref[o.ref] = freed_by_ref.get(o.ref, 0) + freed
        rows.append(
            (
                o.statut.value,
                o.raison.value if o.raison else None,
                o.code_smsc,
                ",".join(o.smsc_ids) or None,
                o.at if o.statut is Statut.ENVOYE else None,
                1 if o.doublon_possible else 0,
                o.message_id,
            )
        )
        smsc_rows.extend((sid, o.message_id) for sid in o.smsc_ids)
        result.settled.append(o)
    led = ledger
    for (ref, billing), amount in sent_by_key.items():
        led, entries = settle_sent(led, billing, amount, ref)
        result.entries.extend(entries)
    for ref, amount in freed_by_ref.items():
        led, entries = settle_failed(led, Billing.PREPAYE, amount, ref)
        result.entries.extend(entries)
    result.ledger = led
    conn.executemany(
        "UPDATE messages SET statut = ?, raison = ?, code_smsc = ?, smsc_ids = ?,"
        " envoye_le = ?, doublon_possible = MAX(doublon_possible, ?), reserve = 0 WHERE id = ?",
        rows,
    )
    conn.executemany(
        "INSERT OR REPLACE INTO smsc_ids (smsc_id, message_id) VALUES (?, ?)", smsc_rows
    )
    return result


def mark_attempt(conn: sqlite3.Connection, message_ids: Sequence[int]) -> None:
    """Record that a submit_sm may leave for these messages (at-least-once evidence)."""
    conn.executemany(
        "UPDATE messages SET tentatives = tentatives + 1 WHERE id = ?",
        ((m,) for m in message_ids),
    )


def flag_possible_duplicates(conn: sqlite3.Connection, message_ids: Sequence[int]) -> None:
    conn.executemany(
        "UPDATE messages SET doublon_possible = 1 WHERE id = ?", ((m,) for m in message_ids)
    )


def record_receipts(
    conn: sqlite3.Connection, receipts: Sequence[tuple[str, str, str]]
) -> list[tuple[int, int, str, str]]:
    """Apply delivery receipts (smsc_id, livraison, at); return the matched
    (message_id, ref, livraison, at). Receipts for unknown ids are ignored."""
    matched = []
    for smsc_id, livraison, at in receipts:
        row = conn.execute(
            "SELECT m.id, m.ref FROM smsc_ids s JOIN messages m ON m.id = s.message_id"
            " WHERE s.smsc_id = ?",
            (smsc_id,),
        ).fetchone()
        if row is None:
            continue
        conn.execute(
            "UPDATE messages SET livraison = ?, livre_le = ? WHERE id = ?",
            (livraison, at, row[0]),
        )
        matched.append((row[0], row[1], livraison, at))
    return matched
