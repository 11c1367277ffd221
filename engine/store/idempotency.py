"""Store jobs for Idempotency-Key records (written by the account actors).

A record keeps the answer a send got (`Accepted`, as JSON) under its account and
key, with the digest of the request body, so the same request sent again gets
the same answer and another body under the same key is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from engine.model import Accepted, AccountId, Idempotency, MessageStatus, SendRef, SendType
from engine.store.sql import Connection


def remember(
    conn: Connection,
    account_id: AccountId,
    idempotency: Idempotency,
    accepted: Accepted,
    stamp: float,
) -> None:
    """Keep `accepted` (already under its ref) as the answer to this key;
    `stamp` is when, in POSIX seconds."""
    conn.execute(
        "INSERT INTO idempotency (account_id, key, body_hash, response, cree_le)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            account_id,
            idempotency.key,
            idempotency.body_hash,
            json.dumps(_accepted_json(accepted)),
            stamp,
        ),
    )


def find(
    conn: Connection, account_id: AccountId, keys: Sequence[str]
) -> dict[str, tuple[str, Accepted]]:
    """The answers kept under these keys of the account: key -> (body digest,
    answer marked `replayed`)."""
    found = {}
    for key in keys:
        row = conn.execute(
            "SELECT body_hash, response FROM idempotency WHERE account_id = ? AND key = ?",
            (account_id, key),
        ).fetchone()
        if row is not None:
            found[key] = (row[0], _accepted_from_json(json.loads(row[1])))
    return found


def expire(conn: Connection, before: float) -> int:
    """Delete records created before `before` (POSIX seconds); return how many.
    Walks the `idempotency_age` index."""
    return conn.execute("DELETE FROM idempotency WHERE cree_le < ?", (before,)).rowcount


def oldest(conn: Connection) -> float | None:
    """When the oldest record was created (POSIX seconds), or None."""
    row = conn.execute("SELECT MIN(cree_le) FROM idempotency").fetchone()
    return row[0] if row else None


def _accepted_json(accepted: Accepted) -> dict[str, Any]:
    data = asdict(accepted)
    data["avertissements"] = list(accepted.avertissements)
    return data


def _accepted_from_json(data: dict[str, Any]) -> Accepted:
    return Accepted(
        ref=SendRef(data["ref"]),
        type=SendType(data["type"]),
        statut=MessageStatus(data["statut"]),
        segments=data["segments"],
        encodage=data["encodage"],
        nb_destinataires=data["nb_destinataires"],
        doublons=data["doublons"],
        avertissements=tuple(data["avertissements"]),
        replayed=True,
    )
