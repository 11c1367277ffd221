"""Inbound messages (MO) and the numbers accounts receive them on: the queries.

An inbound number or short code is kept as `inbound_key` spells it (no `+`), so
"+24106000000" and "24106000000" are one number; it belongs to one account at most.
An MO is stored with its owner (the account owning its destination) or none (the
operators' list).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import InboundMessage, InboundStored, InboundView, inbound_key
from engine.store import outbox as q_outbox
from engine.store.sql import Connection


def record(
    conn: Connection, messages: Sequence[InboundMessage], stamp: float
) -> tuple[list[InboundStored], int]:
    """Store each MO with its owner, and an ENTRANT callback event (created at
    `stamp`, POSIX seconds) for each owned one whose account has a callback URL;
    returns their ids and owners, in order, and how many events were written."""
    stored: list[InboundStored] = []
    events = 0
    for m in messages:
        row = conn.execute(
            "SELECT account_id FROM inbound_numbers WHERE numero = ?",
            (inbound_key(m.destinataire),),
        ).fetchone()
        owner = int(row[0]) if row is not None else None
        new_id = conn.execute(
            "INSERT INTO inbound_messages (account_id, emetteur, destinataire, corps, recu_le,"
            " smsc) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (owner, m.emetteur, m.destinataire, m.corps, m.recu_le, m.smsc),
        ).fetchone()[0]
        stored.append(InboundStored(int(new_id), owner))
        if owner is not None:
            events += q_outbox.record_inbound(conn, owner, int(new_id), stamp)
    return stored, events


def numbers(conn: Connection, account_id: int) -> list[str]:
    """The account's inbound numbers and short codes, sorted."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT numero FROM inbound_numbers WHERE account_id = ? ORDER BY numero",
            (account_id,),
        )
    ]


def set_numbers(conn: Connection, account_id: int, wanted: Sequence[str]) -> str | None:
    """Make `wanted` the account's inbound numbers. Returns the first number another
    account already owns (nothing changed), else None."""
    keys = sorted({inbound_key(n) for n in wanted})
    for key in keys:
        row = conn.execute(
            "SELECT account_id FROM inbound_numbers WHERE numero = ?", (key,)
        ).fetchone()
        if row is not None and int(row[0]) != account_id:
            return key
    conn.execute("DELETE FROM inbound_numbers WHERE account_id = ?", (account_id,))
    conn.executemany(
        "INSERT INTO inbound_numbers (numero, account_id) VALUES (?, ?)",
        [(key, account_id) for key in keys],
    )
    return None


def page(
    conn: Connection, account_id: int | None, *, before_id: int, limit: int
) -> list[InboundView]:
    """MO newest first, from before `before_id` (0: from the newest): the account's,
    or those to no known number when `account_id` is None."""
    owner = "account_id IS NULL" if account_id is None else "account_id = ?"
    args: list[object] = [] if account_id is None else [account_id]
    sql = (
        "SELECT id, account_id, emetteur, destinataire, corps, recu_le, smsc"
        f" FROM inbound_messages WHERE {owner}"
    )
    if before_id:
        sql += " AND id < ?"
        args.append(before_id)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [
        InboundView(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6])
        for r in conn.execute(sql, args)
    ]
