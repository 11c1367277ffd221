"""What the store writes for a send and its settlement, row by row: each recipient
in list order with its own status, reason and held credits; each settled message
with its status, SMSC ids, time and duplicate flag, and its SMSC ids findable for
receipts; a message settled twice in one batch written once, as its first outcome
says. (The store writes these as set-based statements; the rows are what a
reader sees.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import trio

from engine.accounts import state
from engine.model import Ledger, MessageId, MessageStatus, NewRecipient, Outcome, Reason
from engine.store.sql import Connection
from tests.store.test_operations import batch, new_account, open_store, send_of

AT = "2025-10-10T08:00:01.250Z"


def rows_of(ref: int) -> Callable[[Connection], list[tuple[object, ...]]]:
    def read(conn: Connection) -> list[tuple[object, ...]]:
        return [
            tuple(row)
            for row in conn.execute(
                "SELECT id, destinataire, statut, raison, reserve, smsc_ids, envoye_le,"
                " doublon_possible FROM messages WHERE ref = ? ORDER BY id",
                (ref,),
            )
        ]

    return read


async def test_recipients_and_their_settlement_are_written_row_by_row(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=10)
            ledger = Ledger(solde=10, credite=10)
            uniform = send_of(account_id, 3, held=1)
            mixed = replace(uniform, idempotency=None, row=replace(uniform.row, recipients=[
                NewRecipient("+24106000001", MessageStatus.EN_ATTENTE, None, 1),
                NewRecipient("+24106000002", MessageStatus.ECHEC, Reason.NUMERO_INVALIDE, 0),
                NewRecipient("+24106000003", MessageStatus.EN_ATTENTE, None, 1),
            ]))
            reserved = state.reserve(ledger, 5)
            assert reserved is not None
            done = await store.ledger.apply(
                batch(account_id, reserved[0], entries=tuple(reserved[1]), sends=(uniform, mixed)),
                state.settle,
            )
            (ref_a, first_a), (ref_b, first_b) = done.created
            assert await store.transact(rows_of(ref_a)) == [
                (first_a + i, f"+2410660000{i}", "EN_ATTENTE", None, 1, None, None, 0)
                for i in range(3)
            ]
            assert await store.transact(rows_of(ref_b)) == [
                (first_b, "+24106000001", "EN_ATTENTE", None, 1, None, None, 0),
                (first_b + 1, "+24106000002", "ECHEC", "NUMERO_INVALIDE", 0, None, None, 0),
                (first_b + 2, "+24106000003", "EN_ATTENTE", None, 1, None, None, 0),
            ]

            def sent(mid: int, *ids: str, doublon: bool = False) -> Outcome:
                return Outcome(
                    MessageId(mid), ref_a, MessageStatus.ENVOYE, smsc_ids=ids, at=AT,
                    doublon_possible=doublon,
                )

            outcomes = (
                sent(first_a, "00A1", "a2"),
                sent(first_a + 1, "b1", doublon=True),
                sent(first_a, "ff"),  # the same message again: already settled above
                Outcome(MessageId(first_a + 2), ref_a, MessageStatus.ECHEC, Reason.REJET_SMSC, 88, at=AT),
            )
            settled = await store.ledger.apply(
                batch(account_id, done.ledger, outcomes=outcomes), state.settle
            )
            assert [o.message_id for o in settled.settled] == [first_a, first_a + 1, first_a + 2]
            assert await store.transact(rows_of(ref_a)) == [
                (first_a, "+24106600000", "ENVOYE", None, 0, "00A1,a2", AT, 0),
                (first_a + 1, "+24106600001", "ENVOYE", None, 0, "b1", AT, 1),
                (first_a + 2, "+24106600002", "ECHEC", "REJET_SMSC", 0, None, None, 0),
            ]
            ids = await store.transact(
                lambda conn: sorted(
                    tuple(r) for r in conn.execute("SELECT smsc_id, message_id FROM smsc_ids")
                )
            )
            assert ids == [("a1", first_a), ("a2", first_a), ("b1", first_a + 1)]
            assert settled.ledger == replace(done.ledger, reserve=2, debite=2, solde=6)
