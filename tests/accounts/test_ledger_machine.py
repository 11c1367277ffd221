"""The pure ledger under random sequences of every transition it has.

The machine keeps its own model of the account (messages outstanding under the
billing they were accepted with, invoices, segments sent while postpaid) and
checks the ledger against it after every step, and that replaying the journal
gives the live ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from engine.accounts import state
from engine.accounts.state import LedgerError
from engine.model import AccountType, Billing, Entry, EntryKind, Ledger


@dataclass(frozen=True)
class Held:
    """A message accepted and not yet ended."""

    ref: int
    amount: int
    billing: Billing


@dataclass(frozen=True)
class Invoice:
    id: int
    amount: int


class LedgerMachine(RuleBasedStateMachine):
    messages = Bundle("messages")
    invoices = Bundle("invoices")

    @initialize(kind=st.sampled_from(AccountType), opening=st.integers(0, 50))
    def open_account(self, kind: AccountType, opening: int) -> None:
        self.initial = kind
        self.ledger = Ledger(type=kind)
        self.journal: list[Entry] = []
        self.next_ref = 1
        self.next_invoice = 1
        self.outstanding: dict[int, Held] = {}
        self.sent_postpaid = 0
        self.invoiced = 0
        self.unpaid: dict[int, int] = {}
        if opening and kind is AccountType.PREPAYE:
            self._apply(state.top_up(self.ledger, opening))

    def _apply(self, result: tuple[Ledger, list[Entry]]) -> None:
        self.ledger, entries = result
        self.journal.extend(entries)

    @rule(amount=st.integers(-3, 40))
    def top_up(self, amount: int) -> None:
        before = self.ledger
        if amount <= 0 or before.type is AccountType.POSTPAYE:
            with pytest.raises(LedgerError) as refused:
                state.top_up(before, amount)
            assert refused.value.code == (
                "MONTANT_INVALIDE" if amount <= 0 else "COMPTE_POSTPAYE"
            )
            return
        self._apply(state.top_up(before, amount))
        assert self.ledger.solde == before.solde + amount

    @rule(target=messages, segments=st.integers(1, 3), recipients=st.integers(1, 8))
    def accept(self, segments: int, recipients: int) -> list[Held]:
        """A send: reserved whole (prepaid) or not at all; postpaid needs no balance."""
        ref = self.next_ref
        self.next_ref += 1
        billing = self.ledger.billing
        if billing is Billing.PREPAYE:
            decided = state.reserve(self.ledger, segments * recipients, ref)
            if decided is None:
                assert self.ledger.solde < segments * recipients
                return []
            self._apply(decided)
        held = [Held(ref, segments, billing) for _ in range(recipients)]
        for i, h in enumerate(held):
            self.outstanding[ref * 1000 + i] = h
        return held

    @rule(batch=consumes(messages), sent=st.booleans())
    def end(self, batch: list[Held], sent: bool) -> None:
        for held in batch:
            key = next(k for k, v in self.outstanding.items() if v == held)
            del self.outstanding[key]
            if sent:
                self._apply(state.settle_sent(self.ledger, held.billing, held.amount, held.ref))
                if held.billing is Billing.POSTPAYE:
                    self.sent_postpaid += held.amount
            else:
                self._apply(state.settle_failed(self.ledger, held.billing, held.amount, held.ref))

    @rule()
    def change_type(self) -> None:
        new = (
            AccountType.POSTPAYE if self.ledger.type is AccountType.PREPAYE else AccountType.PREPAYE
        )
        before = self.ledger
        with pytest.raises(LedgerError) as same:
            state.change_type(before, before.type)
        assert same.value.code == "TYPE_INCHANGE"
        self._apply(state.change_type(before, new))
        assert (self.ledger.solde, self.ledger.reserve) == (before.solde, before.reserve)

    @rule(target=invoices)
    def close_invoice(self) -> list[Invoice]:
        before = self.ledger
        if before.type is AccountType.PREPAYE and before.consommation == 0:
            with pytest.raises(LedgerError) as refused:
                state.close_invoice(before)
            assert refused.value.code == "COMPTE_PREPAYE"
            return []
        self.ledger, amount, entries = state.close_invoice(before)
        self.journal.extend(entries)
        assert amount == before.consommation and self.ledger.consommation == 0
        invoice = Invoice(self.next_invoice, amount)
        self.next_invoice += 1
        self.invoiced += amount
        self.unpaid[invoice.id] = amount
        return [invoice]

    @rule(paid=consumes(invoices))
    def settle_invoice(self, paid: list[Invoice]) -> None:
        for invoice in paid:
            before = self.ledger.du
            self._apply(state.settle_invoice(self.ledger, invoice.amount, invoice.id))
            del self.unpaid[invoice.id]
            assert self.ledger.du == before - invoice.amount

    @rule()
    def rebuild_from_journal(self) -> None:
        """What a crashed actor does: start again from what the journal says."""
        self.ledger = state.replay(self.journal, self.initial)

    @invariant()
    def never_negative(self) -> None:
        if not hasattr(self, "ledger"):
            return
        led = self.ledger
        assert led.solde >= 0 and led.reserve >= 0
        assert led.consommation >= 0 and led.du >= 0

    @invariant()
    def nothing_created_or_lost(self) -> None:
        if not hasattr(self, "ledger"):
            return
        led = self.ledger
        assert led.credite == led.debite + led.reserve + led.solde
        held = sum(h.amount for h in self.outstanding.values() if h.billing is Billing.PREPAYE)
        assert led.reserve == held

    @invariant()
    def postpaid_consumption_is_what_was_sent_postpaid(self) -> None:
        if not hasattr(self, "ledger"):
            return
        assert self.ledger.consommation + self.invoiced == self.sent_postpaid
        assert self.ledger.du == sum(self.unpaid.values())

    @invariant()
    def journal_replays_to_the_live_ledger(self) -> None:
        if not hasattr(self, "ledger"):
            return
        assert state.replay(self.journal, self.initial) == self.ledger
        bookkeeping = (EntryKind.TYPE, EntryKind.FACTURE, EntryKind.REGLEMENT)
        assert all(e.amount > 0 or e.kind in bookkeeping for e in self.journal)


LedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_ledger_under_random_transitions = LedgerMachine.TestCase


def test_reservation_that_does_not_fit_is_refused_whole() -> None:
    led, _ = state.top_up(Ledger(), 5)
    assert state.reserve(led, 6) is None
    led2, entries = state.reserve(led, 5) or (led, [])
    assert (led2.solde, led2.reserve) == (0, 5)
    assert entries == [Entry(EntryKind.RESERVATION, 5, None)]


def test_leftover_prepaid_balance_survives_a_round_trip_through_postpaid() -> None:
    led, _ = state.top_up(Ledger(), 7)
    led, _ = state.change_type(led, AccountType.POSTPAYE)
    assert led.solde == 7
    led, _ = state.change_type(led, AccountType.PREPAYE)
    assert state.reserve(led, 7) is not None
