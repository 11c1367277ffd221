"""Receipts looked up through the stored SMSC ids in one batch: every spelling an
SMSC uses (hex for decimal, leading zeros, case), ids that match nothing, and ids
far longer than SMPP allows, in one call."""

from __future__ import annotations

import sqlite3

from engine.accounts import state
from engine.model import (
    AccountId,
    Billing,
    Ledger,
    MessageId,
    MessageStatus,
    NewRecipient,
    NewSendRow,
    Outcome,
    SendType,
)
from engine.store import messages as q_messages
from engine.store.sqlite import SqliteConnection, migrate

NOW = "2026-01-01T12:00:00.000Z"


def sent_with_ids(conn: SqliteConnection, smsc_ids: list[str]) -> list[MessageId]:
    """One send of one message per SMSC id, each ENVOYE under that id."""
    row = NewSendRow(
        account_id=AccountId(1), type=SendType.MULDES.value, emetteur="ION", corps="Bonjour",
        encodage="GSM7", segments=1, billing=Billing.POSTPAYE, doublons=0, avertissements=(),
        recipients=[
            NewRecipient(f"+2410660{i:04d}", MessageStatus.EN_ATTENTE, None, 0)
            for i in range(len(smsc_ids))
        ],
        cree_le=NOW,
    )
    ref, first = q_messages.insert_send(conn, row)
    ids = [MessageId(first + i) for i in range(len(smsc_ids))]
    outcomes = [
        Outcome(mid, ref, MessageStatus.ENVOYE, smsc_ids=(sid,), at=NOW)
        for mid, sid in zip(ids, smsc_ids, strict=True)
    ]
    q_messages.settle_outcomes(conn, Ledger(), outcomes, state.settle)
    return ids


def test_one_batch_matches_every_spelling_and_reports_the_rest_missing() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None, factory=SqliteConnection)
    migrate(conn)
    decimal, hexed, padded = sent_with_ids(conn, ["123456", "a1b2", "77"])
    receipts = [
        ("1E240", "LIVRE", NOW),  # 123456 written in hex
        ("9" * 5_000, "LIVRE", NOW),  # far over SMPP's 65 octets: matches nothing
        ("41394", "NON_LIVRE", NOW),  # 0xa1b2 written in decimal
        ("unknown", "LIVRE", NOW),
        ("000077", "EXPIRE", NOW),
    ]
    found, missing = q_messages.find_receipted(conn, receipts)
    assert [(r.message_id, r.livraison) for r in found] == [
        (decimal, "LIVRE"), (hexed, "NON_LIVRE"), (padded, "EXPIRE"),
    ]
    assert missing == [1, 3]


def test_receipt_id_spellings_are_bounded() -> None:
    assert q_messages.smsc_id_candidates("9" * 5_000) == ["9" * 5_000]
    assert q_messages.smsc_id_candidates(" 00123456 ") == ["123456", "1e240", "1193046"]
    assert q_messages.smsc_id_candidates("0A1") == ["a1", "161"]
    assert q_messages.smsc_id_candidates("7") == ["7"]
    assert q_messages.smsc_id_candidates("f" * 64)[1] == str(16**64 - 1)
    assert q_messages.smsc_id_candidates("f" * 65) == ["f" * 65]
