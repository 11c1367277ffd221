"""One mailbox batch of an account actor: what its commands decide, before the store.

`Batch` gathers the effects of the commands the actor drained: the ledger as each
decision leaves it and the journal entries explaining it, the sends and other
writes for the store (plain data, `engine.store.writes`), the outcomes to
settle, and the answers to give once all of it is committed. The functions here
decide one command each on the batch, with the pure ledger; nothing here does
I/O or awaits.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from engine.accounts import state
from engine.accounts.commands import (
    AccountSnapshot,
    IdempotencyConflict,
    ReserveWave,
    SendDraft,
    Submit,
)
from engine.accounts.state import LedgerError
from engine.actor import Reply
from engine.dispatch.message import SendCommon, WaitingRun
from engine.model import (
    Accepted,
    AccountId,
    Billing,
    Entry,
    Idempotency,
    InvoiceRow,
    Ledger,
    MessageId,
    MessageStatus,
    NewRecipient,
    NewSendRow,
    Outcome,
    Reason,
    SendRef,
    SendType,
)
from engine.store.writes import BatchResult, ReserveWaveWrite, SendWrite, Write

Replays = dict[str, tuple[str, Accepted]]
"""Answers already given, by idempotency key: (body digest, answer)."""


@dataclass(slots=True)
class Batch:
    """The effects of one mailbox batch, written in one transaction."""

    ledger: Ledger
    entries: list[Entry] = field(default_factory=list)
    sends: list[tuple[Submit, SendWrite]] = field(default_factory=list)
    replies: list[Callable[[BatchResult], None]] = field(default_factory=list)
    """Answers given after the commit, from what it made."""
    writes: list[Write] = field(default_factory=list)
    settles: list[Outcome] = field(default_factory=list)
    snapshots: list[Reply[AccountSnapshot]] = field(default_factory=list)
    """Answered after everything else: a snapshot shows the whole batch done."""
    answers: dict[str, tuple[str, Callable[[BatchResult], Accepted]]] = field(
        default_factory=dict
    )
    """Sends of this batch that carry an Idempotency-Key, by key: the body digest
    and how their answer reads once the commit has given them a ref. A repeat of
    the key in the same batch is answered from it, after the commit."""

    def write(self, write: Write, then: Callable[[int | None], None]) -> None:
        """Queue `write`; after the commit, `then` gets its result."""
        index = len(self.writes)
        self.writes.append(write)
        self.replies.append(lambda done: then(done.results[index]))

    @property
    def durable(self) -> bool:
        """Whether the batch has anything to write (else only reads and refusals)."""
        return bool(self.sends or self.writes or self.settles or self.entries)


def replayed(
    idem: Idempotency | None, replays: Replays, reply: Reply[Accepted], batch: Batch
) -> bool:
    """Answer a request whose key already has an answer (the same one, or a
    conflict when the body differs); False when the key is new. When the answer
    is a send of this very batch, the repeat is answered after the commit, with
    the ref the send got."""
    if idem is None:
        return False
    pending = batch.answers.get(idem.key)
    if pending is not None:
        body_hash, answer_of = pending
        if body_hash != idem.body_hash:
            reply.fail(IdempotencyConflict(idem.key))
        else:
            batch.replies.append(lambda done: reply.set(replace(answer_of(done), replayed=True)))
        return True
    if idem.key not in replays:
        return False
    body_hash, earlier = replays[idem.key]
    if body_hash != idem.body_hash:
        reply.fail(IdempotencyConflict(idem.key))
    else:
        reply.set(earlier)
    return True


def admit(
    batch: Batch, account_id: AccountId, draft: SendDraft, now: str, idem: Idempotency | None
) -> SendWrite:
    """A send accepted under the account's current billing: prepaid, its credits
    are reserved whole or it ends SOLDE_INSUFFISANT (rule 2 of the ledger)."""
    segments = len(draft.encoded.parts)
    billing = batch.ledger.billing
    statut = MessageStatus.EN_ATTENTE
    raison: Reason | None = None
    per_message = 0
    if draft.valid:
        if billing is Billing.PREPAYE:
            decided = state.reserve(batch.ledger, segments * len(draft.valid))
            if decided is None:
                statut, raison = MessageStatus.ECHEC, Reason.SOLDE_INSUFFISANT
            else:
                batch.ledger, entries = decided
                batch.entries.extend(entries)
                per_message = segments
    else:
        statut = MessageStatus.ECHEC
    recipients: list[NewRecipient] = [
        NewRecipient(number, statut, raison, per_message) for number in draft.valid
    ]
    recipients.extend(
        NewRecipient(number, MessageStatus.ECHEC, Reason.DESINSCRIT, 0)
        for number in draft.desinscrits
    )
    if draft.invalid:
        recipients.extend(
            NewRecipient(raw, MessageStatus.ECHEC, Reason.NUMERO_INVALIDE, 0) for raw in draft.invalid
        )
    row = NewSendRow(
        account_id=account_id,
        type=draft.type.value,
        emetteur=draft.emetteur,
        corps=draft.corps,
        encodage=draft.encoded.encoding.value,
        segments=segments,
        billing=billing,
        doublons=draft.doublons,
        avertissements=draft.avertissements,
        recipients=recipients,
        cree_le=now,
        options=draft.options,
    )
    accepted = Accepted(
        ref=SendRef(0),
        type=draft.type,
        statut=statut,
        segments=segments,
        encodage=draft.encoded.encoding.value,
        nb_destinataires=len(recipients),
        doublons=draft.doublons,
        avertissements=draft.avertissements,
    )
    return SendWrite(row, accepted, idem)


def ready_messages(
    account_id: AccountId, draft: SendDraft, row: NewSendRow, ref: SendRef, first_id: MessageId
) -> WaitingRun:
    """The recipients of a stored send still waiting, as messages for the dispatcher
    (one compact run): single sends and HAUTE sends go ahead of the account's bulk,
    and a send with a validity carries the time its recipients expire."""
    priority = draft.type is SendType.UNIDES or draft.options.urgent
    expires_at = draft.options.expires_at(row.cree_le)
    common = SendCommon(account_id, ref, draft.sender, draft.encoded, priority, expires_at)
    waiting = MessageStatus.EN_ATTENTE
    recipients = row.recipients
    if all(r.statut is waiting for r in recipients):
        ids: Sequence[int] = range(first_id, first_id + len(recipients))
        numbers = [r.destinataire for r in recipients]
    else:
        ids = array("q")
        numbers = []
        for i, r in enumerate(recipients):
            if r.statut is waiting:
                ids.append(first_id + i)
                numbers.append(r.destinataire)
    return WaitingRun(common, ids, numbers)


def cover_wave(batch: Batch, cmd: ReserveWave, *, active: bool = True) -> ReserveWaveWrite:
    """Rule 2 of the ledger holds: a prepaid wave reserves only what the balance
    covers, the longest prefix of the wave, never more. The write's message ids
    are those released. A suspended account (`active` False) releases nothing."""
    covered = len(cmd.wave) if active else 0
    prepaid = cmd.billing is Billing.PREPAYE
    if prepaid and cmd.segments > 0:
        covered = min(covered, batch.ledger.solde // cmd.segments)
        if covered:
            decided = state.reserve(batch.ledger, covered * cmd.segments, cmd.ref)
            assert decided is not None
            batch.ledger, entries = decided
            batch.entries.extend(entries)
    return ReserveWaveWrite(
        tuple(m.message_id for m in cmd.wave[:covered]),
        cmd.segments if prepaid else 0,
        cmd.record(covered),
    )


def pay_invoice(
    batch: Batch, invoices: dict[int, InvoiceRow], account_id: AccountId, invoice_id: int, now: str
) -> None:
    """Settle an invoice of the account; raises `LedgerError` when it is unknown
    or already paid (also earlier in this batch)."""
    invoice = invoices.get(invoice_id)
    if invoice is None or invoice.account_id != account_id:
        raise LedgerError("FACTURE_INCONNUE", "Cette facture n'existe pas.")
    if invoice.regle_le is not None:
        raise LedgerError(
            "FACTURE_DEJA_REGLEE", f"La facture {invoice.id} a déjà été réglée le {invoice.regle_le}."
        )
    batch.ledger, entries = state.settle_invoice(batch.ledger, invoice.montant, invoice.id)
    batch.entries.extend(entries)
    invoices[invoice_id] = replace(invoice, regle_le=now)  # a second one in this batch


def made(result: int | None) -> int:
    """The id a write made (an invoice, a campaign's send)."""
    assert result is not None
    return result
