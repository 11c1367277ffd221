"""Account administration: what the admin API and the console do to accounts.

Balance, type, rate, suspension and sender-name changes go through the
account's actor (`Runtime.ask`), so they are serialised with its sends; profile
fields and reads go to the store. Every refusal is a domain error
(`engine.errors`). Every change is recorded in the account's journal (an ADMIN
entry) with who made it: `by`, `BY_API` for the admin token's REST API,
`BY_CONSOLE` for the operator console.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine import keys
from engine.accounts.commands import (
    AccountSnapshot,
    ChangeType,
    CloseInvoice,
    GetSnapshot,
    SetControls,
    SetRate,
    SettleInvoice,
    TopUp,
)
from engine.accounts.controls import sender_keys
from engine.accounts.state import top_up
from engine.callbacks import forbidden, new_secret, well_formed
from engine.errors import Conflict, ForbiddenCallbackUrl, InvalidField, NotFound
from engine.gateway.access import Access, NewKey
from engine.gateway.runtime import Runtime
from engine.model import AccountId, AccountRow, AccountType, Entry, InvoiceRow, JournalRow, Ledger, iso

log = logging.getLogger(__name__)

BY_API = "administration (API)"
"""Who acts through the admin token's REST API, as the journal names it."""
BY_CONSOLE = "administration (console)"
"""Who acts through the operator console, as the journal names it."""

MAX_SENDERS = 50
"""Sender names an account may be given."""


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
        emetteurs: Sequence[str] | None = None,
        by: str = BY_API,
    ) -> tuple[AccountId, NewKey]:
        """Create an account with its first key (and its opening balance, prepaid
        only, its sender names) and its callback signing secret, both shown once
        (`NewKey`); journalled as made `by`."""
        senders = self.check_senders(emetteurs) if emetteurs else None
        if solde and type is AccountType.POSTPAYE:
            raise InvalidField(
                "solde", "Un compte postpayé n'a pas de solde de départ : ses envois sont facturés."
            )
        minted = self._access.mint()
        secret = new_secret()
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
            key_prefix=minted.prefix,
            secret_rappel=secret,
            emetteurs=senders or (),
        )
        if account_id is None:
            raise Conflict("Un compte utilise déjà cette adresse e-mail.", code="EMAIL_UTILISE")
        log.info("account %s created (%s)", account_id, type.value)
        await self.record_admin(account_id, by, f"compte créé ({type.value})")
        if senders:
            await self.record_admin(account_id, by, "émetteurs autorisés : " + ", ".join(senders))
        return account_id, minted.shown(secret_rappel=secret)

    async def account(self, account_id: AccountId) -> AccountView:
        row, expiry = await self._store.accounts.get_with_key_expiry(account_id)
        if row is None:
            raise _unknown_account()
        snapshot = None  # on a node of a cluster not holding it: the stored ledger
        if self._runtime.cluster.may_host(account_id):
            snapshot = await self._runtime.ask(account_id, GetSnapshot)
        numbers = await self._store.inbound.numbers(account_id)
        return AccountView(row, snapshot, expiry, tuple(numbers))

    async def accounts(self, after: int, limit: int) -> list[AccountRow]:
        return await self._store.accounts.page(after, limit)

    async def search_accounts(self, text: str, after: int, limit: int) -> list[AccountRow]:
        """Accounts whose id is `text`, or whose name or e-mail contains it (any
        case), by increasing id after id `after` (an empty `text`: every account)."""
        text = text.strip()
        if not text:
            return await self.accounts(after, limit)
        return await self._store.controls.search_accounts(text, after, limit)

    async def consumption_by_day(self, account_id: AccountId, days: int = 30) -> list[tuple[str, int]]:
        """Segments consumed (postpaid) on each of the last `days` days, gateway
        time zone, oldest first, a day with none as 0: (YYYY-MM-DD, count)."""
        zone = ZoneInfo(self._runtime.settings.gateway.timezone)
        today = self._runtime.clock.now().astimezone(zone).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(0, 0), zone)
        hours = await self._store.controls.consumption_by_hour(account_id, iso(since)[:13])
        counts = {(first + timedelta(days=n)).isoformat(): 0 for n in range(days)}
        for hour, amount in hours:
            day = datetime.fromisoformat(hour + ":00+00:00").astimezone(zone).date().isoformat()
            if day in counts:
                counts[day] += amount
        return list(counts.items())

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
        actif: bool | None = None,
        emetteurs: Sequence[str] | None = None,
        by: str = BY_API,
    ) -> None:
        """Apply an admin PATCH. The sender names are checked and the type goes
        first: when either is refused (VALIDATION, TYPE_INCHANGE), nothing else is
        changed. A new password ends every client-space session of the account;
        `actif` False suspends it (see `set_controls`). Each change is journalled
        as made `by`."""
        await self.require_account(account_id)
        senders = self.check_senders(emetteurs) if emetteurs is not None else None
        if url_rappel is not None:
            await self.check_callback_url(url_rappel)
        if type is not None:
            await self.change_type(account_id, type, by=by)
        if debit_max is not None:
            await self.set_rate(account_id, debit_max, by=by)
        if nom is not None or url_rappel is not None or clear_url:
            await self.update_profile(account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url)
            changed = [f"nom « {nom} »" if nom is not None else "",
                       "URL de rappel " + ("retirée" if clear_url else "changée")
                       if url_rappel is not None or clear_url else ""]
            await self.record_admin(account_id, by, "profil : " + ", ".join(c for c in changed if c))
        if mot_de_passe is not None:
            await self.reset_password(account_id, mot_de_passe, by=by)
        if actif is not None or senders is not None:
            await self.set_controls(account_id, actif=actif, emetteurs=senders, by=by)
        log.info("account %s amended", account_id)

    def check_senders(self, emetteurs: Sequence[str]) -> tuple[str, ...]:
        """The sender names as given, each a valid sender (422 on
        `emetteursAutorises` otherwise), duplicates dropped, at most `MAX_SENDERS`."""
        names = tuple(dict.fromkeys(e.strip() for e in emetteurs))
        if len(names) > MAX_SENDERS:
            raise InvalidField("emetteursAutorises", f"Au plus {MAX_SENDERS} émetteurs.")
        for name in names:
            try:
                sender_keys([name])
            except ValueError as exc:
                raise InvalidField("emetteursAutorises", f"« {name} » : {exc}") from None
        return names

    async def set_controls(
        self,
        account_id: AccountId,
        *,
        actif: bool | None = None,
        emetteurs: Sequence[str] | None = None,
        by: str = BY_API,
    ) -> None:
        """Suspend (`actif` False) or reactivate (True) the account and/or set its
        sender names (`emetteurs`, checked by `check_senders`; empty: any valid
        sender unless `gateway.senders_required`). Goes through the account's
        actor: every send decided after this returns obeys it. A suspension shows
        the account's live campaigns SUSPENDUE (none of their slots releases
        anything while it lasts); a reactivation lets them go on. Journalled as
        made `by`."""
        senders = self.check_senders(emetteurs) if emetteurs is not None else None
        said = []
        if actif is not None:
            said.append("compte réactivé" if actif else "compte suspendu")
        if senders is not None:
            said.append("émetteurs autorisés : " + (", ".join(senders) or "tous"))
        if not said:
            return
        journal = f"{by} : " + " ; ".join(said)
        await self._runtime.ask(account_id, SetControls, actif, senders, journal)
        if actif is not None:
            await self._runtime.campaigns.hold(account_id, suspended=not actif)
        log.info("account %s: %s", account_id, " ; ".join(said))

    async def suspend_account(self, account_id: AccountId, *, by: str = BY_API) -> None:
        """Suspend the account: every send refused 403 COMPTE_SUSPENDU with nothing
        reserved, its campaigns SUSPENDUE; reads still answer."""
        await self.require_account(account_id)
        await self.set_controls(account_id, actif=False, by=by)

    async def reactivate_account(self, account_id: AccountId, *, by: str = BY_API) -> None:
        """Let a suspended account send again; its campaigns go on at their next slot."""
        await self.require_account(account_id)
        await self.set_controls(account_id, actif=True, by=by)

    async def set_senders(
        self, account_id: AccountId, emetteurs: Sequence[str], *, by: str = BY_API
    ) -> None:
        """Set the sender names the account may use (empty: any valid sender)."""
        await self.require_account(account_id)
        await self.set_controls(account_id, emetteurs=emetteurs, by=by)

    async def reset_password(self, account_id: AccountId, password: str, *, by: str = BY_API) -> None:
        """Give the account's client space a new password (every session ends)."""
        await self._access.set_password(account_id, password)
        await self.record_admin(account_id, by, "mot de passe de l'espace client changé")

    async def record_admin(self, account_id: AccountId, by: str, action: str) -> None:
        """Record an administration action in the account's journal (an ADMIN
        entry of amount 0, its detail `by : action`)."""
        await self._store.controls.record_admin(
            account_id, f"{by} : {action}", iso(self._runtime.clock.now())
        )

    async def latest_entries(self, account_id: AccountId, limit: int = 30) -> list[JournalRow]:
        """The account's last `limit` journal entries, newest first (what the
        console's account page shows)."""
        return await self._store.console.latest_entries(account_id, limit)

    async def journal_page(
        self, account_id: AccountId, after: int, limit: int
    ) -> tuple[list[JournalRow], Any]:
        """A page of the account's journal and the ledger the whole journal adds up to."""
        rows, totals = await self._store.accounts.journal_page(account_id, after, limit)
        if totals is None:
            raise _unknown_account()
        return rows, totals

    async def top_up(self, account_id: AccountId, amount: int, *, by: str = BY_API) -> int:
        """Credit a prepaid account; its new balance. Journalled as made `by`."""
        if amount <= 0:
            raise InvalidField("montant", "Le montant doit être un entier strictement positif.")
        solde: int = await self._runtime.ask(account_id, TopUp, amount)
        await self.record_admin(account_id, by, f"crédit de {amount}")
        return solde

    async def change_type(
        self, account_id: AccountId, new_type: AccountType, *, by: str = BY_API
    ) -> None:
        await self._runtime.ask(account_id, ChangeType, new_type)
        await self.record_admin(account_id, by, f"type changé en {new_type.value}")

    async def set_rate(self, account_id: AccountId, debit_max: float, *, by: str = BY_API) -> None:
        await self._runtime.ask(account_id, SetRate, debit_max)
        await self.record_admin(account_id, by, f"débit fixé à {debit_max:g} SMS/s")

    async def check_callback_url(self, url: str, field: str = "urlRappel") -> None:
        """Refuse a callback URL that is not http(s) (VALIDATION) or whose host is or
        resolves to a private address (URL_RAPPEL_INTERDITE, unless allowed)."""
        if len(url) > 2048 or not well_formed(url):
            raise InvalidField(field, "Une adresse de rappel est une URL http ou https.")
        allow = self._runtime.settings.callbacks.allow_private
        if await forbidden(url, allow_private=allow):
            raise ForbiddenCallbackUrl(field)

    async def new_callback_secret(self, account_id: AccountId) -> str:
        """Replace the account's callback signing secret; the new one, shown once."""
        secret = new_secret()
        if not await self._store.accounts.set_callback_secret(account_id, secret):
            raise _unknown_account()
        log.info("account %s: callback secret replaced", account_id)
        return secret

    async def update_profile(self, account_id: AccountId, *, nom: str | None = None,
                             url_rappel: str | None = None, clear_url: bool = False) -> None:
        if url_rappel is not None:
            await self.check_callback_url(url_rappel)
        await self._store.accounts.update_profile(
            account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url
        )
        self._runtime.callbacks.forget(account_id)

    async def close_invoice(self, account_id: AccountId, *, by: str = BY_API) -> InvoiceRow:
        """Close the postpaid period into an invoice now. Journalled as made `by`."""
        invoice_id = await self._runtime.ask(account_id, CloseInvoice)
        invoice = await self._store.accounts.invoice(invoice_id)
        assert invoice is not None
        await self.record_admin(account_id, by, f"facture {invoice.id} émise")
        return invoice

    async def settle_invoice(self, invoice_id: int, *, by: str = BY_API) -> InvoiceRow:
        """Record an invoice as paid. Journalled as made `by`."""
        invoice = await self._store.accounts.invoice(invoice_id)
        if invoice is None:
            raise NotFound("Cette facture n'existe pas.", code="FACTURE_INCONNUE")
        await self._runtime.ask(invoice.account_id, SettleInvoice, invoice_id)
        paid = await self._store.accounts.invoice(invoice_id)
        assert paid is not None
        await self.record_admin(invoice.account_id, by, f"facture {invoice_id} réglée")
        return paid

    async def invoices(self, account_id: AccountId) -> list[InvoiceRow]:
        await self.require_account(account_id)
        return await self._store.accounts.invoices(account_id)

    async def journal(self, account_id: AccountId) -> list[Entry]:
        return await self._store.accounts.journal(account_id)
