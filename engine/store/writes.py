"""What one account actor's batch writes, as plain data, and how it is written.

An account actor decides a whole mailbox batch with the pure ledger, then hands
the store one `AccountBatch`: the sends to insert, the other writes in order
(`Write`), the outcomes to settle and the ledger to save. `apply_batch` writes
all of it inside one transaction (a job of the writer's group commit), so the
askers are answered only once everything is durable. Nothing here decides
money: what outcomes cost is the ledger's rule, handed in (`SettleRule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from engine.model import (
    Accepted,
    AccountId,
    Entry,
    Idempotency,
    Ledger,
    MessageId,
    NewSendRow,
    Outcome,
    SendRef,
)
from engine.store import accounts as q_accounts
from engine.store import campaigns as q_campaigns
from engine.store import controls as q_controls
from engine.store import idempotency as q_idempotency
from engine.store import messages as q_messages
from engine.store import outbox as q_outbox
from engine.store.fence import Fence
from engine.store.messages import SettleRule
from engine.store.sql import Connection


@dataclass(frozen=True, slots=True)
class SendWrite:
    """A send to insert; with `idempotency`, `accepted` (under the new ref) is kept
    as the key's answer."""

    row: NewSendRow
    accepted: Accepted
    idempotency: Idempotency | None = None


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """A campaign's own row, written with its send (which gives its ref and first
    message id)."""

    total: int
    date_debut: str
    date_fin: str
    nb_par_jour: int
    intervalle_minutes: int
    fenetre_debut: str
    fenetre_fin: str
    fuseau: str
    accepte_le: str
    etat: str


@dataclass(frozen=True, slots=True)
class OpenCampaignWrite:
    """A campaign's send, its row and its idempotency record. Result: its ref."""

    send: SendWrite
    campaign: NewCampaign


@dataclass(frozen=True, slots=True)
class WaveRecord:
    """One slot of a campaign handled: its wave row and the campaign's progress;
    `finished` when the wave released the last recipient."""

    ref: SendRef
    creneau: str
    demandes: int
    lances: int
    fait_le: str
    total_lances: int
    jour: str
    lances_jour: int
    etat: str
    public: dict[str, Any]
    finished: bool


@dataclass(frozen=True, slots=True)
class ReserveWaveWrite:
    """The credits held for each released prepaid message (`per_message`, 0 when
    nothing is held) and the wave's record."""

    message_ids: tuple[MessageId, ...]
    per_message: int
    record: WaveRecord


@dataclass(frozen=True, slots=True)
class CampaignEnd:
    """A campaign ended (`etat`, at `at`) with the fields its send shows."""

    ref: SendRef
    etat: str
    at: str
    public: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SetDebitMax:
    debit_max: float


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """Invoice `amount` for the period from the account's `periode_debut` to the
    batch's time, which starts the next period. Result: the invoice id."""

    amount: int
    periode: str | None = None
    """The monthly close that makes it (None: an admin's close)."""


@dataclass(frozen=True, slots=True)
class InvoicePaid:
    invoice_id: int


@dataclass(frozen=True, slots=True)
class ControlsWrite:
    """Suspend or reactivate the account (`actif`) and/or set its sender names
    (`emetteurs`; None: unchanged), with the journal entry `journal` saying who."""

    actif: bool | None
    emetteurs: tuple[str, ...] | None
    journal: str


Write = (
    SetDebitMax | OpenCampaignWrite | ReserveWaveWrite | CampaignEnd | NewInvoice | InvoicePaid
    | ControlsWrite
)


@dataclass(frozen=True, slots=True)
class AccountBatch:
    """Everything one batch of an account's commands writes. `ledger` and
    `entries` are the ledger after the batch's decisions and the entries that
    explain it, before the outcomes are settled: the entries are added to the
    stored row, which must then hold the ledger (`engine.store.ledger`); `now`
    (ISO 8601) dates the rows, `stamp` (POSIX seconds) the idempotency records."""

    account_id: AccountId
    now: str
    stamp: float
    ledger: Ledger
    entries: Sequence[Entry]
    sends: Sequence[SendWrite]
    writes: Sequence[Write]
    outcomes: Sequence[Outcome]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What the batch made: each send's (ref, first message id), each write's
    result (a ref, an invoice id, or None), the saved ledger and the outcomes
    that ended a message."""

    created: list[tuple[SendRef, MessageId]]
    results: list[int | None]
    ledger: Ledger
    settled: tuple[Outcome, ...]
    events: int = 0
    """Callback events recorded for the messages that ended."""


def apply_batch(
    conn: Connection, batch: AccountBatch, rule: SettleRule, fence: Fence | None = None
) -> BatchResult:
    """Write the batch: sends first, then the writes in order, then the outcomes
    settled under `rule` (with a STATUT callback event for each message that ended
    and has a callback URL), the ledger and its journal, then the idempotency records.

    The ledger is written as the entries' amounts added to the stored row; if the
    row does not then hold the batch's ledger (it changed behind the actor),
    `LedgerConflict` is raised and the writer rolls the whole batch back. On a
    node of a cluster, `fence` refuses the batch (`StaleShard`) unless the node
    still holds the account's shard."""
    account_id = batch.account_id
    if fence is not None:
        fence.check(conn, account_id)
    created = q_messages.insert_sends(conn, [s.row for s in batch.sends])
    results = [_write(conn, batch, w) for w in batch.writes]
    ledger, entries = batch.ledger, batch.entries
    settled: tuple[Outcome, ...] = ()
    events = 0
    if batch.outcomes:
        settlement = q_messages.settle_outcomes(conn, ledger, batch.outcomes, rule)
        ledger, settled = settlement.ledger, settlement.settled
        entries = [*entries, *settlement.entries]
        events = q_outbox.record(conn, "STATUT", [o.message_id for o in settled], batch.stamp)
    q_accounts.save_ledger(conn, account_id, ledger, entries, batch.now)
    answers = [
        (send.idempotency, send.accepted.with_ref(ref))
        for send, (ref, _) in zip(batch.sends, created, strict=True)
        if send.idempotency is not None
    ]
    if answers:
        q_idempotency.remember(conn, account_id, answers, batch.stamp)
    return BatchResult(created, results, ledger, settled, events)


def _write(conn: Connection, batch: AccountBatch, write: Write) -> int | None:
    account_id = batch.account_id
    match write:
        case SetDebitMax(debit_max=rate):
            q_accounts.update_profile(conn, account_id, debit_max=rate)
            return None
        case OpenCampaignWrite(send=send, campaign=c):
            ref, first_id = q_messages.insert_send(conn, send.row)
            q_campaigns.insert_campaign(
                conn,
                ref=ref,
                account_id=account_id,
                premier_message=first_id,
                total=c.total,
                date_debut=c.date_debut,
                date_fin=c.date_fin,
                nb_par_jour=c.nb_par_jour,
                intervalle_minutes=c.intervalle_minutes,
                fenetre_debut=c.fenetre_debut,
                fenetre_fin=c.fenetre_fin,
                fuseau=c.fuseau,
                accepte_le=c.accepte_le,
                etat=c.etat,
            )
            if send.idempotency is not None:
                q_idempotency.remember(
                    conn, account_id, [(send.idempotency, send.accepted.with_ref(ref))], batch.stamp
                )
            return ref
        case ReserveWaveWrite(message_ids=ids, per_message=per_message, record=r):
            if per_message and ids:
                q_campaigns.reserve_messages(conn, ids, per_message)
            q_campaigns.record_wave(
                conn,
                r.ref,
                creneau=r.creneau,
                demandes=r.demandes,
                lances=r.lances,
                fait_le=r.fait_le,
                total_lances=r.total_lances,
                jour=r.jour,
                lances_jour=r.lances_jour,
                etat=r.etat,
                public=r.public,
            )
            if r.finished:
                q_campaigns.finish(conn, r.ref, r.etat, r.fait_le, r.public)
            return None
        case CampaignEnd(ref=ref, etat=etat, at=at, public=public):
            q_campaigns.finish(conn, ref, etat, at, public)
            return None
        case NewInvoice(amount=amount, periode=periode):
            row = q_accounts.get_account(conn, account_id)
            assert row is not None
            return q_accounts.insert_invoice(
                conn, account_id, row.periode_debut, batch.now, amount, periode
            )
        case InvoicePaid(invoice_id=invoice_id):
            q_accounts.mark_invoice_paid(conn, invoice_id, batch.now)
            return None
        case ControlsWrite(actif=actif, emetteurs=emetteurs, journal=journal):
            q_controls.set_controls(conn, account_id, actif=actif, emetteurs=emetteurs)
            q_controls.record_admin(conn, account_id, journal, batch.now)
            return None
        case _:
            assert_never(write)
