"""Account administration: what the admin API and the console do to accounts.

Balance, type and rate changes go through the account's actor (`Runtime.ask`),
so they are serialised with its sends; profile fields and reads go to the store.
Every refusal is a domain error (`engine.errors`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from engine import keys
from engine.accounts.commands import (
    AccountSnapshot,
    ChangeType,
    CloseInvoice,
    GetSnapshot,
    SetRate,
    SettleInvoice,
    TopUp,
)
from engine.accounts.state import top_up
from engine.errors import Conflict, InvalidField, NotFound
from engine.gateway.access import Access, NewKey
from engine.gateway.runtime import Runtime
from engine.model import AccountId, AccountRow, AccountType, Entry, InvoiceRow, JournalRow, Ledger, iso

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as the admin API shows it: its row, its live ledger (None when
    its actor could not answer) and its key's expiry."""

    row: AccountRow
    snapshot: AccountSnapshot | None
    key_expiry: str | None
    numeros_entrants: tuple[str, ...] = ()


def _unknown_account() -> NotFound:
    return NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")


class Administration:
    """Creates, reads and changes accounts and their invoices."""

    def __init__(self, runtime: Runtime, access: Access) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._access = access

    async def create_account(
        self,
        *,
        nom: str,
        type: AccountType,
        solde: int = 0,
        email: str | None = None,
        mot_de_passe: str | None = None,
        debit_max: float = 100.0,
    ) -> tuple[AccountId, NewKey]:
        """Create an account with its first key (and its opening balance, prepaid only)."""
        if solde and type is AccountType.POSTPAYE:
            raise InvalidField(
                "solde", "Un compte postpayé n'a pas de solde de départ : ses envois sont facturés."
            )
        minted = self._access.mint()
        password_hash = keys.hash_password(mot_de_passe) if mot_de_passe else None
        account_id = await self._store.accounts.create(
            nom=nom,
            type=type,
            email=email.lower() if email else None,
            password_hash=password_hash,
            debit_max=debit_max,
            opening=top_up(Ledger(type=type), solde) if solde else None,
            key_hash=minted.digest,
            key_expiry=minted.expiry,
            now=iso(self._runtime.clock.now()),
        )
        if account_id is None:
            raise Conflict("Un compte utilise déjà cette adresse e-mail.", code="EMAIL_UTILISE")
        log.info("account %s created (%s)", account_id, type.value)
        return account_id, minted.shown()

    async def account(self, account_id: AccountId) -> AccountView:
        row, expiry = await self._store.accounts.get_with_key_expiry(account_id)
        if row is None:
            raise _unknown_account()
        snapshot = await self._runtime.ask(account_id, GetSnapshot)
        numbers = await self._store.inbound.numbers(account_id)
        return AccountView(row, snapshot, expiry, tuple(numbers))

    async def accounts(self, after: int, limit: int) -> list[AccountRow]:
        return await self._store.accounts.page(after, limit)

    async def require_account(self, account_id: AccountId) -> None:
        """Raise 404 COMPTE_INCONNU unless the account exists."""
        if not await self._store.accounts.exists(account_id):
            raise _unknown_account()

    async def amend_account(
        self,
        account_id: AccountId,
        *,
        type: AccountType | None = None,
        debit_max: float | None = None,
        nom: str | None = None,
        url_rappel: str | None = None,
        clear_url: bool = False,
        mot_de_passe: str | None = None,
    ) -> None:
        """Apply an admin PATCH. The type goes first: when it is refused
        (TYPE_INCHANGE), nothing else is changed. A new password ends every
        client-space session of the account."""
        await self.require_account(account_id)
        if type is not None:
            await self.change_type(account_id, type)
        if debit_max is not None:
            await self.set_rate(account_id, debit_max)
        if nom is not None or url_rappel is not None or clear_url:
            await self.update_profile(account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url)
        if mot_de_passe is not None:
            await self._access.set_password(account_id, mot_de_passe)
        log.info("account %s amended", account_id)

    async def journal_page(
        self, account_id: AccountId, after: int, limit: int
    ) -> tuple[list[JournalRow], Any]:
        """A page of the account's journal and the ledger the whole journal adds up to."""
        rows, totals = await self._store.accounts.journal_page(account_id, after, limit)
        if totals is None:
            raise _unknown_account()
        return rows, totals

    async def top_up(self, account_id: AccountId, amount: int) -> int:
        if amount <= 0:
            raise InvalidField("montant", "Le montant doit être un entier strictement positif.")
        return await self._runtime.ask(account_id, TopUp, amount)  # type: ignore[no-any-return]

    async def change_type(self, account_id: AccountId, new_type: AccountType) -> None:
        await self._runtime.ask(account_id, ChangeType, new_type)

    async def set_rate(self, account_id: AccountId, debit_max: float) -> None:
        await self._runtime.ask(account_id, SetRate, debit_max)

    async def update_profile(self, account_id: AccountId, *, nom: str | None = None,
                             url_rappel: str | None = None, clear_url: bool = False) -> None:
        await self._store.accounts.update_profile(
            account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url
        )
        self._runtime.callbacks.forget(account_id)

    async def close_invoice(self, account_id: AccountId) -> InvoiceRow:
        invoice_id = await self._runtime.ask(account_id, CloseInvoice)
        invoice = await self._store.accounts.invoice(invoice_id)
        assert invoice is not None
        return invoice

    async def settle_invoice(self, invoice_id: int) -> InvoiceRow:
        invoice = await self._store.accounts.invoice(invoice_id)
        if invoice is None:
            raise NotFound("Cette facture n'existe pas.", code="FACTURE_INCONNUE")
        await self._runtime.ask(invoice.account_id, SettleInvoice, invoice_id)
        paid = await self._store.accounts.invoice(invoice_id)
        assert paid is not None
        return paid

    async def invoices(self, account_id: AccountId) -> list[InvoiceRow]:
        await self.require_account(account_id)
        return await self._store.accounts.invoices(account_id)

    async def journal(self, account_id: AccountId) -> list[Entry]:
        return await self._store.accounts.journal(account_id)
