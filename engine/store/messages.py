"""Store jobs for sends and their per-recipient messages.

Each function is a transaction body (or a part of one) run in the writer thread
with the connection as first argument; `engine.store.operations` names them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engine.model import (
    Ledger,
    MessageId,
    MessageStatus,
    NewSendRow,
    Outcome,
    PartReceipt,
    PendingCharge,
    SendRef,
    Settlement,
)
from engine.store.sql import Connection, StoreError, is_postgresql

if TYPE_CHECKING:
    from engine.store.postgres import PgConnection

_SEND_COLUMNS = (
    "account_id", "type", "emetteur", "corps", "encodage", "segments", "nb_destinataires",
    "doublons", "billing", "avertissements", "campagne", "cree_le",
    "reference", "url_rappel", "validite", "priorite", "date_envoi",
)
_MESSAGE_COLUMNS = (
    "ref", "account_id", "destinataire", "statut", "raison", "billing", "segments", "reserve"
)
_INSERT_SEND = (
    f"INSERT INTO sends ({', '.join(_SEND_COLUMNS)}) VALUES ({', '.join('?' * len(_SEND_COLUMNS))})"
)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * 8)})"
)
_J = tuple(f"json_extract(j.value, '$[{i}]')" for i in range(8))
"""SQLite: the fields of the row `j` of a JSON array of rows walked by `json_each`
(`json_extract`, not `->>`: SQLite 3.35 has it)."""
COPY_FROM = 64
"""From this many messages in one batch, PostgreSQL takes them with COPY."""


def _send_values(send: NewSendRow) -> tuple[object, ...]:
    return (
        send.account_id,
        send.type,
        send.emetteur,
        send.corps,
        send.encodage,
        send.segments,
        len(send.recipients),
        send.doublons,
        send.billing.value,
        json.dumps(list(send.avertissements), ensure_ascii=False) if send.avertissements else "[]",
        json.dumps(send.campagne) if send.campagne is not None else None,
        send.cree_le,
        send.options.reference,
        send.options.url_rappel,
        send.options.validite,
        send.options.priorite.value,
        send.options.date_envoi,
    )


def _message_values(send: NewSendRow, ref: int) -> list[tuple[object, ...]]:
    billing = send.billing.value
    return [
        (ref, send.account_id, r.destinataire, r.statut.value,
         r.raison.value if r.raison else None, billing, send.segments, r.reserve)
        for r in send.recipients
    ]


def insert_send(conn: Connection, send: NewSendRow) -> tuple[SendRef, MessageId]:
    """Insert one send and its messages; return its ref and its first message id."""
    return insert_sends(conn, [send])[0]


def insert_sends(conn: Connection, sends: Sequence[NewSendRow]) -> list[tuple[SendRef, MessageId]]:
    """Insert sends and their messages; return each one's ref and first message id.

    Message ids come from the database; those of one send are consecutive, in
    recipient order (`_first_of_run` says why on SQLite, `_insert_sends_pg` how on
    PostgreSQL).
    """
    if is_postgresql(conn):
        return _insert_sends_pg(conn, sends) if sends else []
    created = []
    for send in sends:
        # the new rowid (`ref`, `id`) as the driver reports it: a RETURNING row would
        # cost one more step of the statement
        cursor: Any = conn.execute(_INSERT_SEND, _send_values(send))
        ref = SendRef(cursor.lastrowid)
        if len(send.recipients) == 1:  # a single send: the next rowid, one statement
            cursor = conn.execute(_INSERT_MESSAGE, _message_values(send, ref)[0])
            first = MessageId(cursor.lastrowid)
        else:
            _insert_messages_sqlite(conn, send, ref)
            first = _first_of_run(conn, ref, send)
        created.append((ref, first))
    return created


_INSERT_NUMBERS = (
    "INSERT INTO messages (ref, account_id, destinataire, statut, raison, billing, segments,"
    " reserve) SELECT ?, ?, j.value, ?, ?, ?, ?, ? FROM json_each(?) AS j"
)
_INSERT_RECIPIENTS = (
    "INSERT INTO messages (ref, account_id, destinataire, statut, raison, billing, segments,"
    f" reserve) SELECT ?, ?, {_J[0]}, {_J[1]}, {_J[2]}, ?, ?, {_J[3]}"
    " FROM json_each(?) AS j"
)


def _insert_messages_sqlite(conn: Connection, send: NewSendRow, ref: SendRef) -> None:
    """A send's messages in one statement (SQLite): the recipients handed over as
    one JSON array that SQLite walks in order (`json_each`), instead of a row of
    parameters bound and a step taken per message. Most sends hold every
    recipient with the same status and reservation: then only the numbers go."""
    recipients = send.recipients
    head = recipients[0]
    statut, raison, reserve = head.statut, head.raison, head.reserve
    if all(r.statut is statut and r.raison is raison and r.reserve == reserve for r in recipients):
        conn.execute(
            _INSERT_NUMBERS,
            (ref, send.account_id, statut, raison, send.billing, send.segments, reserve,
             json.dumps([r.destinataire for r in recipients])),
        )
        return
    conn.execute(
        _INSERT_RECIPIENTS,
        (ref, send.account_id, send.billing, send.segments,
         json.dumps([[r.destinataire, r.statut, r.raison, r.reserve] for r in recipients])),
    )


def _insert_sends_pg(
    conn: PgConnection, sends: Sequence[NewSendRow]
) -> list[tuple[SendRef, MessageId]]:
    """PostgreSQL: take a block of refs and a block of consecutive message ids for
    the whole batch in one round trip, then insert every row with its id (COPY
    from `COPY_FROM` messages): a batch costs the same few round trips whatever
    its number of sends.

    `take_ids` (schema migration 5) advances an identity sequence by the block's
    length under an advisory lock that every taker holds, so no other gateway node
    can be handed an id inside a block, whatever runs concurrently. Sends and
    messages are never inserted with the sequences' own defaults."""
    total = sum(len(send.recipients) for send in sends)
    first_ref, first_id = conn.execute(
        "SELECT take_ids('sends_ref_seq', ?), take_ids('messages_id_seq', ?)",
        (len(sends), total),
    ).fetchone()
    created: list[tuple[SendRef, MessageId]] = []
    send_rows: list[tuple[object, ...]] = []
    message_rows: list[tuple[object, ...]] = []
    next_id = int(first_id)
    for offset, send in enumerate(sends):
        ref = SendRef(int(first_ref) + offset)
        created.append((ref, MessageId(next_id)))
        send_rows.append((ref, *_send_values(send)))
        for row in _message_values(send, ref):
            message_rows.append((next_id, *row))
            next_id += 1
    conn.executemany(
        f"INSERT INTO sends (ref, {', '.join(_SEND_COLUMNS)}) OVERRIDING SYSTEM VALUE"
        f" VALUES ({', '.join('?' * (len(_SEND_COLUMNS) + 1))})",
        send_rows,
    )
    columns = ("id", *_MESSAGE_COLUMNS)
    if len(message_rows) >= COPY_FROM:
        conn.copy_rows("messages", columns, message_rows)
    else:
        conn.executemany(
            f"INSERT INTO messages ({', '.join(columns)}) OVERRIDING SYSTEM VALUE"
            f" VALUES ({', '.join('?' * 9)})",
            message_rows,
        )
    return created


def _first_of_run(conn: Connection, ref: SendRef, send: NewSendRow) -> MessageId:
    """The first id of the messages of send `ref` just inserted, checked to be a
    run of consecutive ids in recipient order (SQLite).

    The database assigns the ids (SQLite: a rowid one above the largest in the
    table, chosen inside the insert); nothing here computes an id. They are
    consecutive because the store has one writer and the rows are inserted in
    one statement of one transaction that holds the write lock: no other insert
    can take an id between two of them. This is checked rather than assumed:
    `ref` is new, so its messages are exactly these rows, and as many distinct
    ids whose smallest is `last - count + 1` and largest `last` are the whole
    run; the first and the last carry the first and the last recipient (one
    query, lookups in the `messages_ref` index). A gap raises `StoreError` and
    the transaction is rolled back.
    """
    count = len(send.recipients)
    last, low, high, first_number, last_number = conn.execute(
        "SELECT last_insert_rowid(), (SELECT MIN(id) FROM messages WHERE ref = ?1),"
        " (SELECT MAX(id) FROM messages WHERE ref = ?1),"
        " (SELECT destinataire FROM messages WHERE id = last_insert_rowid() - ?2 + 1),"
        " (SELECT destinataire FROM messages WHERE id = last_insert_rowid())",
        (ref, count),
    ).fetchone()
    first = last - count + 1
    if (low, high) != (first, last):
        raise StoreError(
            f"messages of send {ref} did not get consecutive ids: {low}..{high}, last {last}"
        )
    if (first_number, last_number) != (send.recipients[0].destinataire, send.recipients[-1].destinataire):
        raise StoreError(f"messages of send {ref} were not stored in recipient order")
    return MessageId(first)


SettleRule = Callable[[Ledger, Mapping[int, PendingCharge], Sequence[Outcome]], Settlement]
"""The ledger's decision of what outcomes cost (`engine.accounts.state.settle`)."""


def pending_charges(conn: Connection, ids: Sequence[int]) -> dict[int, PendingCharge]:
    """What each of these messages still EN_ATTENTE holds, by id (ended ones are absent)."""
    pending: dict[int, PendingCharge] = {}
    if is_postgresql(conn):
        # the status is filtered here, not in SQL: with `statut = 'EN_ATTENTE'` in the
        # query the planner walks the partial index of waiting messages (every one of
        # them) instead of looking each id up in the primary key
        for mid, billing, segments, reserve, statut in conn.execute(
            "SELECT id, billing, segments, reserve, statut FROM messages"
            " WHERE id = ANY(?::bigint[])",
            (list(ids),),
        ):
            if statut == "EN_ATTENTE":
                pending[mid] = (billing, segments, reserve)
        return pending
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        marks = ",".join("?" * len(chunk))
        for mid, billing, segments, reserve in conn.execute(
            f"SELECT id, billing, segments, reserve FROM messages WHERE id IN ({marks})"
            " AND statut = 'EN_ATTENTE'",
            chunk,
        ):
            pending[mid] = (billing, segments, reserve)
    return pending


def settle_outcomes(
    conn: Connection, ledger: Ledger, outcomes: Sequence[Outcome], rule: SettleRule
) -> Settlement:
    """Record final statuses, billed as `rule` decides, once per message.

    Only messages still EN_ATTENTE are handed to `rule` (it leaves out the others),
    so a repeated outcome can never be billed twice. The caller saves the ledger.
    """
    settlement = rule(ledger, pending_charges(conn, [o.message_id for o in outcomes]), outcomes)
    ended = MessageStatus.ENVOYE
    rows = [
        (
            o.statut.value,
            o.raison.value if o.raison else None,
            o.code_smsc,
            ",".join(o.smsc_ids) or None,
            o.at if o.statut is ended else None,
            1 if o.doublon_possible else 0,
            o.message_id,
        )
        for o in settlement.settled
    ]
    # the last message an SMSC id was given to wins, as with one upsert per id
    known = {normalize_smsc_id(sid): o.message_id for o in settlement.settled for sid in o.smsc_ids}
    if is_postgresql(conn):
        _settle_pg(conn, list({row[-1]: row for row in rows}.values()), known)
        return settlement
    conn.executemany(
        "UPDATE messages SET statut = ?, raison = ?, code_smsc = ?, smsc_ids = ?,"
        " envoye_le = ?, doublon_possible = doublon_possible | ?, reserve = 0 WHERE id = ?",
        rows,
    )
    conn.executemany(
        "INSERT INTO smsc_ids (smsc_id, message_id) VALUES (?, ?)"
        " ON CONFLICT (smsc_id) DO UPDATE SET message_id = excluded.message_id",
        list(known.items()),
    )
    return settlement


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows turned into one list per column (PostgreSQL's array parameters)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def _settle_pg(
    conn: PgConnection, rows: Sequence[tuple[object, ...]], known: Mapping[str, int]
) -> None:
    """PostgreSQL: the settlement's updates as two set-based statements (one round
    trip each, whatever the batch's size) instead of one statement per message."""
    if rows:
        conn.execute(
            "UPDATE messages AS m SET statut = v.statut, raison = v.raison,"
            " code_smsc = v.code_smsc, smsc_ids = v.smsc_ids, envoye_le = v.envoye_le,"
            " doublon_possible = m.doublon_possible | v.doublon, reserve = 0"
            " FROM unnest(?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[],"
            " ?::bigint[]) AS v(statut, raison, code_smsc, smsc_ids, envoye_le, doublon, id)"
            " WHERE m.id = v.id",
            _columns(rows, 7),
        )
    if known:
        conn.execute(
            "INSERT INTO smsc_ids (smsc_id, message_id)"
            " SELECT * FROM unnest(?::text[], ?::bigint[])"
            " ON CONFLICT (smsc_id) DO UPDATE SET message_id = excluded.message_id",
            (list(known), list(known.values())),
        )


def mark_attempt(conn: Connection, message_ids: Sequence[int], smsc: str = "defaut") -> None:
    """Record that a submit_sm may leave for these messages (at-least-once evidence)
    through the SMSC connection `smsc`.

    Ids mostly come in runs (a bulk send's recipients are consecutive): one
    range update per run instead of one statement per message."""
    conn.executemany(
        "UPDATE messages SET tentatives = tentatives + 1, smsc = ? WHERE id BETWEEN ? AND ?",
        [(smsc, first, last) for first, last in id_runs(message_ids)],
    )


def id_runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted, de-duplicated ids as (first, last) runs of consecutive values."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def flag_possible_duplicates(conn: Connection, message_ids: Sequence[int]) -> None:
    conn.executemany(
        "UPDATE messages SET doublon_possible = 1 WHERE id = ?", ((m,) for m in message_ids)
    )


MAX_SMSC_ID = 64
"""The longest SMSC message id: SMPP 3.4's message_id and receipted_message_id are
C-octet strings of at most 65 octets, the NUL included. A longer one names no
message this gateway sent and is not read as a number."""


def normalize_smsc_id(smsc_id: str) -> str:
    """The one spelling an SMSC message id is stored under: trimmed, lower case,
    without leading zeros."""
    return smsc_id.strip().lower().lstrip("0") or "0"


_HEX_DIGITS = frozenset("0123456789abcdef")


def smsc_id_candidates(smsc_id: str) -> list[str]:
    """Normalised spellings under which the SMSC may have given the same id: as
    is, then read as decimal written in hex, then read as hex written in decimal.

    Only an id of at most `MAX_SMSC_ID` characters is read as a number (so the
    conversions stay small and bounded); a longer one has its own spelling only."""
    base = smsc_id.strip().lower().lstrip("0") or "0"
    if len(base) < 2 or len(base) > MAX_SMSC_ID:
        return [base]  # one digit reads the same in hex and decimal
    if base.isdigit() and base.isascii():
        hexed = format(int(base), "x")
        decimal = str(int(base, 16))
        return [base, hexed] if hexed == decimal else [base, hexed, decimal]
    if _HEX_DIGITS.issuperset(base):
        return [base, str(int(base, 16))]
    return [base]


def combine_livraison(states: Sequence[str]) -> str:
    """The delivery of a concatenated message from its parts' receipts: LIVRE when
    every part was delivered; otherwise NON_LIVRE if any part was not delivered;
    otherwise EXPIRE. Its time is the time of the last receipt."""
    if all(s == "LIVRE" for s in states):
        return "LIVRE"
    return "NON_LIVRE" if "NON_LIVRE" in states else "EXPIRE"


_RECEIPTED = (
    "SELECT s.smsc_id, m.id, m.ref, m.smsc_ids FROM smsc_ids s JOIN messages m"
    " ON m.id = s.message_id WHERE s.smsc_id"
)


def _receipted_rows(conn: Connection, wanted: list[str]) -> Iterator[Iterable[Any]]:
    """The stored (smsc_id, message id, ref, smsc_ids) of these spellings: one query
    with an array on PostgreSQL (always the same prepared statement), one per 500
    spellings on SQLite."""
    if is_postgresql(conn):
        yield conn.execute(_RECEIPTED + " = ANY(?::text[])", (wanted,))
        return
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        yield conn.execute(_RECEIPTED + f" IN ({','.join('?' * len(chunk))})", chunk)


def find_receipted(
    conn: Connection, receipts: Sequence[tuple[str, str, str]]
) -> tuple[list[PartReceipt], list[int]]:
    """Match receipts (smsc_id as received, livraison, at) to messages through the
    stored SMSC ids; return the matches and the indexes of those matching nothing.

    Every spelling of every receipt's id is looked up at once (SQLite: one query
    per 500 spellings; PostgreSQL: one query with an array, always the same
    prepared statement), then each receipt takes its first spelling that is known."""
    spellings = [smsc_id_candidates(raw) for raw, _, _ in receipts]
    wanted = list(dict.fromkeys(c for candidates in spellings for c in candidates))
    known: dict[str, tuple[int, int, str | None]] = {}
    for rows in _receipted_rows(conn, wanted):
        for smsc_id, mid, ref, smsc_ids in rows:
            known[smsc_id] = (mid, ref, smsc_ids)
    found: list[PartReceipt] = []
    missing: list[int] = []
    for index, ((_, livraison, at), candidates) in enumerate(zip(receipts, spellings, strict=True)):
        for candidate in candidates:
            row = known.get(candidate)
            if row is not None:
                parts = len(row[2].split(",")) if row[2] else 1
                found.append(PartReceipt(candidate, row[0], row[1], parts, livraison, at))
                break
        else:
            missing.append(index)
    return found, missing


def record_receipts(
    conn: Connection, receipts: Sequence[PartReceipt]
) -> list[tuple[int, int, str, str]]:
    """Apply matched part receipts in one pass; return the (message_id, ref,
    livraison, at) of every message whose `livraison` is now set.

    A one-part message takes its receipt at once. A part of a concatenated message
    is kept on its SMSC id; the message gets `livraison` (`combine_livraison`) when
    the last of its parts has its receipt.
    """
    single = [r for r in receipts if r.parts <= 1]
    if is_postgresql(conn):
        if single:
            conn.execute(
                "UPDATE messages AS m SET livraison = v.livraison, livre_le = v.livre_le"
                " FROM unnest(?::text[], ?::text[], ?::bigint[]) AS v(livraison, livre_le, id)"
                " WHERE m.id = v.id",
                _columns([(r.livraison, r.at, r.message_id) for r in single], 3),
            )
    else:
        conn.executemany(
            "UPDATE messages SET livraison = ?, livre_le = ? WHERE id = ?",
            ((r.livraison, r.at, r.message_id) for r in single),
        )
    matched = [(r.message_id, r.ref, r.livraison, r.at) for r in single]
    multi = [r for r in receipts if r.parts > 1]
    if not multi:
        return matched
    conn.executemany(
        "INSERT INTO smsc_ids (smsc_id, message_id, livraison) VALUES (?, ?, ?)"
        " ON CONFLICT (smsc_id) DO UPDATE SET livraison = excluded.livraison",
        ((r.smsc_id, r.message_id, r.livraison) for r in multi),
    )
    last: dict[int, PartReceipt] = {r.message_id: r for r in multi}
    for message_id, r in last.items():
        states = [
            row[0]
            for row in conn.execute(
                "SELECT livraison FROM smsc_ids WHERE message_id = ? AND livraison IS NOT NULL",
                (message_id,),
            )
        ]
        if len(states) >= r.parts:
            livraison = combine_livraison(states)
            conn.execute(
                "UPDATE messages SET livraison = ?, livre_le = ? WHERE id = ?",
                (livraison, r.at, message_id),
            )
            matched.append((message_id, r.ref, livraison, r.at))
    return matched
