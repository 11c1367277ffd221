"""The ledger's values: how a message is billed, one account's balances and the
journal entries that explain them. The rules that change a ledger are in
`engine.accounts.state`; these are the values they take and give."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.model.vocabulary import AccountType


class Billing(StrEnum):
    """How a message is billed, fixed when it is accepted."""

    PREPAYE = "PREPAYE"
    POSTPAYE = "POSTPAYE"


class EntryKind(StrEnum):
    CREDIT = "CREDIT"            # top-up: solde += amount
    RESERVATION = "RESERVATION"  # solde -> reserve
    DEBIT = "DEBIT"              # reserve -> debite
    LIBERATION = "LIBERATION"    # reserve -> solde
    CONSOMMATION = "CONSOMMATION"  # postpaid segments sent
    FACTURE = "FACTURE"          # consommation -> du
    REGLEMENT = "REGLEMENT"      # du settled
    TYPE = "TYPE"                # account type changed (amount 0, detail = new type)
    ADMIN = "ADMIN"              # an administration action (amount 0, detail = who : what)


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry: what changed in a ledger, and why."""

    kind: EntryKind
    amount: int
    ref: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ledger:
    """One account's balances (see `engine.accounts.state` for what each holds)."""

    type: AccountType = AccountType.PREPAYE
    solde: int = 0
    reserve: int = 0
    debite: int = 0
    credite: int = 0
    consommation: int = 0
    du: int = 0

    @property
    def billing(self) -> Billing:
        return _BILLING[self.type]

    def plus(
        self,
        *,
        solde: int = 0,
        reserve: int = 0,
        debite: int = 0,
        credite: int = 0,
        consommation: int = 0,
        du: int = 0,
    ) -> Ledger:
        """This ledger with the amounts added (negative ones taken away). Built
        field by field: every send goes through it, and `dataclasses.replace` costs
        several times more."""
        return Ledger(
            self.type,
            self.solde + solde,
            self.reserve + reserve,
            self.debite + debite,
            self.credite + credite,
            self.consommation + consommation,
            self.du + du,
        )


_BILLING = {t: Billing(t.value) for t in AccountType}
