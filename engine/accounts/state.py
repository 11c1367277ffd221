"""Pure ledger transitions of one account. No I/O, no trio.

Money is whole SMS credits (one segment sent = one credit). The ledger holds:

- `solde`: prepaid credits available to reserve;
- `reserve`: prepaid credits held for accepted messages not yet ended;
- `debite`: prepaid credits spent on messages that reached the SMSC;
- `credite`: every prepaid credit ever topped up;
- `consommation`: postpaid segments sent in the current (not yet invoiced) period;
- `du`: postpaid amount invoiced and not yet settled.

Rules:
1. `credite == debite + reserve + solde` always (nothing is created or lost).
2. `solde >= 0` and `reserve >= 0` always: a reservation that does not fit is refused
   whole, never partly made.
3. Each message is billed under the mode it was accepted with (`Billing`); changing
   the account's type later does not move what is already reserved.
4. Every transition returns the new state and the journal entries that record it;
   replaying the journal from an empty ledger gives the same state (`replay`).
5. A top-up goes to prepaid accounts only: a postpaid account pays by invoice, so
   crediting it is refused (`COMPTE_POSTPAYE`). A prepaid balance left over from
   before a switch to postpaid is kept, shown, and usable again after a switch
   back to prepaid.
6. An invoice closes the postpaid consumption of the period. A prepaid account
   has none, so it is refused (`COMPTE_PREPAYE`), except when consumption is left
   over from a postpaid period (messages sent before, or still in flight during,
   a switch to prepaid): that last consumption can still be invoiced, never lost.
7. An outcome bills only a message still waiting (`settle`): one already ended is
   left out, so a repeated outcome can never bill twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Final

from engine.model import (
    AccountType,
    Billing,
    Entry,
    EntryKind,
    Ledger,
    MessageStatus,
    Outcome,
    PendingCharge,
    Settlement,
)

__all__ = [
    "Billing",
    "Entry",
    "EntryKind",
    "Ledger",
    "LedgerError",
    "apply_entry",
    "change_type",
    "close_invoice",
    "replay",
    "reserve",
    "settle",
    "settle_failed",
    "settle_invoice",
    "settle_sent",
    "top_up",
]


class LedgerError(Exception):
    """A transition that the ledger refuses; `code` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def top_up(led: Ledger, amount: int) -> tuple[Ledger, list[Entry]]:
    """Add `amount` prepaid credits (rule 5: prepaid accounts only)."""
    if amount <= 0:
        raise LedgerError("MONTANT_INVALIDE", "Le montant doit être un entier strictement positif.")
    if led.type is AccountType.POSTPAYE:
        raise LedgerError(
            "COMPTE_POSTPAYE",
            "Un compte postpayé ne se crédite pas : ses envois sont facturés. "
            "Passez-le en prépayé avant de le créditer.",
        )
    new = led.plus(solde=amount, credite=amount)
    return new, [Entry(EntryKind.CREDIT, amount)]


def reserve(led: Ledger, amount: int, ref: int | None = None) -> tuple[Ledger, list[Entry]] | None:
    """Hold `amount` prepaid credits; None when the available balance cannot cover it.

    Postpaid messages need no reservation: the caller bills them on sending.
    """
    if amount < 0:
        raise ValueError("amount must be >= 0")
    if amount == 0:
        return led, []
    if amount > led.solde:
        return None
    new = led.plus(solde=-amount, reserve=amount)
    return new, [Entry(EntryKind.RESERVATION, amount, ref)]


def settle_sent(
    led: Ledger, billing: Billing, amount: int, ref: int | None = None
) -> tuple[Ledger, list[Entry]]:
    """Bill `amount` segments that reached the SMSC."""
    if amount <= 0:
        return led, []
    if billing is Billing.PREPAYE:
        if amount > led.reserve:
            raise ValueError(f"debit of {amount} exceeds reserved {led.reserve}")
        new = led.plus(reserve=-amount, debite=amount)
        return new, [Entry(EntryKind.DEBIT, amount, ref)]
    new = led.plus(consommation=amount)
    return new, [Entry(EntryKind.CONSOMMATION, amount, ref)]


def settle_failed(
    led: Ledger, billing: Billing, amount: int, ref: int | None = None
) -> tuple[Ledger, list[Entry]]:
    """Give back the credits held for messages that ended ECHEC."""
    if amount <= 0 or billing is Billing.POSTPAYE:
        return led, []
    if amount > led.reserve:
        raise ValueError(f"release of {amount} exceeds reserved {led.reserve}")
    new = led.plus(reserve=-amount, solde=amount)
    return new, [Entry(EntryKind.LIBERATION, amount, ref)]


_PREPAYE: Final = Billing.PREPAYE.value


def settle(
    led: Ledger, pending: Mapping[int, PendingCharge], outcomes: Sequence[Outcome]
) -> Settlement:
    """What `outcomes` cost, given what each message still waiting holds (`pending`,
    by message id: its billing, segments and reserved credits).

    A message absent from `pending` (already ended, or ended earlier in this very
    batch) is left out (rule 7). A prepaid message sent is debited its segments and
    gives back what was held beyond them; a postpaid one is counted as consumption;
    a failed one gives back everything held. Entries are grouped per send: one
    DEBIT or CONSOMMATION per (send, billing), then one LIBERATION per send.
    """
    left = dict(pending)
    # keyed by the billing as stored; made a Billing once per key, not per message
    sent_by_key: dict[tuple[int, str], int] = {}
    freed_by_ref: dict[int, int] = {}
    settled: list[Outcome] = []
    sent = MessageStatus.ENVOYE
    prepaid = _PREPAYE
    for o in outcomes:
        info = left.pop(o.message_id, None)
        if info is None:
            continue
        billing, segments, held = info
        if o.statut is sent:
            key = (o.ref, billing)
            sent_by_key[key] = sent_by_key.get(key, 0) + segments
            freed = held - segments if billing == prepaid else 0
        else:
            freed = held
        if freed:
            freed_by_ref[o.ref] = freed_by_ref.get(o.ref, 0) + freed
        settled.append(o)
    entries: list[Entry] = []
    for (ref, kind), amount in sent_by_key.items():
        led, made = settle_sent(led, Billing(kind), amount, ref)
        entries.extend(made)
    for ref, amount in freed_by_ref.items():
        led, made = settle_failed(led, Billing.PREPAYE, amount, ref)
        entries.extend(made)
    return Settlement(led, tuple(entries), tuple(settled))


def change_type(led: Ledger, new_type: AccountType) -> tuple[Ledger, list[Entry]]:
    if new_type == led.type:
        raise LedgerError(
            "TYPE_INCHANGE", f"Le compte est déjà de type {new_type.value}."
        )
    return replace(led, type=new_type), [Entry(EntryKind.TYPE, 0, detail=new_type.value)]


def close_invoice(led: Ledger) -> tuple[Ledger, int, list[Entry]]:
    """Close the postpaid period: its consumption becomes an amount due (rule 6)."""
    if led.type is not AccountType.POSTPAYE and led.consommation == 0:
        raise LedgerError(
            "COMPTE_PREPAYE", "Un compte prépayé n'est pas facturé : il n'a pas de facture."
        )
    amount = led.consommation
    new = led.plus(consommation=-amount, du=amount)
    return new, amount, [Entry(EntryKind.FACTURE, amount)]


def settle_invoice(led: Ledger, amount: int, invoice_id: int) -> tuple[Ledger, list[Entry]]:
    if amount > led.du:
        raise ValueError(f"settlement of {amount} exceeds due {led.du}")
    new = led.plus(du=-amount)
    return new, [Entry(EntryKind.REGLEMENT, amount, detail=str(invoice_id))]


def apply_entry(led: Ledger, entry: Entry) -> Ledger:
    """Apply one journal entry (used to rebuild a ledger from the journal)."""
    a = entry.amount
    match entry.kind:
        case EntryKind.CREDIT:
            return led.plus(solde=a, credite=a)
        case EntryKind.RESERVATION:
            return led.plus(solde=-a, reserve=a)
        case EntryKind.DEBIT:
            return led.plus(reserve=-a, debite=a)
        case EntryKind.LIBERATION:
            return led.plus(reserve=-a, solde=a)
        case EntryKind.CONSOMMATION:
            return led.plus(consommation=a)
        case EntryKind.FACTURE:
            return led.plus(consommation=-a, du=a)
        case EntryKind.REGLEMENT:
            return led.plus(du=-a)
        case EntryKind.TYPE:
            return replace(led, type=AccountType(entry.detail))
        case EntryKind.ADMIN:
            return led


def replay(entries: Iterable[Entry], initial_type: AccountType) -> Ledger:
    led = Ledger(type=initial_type)
    for entry in entries:
        led = apply_entry(led, entry)
    return led
