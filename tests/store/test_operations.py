"""The store's named operations against a real database: what each writes, in one
transaction, with plain data in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from engine.accounts import state
from engine.model import (
    Accepted,
    AccountId,
    AccountType,
    Billing,
    Entry,
    EntryKind,
    Idempotency,
    Ledger,
    MessageStatus,
    NewRecipient,
    NewSendRow,
    Outcome,
    SendRef,
    SendType,
)
from engine.store import Store
from engine.store.writes import AccountBatch, BatchResult, SendWrite
from tests.stores import store_at

NOW = "2025-10-10T08:00:00.000Z"


@asynccontextmanager
async def open_store(folder: Path, store: Store | None = None) -> AsyncIterator[Store]:
    """The run's backend for `folder` (or `store`), served for the block."""
    async with trio.open_nursery() as nursery:
        store = store or store_at(folder / "ops.sqlite3")
        await nursery.start(store.serve)
        yield store
        nursery.cancel_scope.cancel()


async def new_account(store: Store, *, solde: int = 0, email: str | None = None) -> AccountId:
    opening = state.top_up(Ledger(), solde) if solde else None
    account_id = await store.accounts.create(
        nom="Compte",
        type=AccountType.PREPAYE,
        email=email,
        password_hash=None,
        debit_max=100.0,
        opening=opening,
        key_hash=f"digest-{email or solde}",
        key_expiry="2099-01-01T00:00:00.000Z",
        now=NOW,
    )
    assert account_id is not None
    return account_id


def send_of(account_id: AccountId, recipients: int, *, held: int) -> SendWrite:
    row = NewSendRow(
        account_id=account_id,
        type=SendType.MULDES.value,
        emetteur="ION",
        corps="Bonjour",
        encodage="GSM7",
        segments=1,
        billing=Billing.PREPAYE,
        doublons=0,
        avertissements=(),
        recipients=[
            NewRecipient(f"+2410660000{i}", MessageStatus.EN_ATTENTE, None, held)
            for i in range(recipients)
        ],
        cree_le=NOW,
    )
    accepted = Accepted(SendRef(0), SendType.MULDES, MessageStatus.EN_ATTENTE, 1, "GSM7", recipients, 0, ())
    return SendWrite(row, accepted, Idempotency("k-1", "h-1"))


def batch(
    account_id: AccountId,
    ledger: Ledger,
    *,
    entries: tuple[Entry, ...] = (),
    sends: tuple[SendWrite, ...] = (),
    outcomes: tuple[Outcome, ...] = (),
) -> AccountBatch:
    return AccountBatch(account_id, NOW, 1_000.0, ledger, entries, sends, (), outcomes)


async def test_an_account_is_created_with_its_opening_ledger_and_a_taken_email_is_refused(
    tmp_path: Path,
) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=7, email="a@example.ga")
            row = await store.accounts.get(account_id)
            assert row is not None and row.ledger.solde == 7
            assert await store.accounts.journal(account_id) == [Entry(EntryKind.CREDIT, 7)]
            again = await store.accounts.create(
                nom="Autre",
                type=AccountType.POSTPAYE,
                email="a@example.ga",
                password_hash=None,
                debit_max=1.0,
                opening=None,
                key_hash="other",
                key_expiry="2099-01-01T00:00:00.000Z",
                now=NOW,
            )
            assert again is None
            assert [a.id for a in await store.accounts.page(0, 10)] == [account_id]


async def test_replacing_a_key_revokes_the_live_ones_and_names_them(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, email="b@example.ga")
            old = await store.keys.replace(account_id, "new-digest", "2099-02-01T00:00:00.000Z", NOW)
            assert old == ["digest-b@example.ga"]
            revoked = await store.keys.find("digest-b@example.ga")
            assert revoked is not None and revoked.revoque_le == NOW
            _, expiry = await store.accounts.get_with_key_expiry(account_id)
            assert expiry == "2099-02-01T00:00:00.000Z"


async def test_a_batch_inserts_its_sends_and_keeps_their_idempotent_answers(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=5)
            led, entries = state.reserve(Ledger(solde=5, credite=5), 3) or (Ledger(), [])
            done = await store.ledger.apply(
                batch(account_id, led, entries=tuple(entries), sends=(send_of(account_id, 3, held=1),)),
                state.settle,
            )
            assert isinstance(done, BatchResult)
            ((ref, first_id),) = done.created
            kept, _ = await store.accounts.prefetch(account_id, ["k-1", "k-2"], [])
            assert list(kept) == ["k-1"]
            body_hash, answer = kept["k-1"]
            assert (body_hash, answer.ref, answer.replayed) == ("h-1", ref, True)
            view = await store.reads.send(account_id, ref)
            assert view is not None and view.compteurs["EN_ATTENTE"] == 3
            row = await store.accounts.get(account_id)
            assert row is not None and (row.ledger.solde, row.ledger.reserve) == (2, 3)
            assert first_id > 0


async def test_an_outcome_for_a_message_already_ended_is_not_billed_again(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=5)
            led, entries = state.reserve(Ledger(solde=5, credite=5), 2) or (Ledger(), [])
            made = await store.ledger.apply(
                batch(account_id, led, entries=tuple(entries), sends=(send_of(account_id, 2, held=1),)),
                state.settle,
            )
            ((ref, first_id),) = made.created
            ok = Outcome(first_id, ref, MessageStatus.ENVOYE, smsc_ids=("0A1",), at=NOW)
            first = await store.ledger.apply(batch(account_id, made.ledger, outcomes=(ok, ok)), state.settle)
            assert first.settled == (ok,)
            assert (first.ledger.reserve, first.ledger.debite) == (1, 1)
            second = await store.ledger.apply(batch(account_id, first.ledger, outcomes=(ok,)), state.settle)
            assert second.settled == ()
            assert second.ledger == first.ledger
            journal = await store.accounts.journal(account_id)
            assert [e.kind for e in journal].count(EntryKind.DEBIT) == 1
            matched, missing = await store.receipts.record([], [("a1", "LIVRE", NOW), ("ff", "LIVRE", NOW)])
            assert matched == [(first_id, ref, "LIVRE", NOW)]
            assert missing == [1]


async def test_expiring_idempotency_records_counts_them(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path) as store:
            account_id = await new_account(store, solde=1)
            await store.ledger.apply(
                batch(account_id, Ledger(solde=1, credite=1), sends=(send_of(account_id, 1, held=0),)),
                state.settle,
            )
            assert await store.idempotency.oldest() == 1_000.0
            assert await store.idempotency.expire(999.0) == 0
            assert await store.idempotency.expire(1_001.0) == 1
            assert await store.idempotency.oldest() is None
