"""The gateway engine and its facade: the one object `api/` talks to.

`Gateway.serve` starts, in one nursery and in order: the account registry, the
result router, the dispatcher and the SMPP sender pool, then re-queues what the
store says is still waiting (recovery). The API calls the methods below; they
turn requests into actor commands or store reads, and raise `GatewayError`s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import trio

from config.settings import Settings
from engine import keys
from engine.accounts.commands import (
    Accepted,
    AccountSnapshot,
    ChangeType,
    CloseInvoice,
    GetSnapshot,
    Idempotency,
    IdempotencyConflict,
    SendDraft,
    SetRate,
    SettleInvoice,
    Submit,
    TopUp,
)
from engine.accounts.registry import Registry, UnknownAccount
from engine.accounts.state import Entry, EntryKind, Ledger, LedgerError, top_up
from engine.actor import ActorStopped, Reply
from engine.callbacks import CallbackNotifier
from engine.campaigns import facade as campaigns
from engine.campaigns.scheduler import CampaignScheduler
from engine.clock import WallClock, iso
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.recovery import requeue
from engine.dispatch.results import Event, ResultRouter
from engine.dispatch.sender import SenderSettings, SmppSender
from engine.dispatch.states import BindState
from engine.errors import AuthError, Conflict, GatewayError, InvalidField, NotFound, Overloaded, Unavailable
from engine.login_throttle import LoginThrottle
from engine.process import collector_statistics
from engine.store import Store
from engine.store import accounts as q_accounts
from engine.store import reads as q_reads
from engine.store.accounts import AccountRow, InvoiceRow
from engine.text import (
    ReferenceCounter,
    encode_message,
    normalize_recipients,
    parse_sender,
)
from engine.types import AccountId, AccountType, SendRef, SendType

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewKey:
    cle: str
    expiration: str


@dataclass(frozen=True, slots=True)
class AccountView:
    row: AccountRow
    snapshot: AccountSnapshot | None
    key_expiry: str | None


_DECOY_HASH = keys.hash_password("compte-inexistant")
_EVENT_BATCHES = 64
"""Batches of outcomes and receipts (one per SMPP read) waiting for the router;
when full, the senders' readers wait."""


class Gateway:
    def __init__(self, settings: Settings, store: Store, smsc_host: str, smsc_port: int) -> None:
        self.settings = settings
        self.store = store
        self._smsc = (smsc_host, smsc_port)
        self.clock = WallClock()
        self._events_send, events_receive = trio.open_memory_channel[list[Event]](
            _EVENT_BATCHES
        )
        self.dispatcher = Dispatcher(
            store, binds=settings.smsc.binds, channel_size=settings.engine.dispatch_queue
        )
        self.callbacks = CallbackNotifier(store.reads, self.clock)
        self.registry = Registry(
            store,
            self.dispatcher,
            self.clock,
            inbox_size=settings.engine.inbox_size,
            idle_s=settings.engine.account_idle_s,
            observer=self.callbacks,
        )
        self.router = ResultRouter(
            self.registry, store, events_receive, on_receipts=self.callbacks.receipts
        )
        self.senders: list[SmppSender] = []
        self._keys: dict[str, q_accounts.KeyRow] = {}
        self._refs = ReferenceCounter()
        self.started_at = self.clock.now()
        self.stopping = trio.Event()
        """Set when shutdown begins: long-lived streams end."""
        self._logins = LoginThrottle()
        self.campaigns = CampaignScheduler(store, self.registry, self.dispatcher, self.clock)
        self._campaign_calls = campaigns.CampaignCalls(
            settings, self.clock, store, self.campaigns, ask=self._ask, send_view=self.send_view
        )

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        s = self.settings.smsc
        sender_settings = SenderSettings(
            host=self._smsc[0],
            port=self._smsc[1],
            system_id=s.system_id,
            password=s.password,
            window=s.window,
            response_timeout_s=s.response_timeout_s,
            enquire_link_s=s.enquire_link_s,
            max_retries=s.max_retries,
            reconnect_min_s=s.reconnect_min_s,
            reconnect_max_s=s.reconnect_max_s,
            registered_delivery=s.registered_delivery,
            probe_submits=s.probe_submits,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(self.callbacks.serve)
            nursery.start_soon(self._expire_idempotency)
            await nursery.start(self.registry.serve)
            await nursery.start(self.router.serve)
            await nursery.start(self.dispatcher.serve)
            for index in range(s.binds):
                sender = SmppSender(
                    index,
                    sender_settings,
                    self.dispatcher.link(index),
                    self._events_send.clone(),
                    self.clock,
                    self._refs,
                )
                self.senders.append(sender)
                await nursery.start(sender.serve)
            await self._recover()
            await nursery.start(self.campaigns.serve)
            task_status.started(self)
            await trio.sleep_forever()

    async def _recover(self) -> None:
        """Queue again every message the store holds as waiting (after a restart)."""
        rows = await self.store.messages.waiting()
        queued, retried = await requeue(
            rows, store=self.store, accounts=self.registry, outlet=self.dispatcher
        )
        if queued:
            log.info("recovered %d waiting messages (%d possibly sent before)", queued, retried)

    async def drain(self, grace_s: float) -> None:
        """Stop handing out messages and let what is in flight end, within `grace_s`.

        Messages still queued stay EN_ATTENTE in the store and are sent after the
        next start; nothing accepted is lost.
        """
        self.stopping.set()
        self.dispatcher.pause()
        with trio.move_on_after(grace_s):
            while (  # noqa: ASYNC110 - shutdown watches counters that several owners keep
                self.dispatcher.statistics().channel_used
                or any(s.busy for s in self.senders if s.statistics().state is BindState.BOUND)
                or self._events_send.statistics().current_buffer_used
                or any(snap.mailbox for snap in self.registry.snapshots())
            ):
                await trio.sleep(0.02)
        await self.registry.quiesce()

    # -- authentication ---------------------------------------------------------------

    async def authenticate(self, api_key: str | None) -> AccountId:
        if not api_key:
            log.info("request refused: no API key")
            raise AuthError("La clé API est manquante (en-tête X-API-Key).", code="CLE_API_MANQUANTE")
        digest = keys.hash_api_key(api_key)
        row = self._keys.get(digest)
        if row is None:
            row = await self.store.keys.find(digest)
            if row is not None:
                self._keys[digest] = row
        if row is None or not keys.same_hash(row.key_hash, digest) or row.revoque_le:
            if row is not None:
                log.info("request refused: revoked API key of account %s", row.account_id)
            else:
                log.info("request refused: unknown API key")
            raise AuthError("La clé API est invalide.", code="CLE_API_INVALIDE")
        if row.expire_le <= self.clock.now_iso():
            log.info("request refused: expired API key of account %s", row.account_id)
            raise AuthError(
                f"La clé API a expiré le {row.expire_le} : régénérez-la depuis votre espace client.",
                code="CLE_API_EXPIREE",
            )
        return row.account_id

    def _new_key(self) -> tuple[str, str, str]:
        key = keys.new_api_key()
        expiry = iso(self.clock.now() + timedelta(days=self.settings.gateway.key_validity_days))
        return key, keys.hash_api_key(key), expiry

    async def regenerate_key(self, account_id: AccountId) -> NewKey:
        key, digest, expiry = self._new_key()
        now = iso(self.clock.now())

        for old in await self.store.keys.replace(account_id, digest, expiry, now):
            self._keys.pop(old, None)
        return NewKey(key, expiry)

    # -- accounts -----------------------------------------------------------------------

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
        if solde and type is AccountType.POSTPAYE:
            raise InvalidField(
                "solde", "Un compte postpayé n'a pas de solde de départ : ses envois sont facturés."
            )
        key, digest, expiry = self._new_key()
        now = iso(self.clock.now())
        password_hash = keys.hash_password(mot_de_passe) if mot_de_passe else None

        account_id = await self.store.accounts.create(
            nom=nom,
            type=type,
            email=email.lower() if email else None,
            password_hash=password_hash,
            debit_max=debit_max,
            opening=top_up(Ledger(type=type), solde) if solde else None,
            key_hash=digest,
            key_expiry=expiry,
            now=now,
        )
        if account_id is None:
            raise Conflict("Un compte utilise déjà cette adresse e-mail.", code="EMAIL_UTILISE")
        log.info("account %s created (%s)", account_id, type.value)
        return account_id, NewKey(key, expiry)

    async def account(self, account_id: AccountId) -> AccountView:
        row, expiry = await self.store.accounts.get_with_key_expiry(account_id)
        if row is None:
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")
        snapshot = await self._ask(account_id, GetSnapshot, )
        return AccountView(row, snapshot, expiry)

    async def accounts(self, after: int, limit: int) -> list[AccountRow]:
        return await self.store.accounts.page(after, limit)

    async def _ask(self, account_id: AccountId, make: Any, *args: Any) -> Any:
        reply: Reply[Any] = Reply()
        try:
            return await self.registry.ask(account_id, make(*args, reply), reply)
        except UnknownAccount:
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU") from None
        except LedgerError as exc:
            raise Conflict(exc.message, code=exc.code) from None
        except ActorStopped:
            raise Unavailable(
                "Ce compte est momentanément indisponible : réessayez.",
                code="COMPTE_INDISPONIBLE",
            ) from None

    async def require_account(self, account_id: AccountId) -> None:
        """Raise 404 COMPTE_INCONNU unless the account exists."""
        if not await self.store.accounts.exists(account_id):
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")

    async def amend_account(
        self,
        account_id: AccountId,
        *,
        type: AccountType | None = None,
        debit_max: float | None = None,
        nom: str | None = None,
        url_rappel: str | None = None,
        clear_url: bool = False,
    ) -> None:
        """Apply an admin PATCH. The type goes first: when it is refused
        (TYPE_INCHANGE), nothing else is changed."""
        await self.require_account(account_id)
        if type is not None:
            await self.change_type(account_id, type)
        if debit_max is not None:
            await self.set_rate(account_id, debit_max)
        if nom is not None or url_rappel is not None or clear_url:
            await self.update_profile(account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url)
        log.info("account %s amended", account_id)

    async def journal_page(
        self, account_id: AccountId, after: int, limit: int
    ) -> tuple[list[q_accounts.JournalRow], Any]:
        """A page of the account's journal and the ledger the whole journal adds up to."""

        rows, totals = await self.store.accounts.journal_page(account_id, after, limit)
        if totals is None:
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")
        return rows, totals

    async def top_up(self, account_id: AccountId, amount: int) -> int:
        if amount <= 0:
            raise InvalidField("montant", "Le montant doit être un entier strictement positif.")
        return await self._ask(account_id, TopUp, amount)  # type: ignore[no-any-return]

    async def change_type(self, account_id: AccountId, new_type: AccountType) -> None:
        await self._ask(account_id, ChangeType, new_type)

    async def set_rate(self, account_id: AccountId, debit_max: float) -> None:
        await self._ask(account_id, SetRate, debit_max)

    async def update_profile(self, account_id: AccountId, *, nom: str | None = None,
                             url_rappel: str | None = None, clear_url: bool = False) -> None:
        await self.store.accounts.update_profile(
            account_id, nom=nom, url_rappel=url_rappel, clear_url=clear_url
        )
        self.callbacks.forget(account_id)

    async def close_invoice(self, account_id: AccountId) -> InvoiceRow:
        invoice_id = await self._ask(account_id, CloseInvoice)
        invoice = await self.store.accounts.invoice(invoice_id)
        assert invoice is not None
        return invoice

    async def settle_invoice(self, invoice_id: int) -> InvoiceRow:
        invoice = await self.store.accounts.invoice(invoice_id)
        if invoice is None:
            raise NotFound("Cette facture n'existe pas.", code="FACTURE_INCONNUE")
        await self._ask(invoice.account_id, SettleInvoice, invoice_id)
        paid = await self.store.accounts.invoice(invoice_id)
        assert paid is not None
        return paid

    async def invoices(self, account_id: AccountId) -> list[InvoiceRow]:
        await self.require_account(account_id)
        return await self.store.accounts.invoices(account_id)

    async def journal(self, account_id: AccountId) -> list[Entry]:
        return await self.store.accounts.journal(account_id)

    # -- client space (/espace) ---------------------------------------------------------

    async def login(self, login: str, password: str, source: str) -> AccountId:
        """The account whose e-mail or id is `login` and whose password matches.

        Failures are counted per login and per `source` (the caller's address) over
        `LOGIN_WINDOW_S`; past the limit every attempt raises `TooManyAttempts`
        without hashing.
        The slow hash runs in a worker thread, also for unknown logins (same cost).
        """
        key = login.strip().lower()
        self._logins.check(key, source)
        row = await self.store.accounts.by_login(key)
        stored = row.password_hash if row is not None else None
        ok = await trio.to_thread.run_sync(keys.check_password, password, stored or _DECOY_HASH)
        if row is None or not stored or not ok:
            self._logins.failed(key, source)
            log.info("client space: failed login (account %s)", row.id if row else "unknown")
            raise AuthError("Identifiant ou mot de passe incorrect.", code="IDENTIFIANTS_INVALIDES")
        self._logins.succeeded(key)
        return row.id

    # -- sending ------------------------------------------------------------------------

    def prepare(
        self, type: SendType, emetteur: str, numeros: Sequence[str], corps: str
    ) -> SendDraft:
        """Validate the sender and the numbers, encode the body (pure, no I/O)."""
        try:
            sender = parse_sender(emetteur)
        except ValueError as exc:
            raise InvalidField("emetteur", str(exc)) from None
        recipients = normalize_recipients(numeros, self.settings.gateway.default_region)
        encoded = encode_message(corps, 0)
        return SendDraft(
            type=type,
            emetteur=emetteur,
            sender=sender,
            corps=corps,
            encoded=encoded,
            valid=recipients.valid,
            invalid=recipients.invalid,
            doublons=recipients.duplicates,
            avertissements=sender.warnings,
        )

    async def submit(
        self, account_id: AccountId, draft: SendDraft, idempotency: Idempotency | None = None
    ) -> Accepted:
        backlog = self.dispatcher.backlog
        if backlog + len(draft.valid) > self.settings.gateway.backlog_max:
            raise Overloaded(
                "La passerelle a trop de messages en attente : réessayez plus tard.",
                retry_after_s=5,
            )
        try:
            return await self._ask(account_id, Submit, draft, idempotency)  # type: ignore[no-any-return]
        except IdempotencyConflict:
            raise Conflict(
                "Cette clé d'idempotence a déjà servi pour une autre requête.",
                code="IDEMPOTENCE_CONFLIT",
            ) from None

    async def send_view(self, account_id: AccountId, ref: SendRef) -> q_reads.SendView:
        view = await self.store.reads.send(account_id, ref)
        if view is None:
            raise NotFound("Aucun envoi de votre compte ne porte cette référence.", code="REF_INCONNUE")
        return view

    async def messages_page(
        self, account_id: AccountId, ref: SendRef, *, statut: str | None, after: int, limit: int
    ) -> list[q_reads.MessageView]:
        """A page of a send's recipients in id order, after message id `after`
        (404 REF_INCONNUE when the send is not the account's), in one read."""
        page = await self.store.reads.messages_page(
            account_id, ref, statut=statut, after_id=after, limit=limit
        )
        if page is None:
            raise NotFound("Aucun envoi de votre compte ne porte cette référence.", code="REF_INCONNUE")
        return page

    async def sends_page(
        self,
        account_id: AccountId,
        *,
        before: int | None,
        type: str | None,
        statut: str | None,
        since: str | None,
        until: str | None,
        limit: int,
    ) -> list[q_reads.SendView]:
        """The account's sends, newest first, before ref `before`, created in
        [since, until) (ISO 8601 UTC), filtered by type and aggregate status."""
        return await self.store.reads.sends_page(
            account_id, before_ref=before, type=type, statut=statut,
            since=since, until=until, limit=limit,
        )

    # -- scheduled campaigns (engine/campaigns) -----------------------------------------

    async def submit_campaign(
        self,
        account_id: AccountId,
        draft: SendDraft,
        request: campaigns.CampaignRequest,
        idempotency: Idempotency | None = None,
    ) -> Accepted:
        """Accept a MULDESP: validated, recorded, then handed to the scheduler."""
        return await self._campaign_calls.submit(account_id, draft, request, idempotency)

    async def campaign_plan(self, account_id: AccountId, ref: SendRef) -> campaigns.CampaignPlan:
        return await self._campaign_calls.plan(account_id, ref)

    async def cancel_campaign(self, account_id: AccountId, ref: SendRef) -> int:
        """Cancel a live campaign; returns how many recipients were cancelled."""
        return await self._campaign_calls.cancel(account_id, ref)

    async def _expire_idempotency(self) -> None:
        """Forget Idempotency-Key answers older than `gateway.idempotency_ttl_s`.

        Wakes when the oldest record falls due (at most a second late), so a key is
        honoured for its whole period and no longer, and an idle gateway does no work.
        """
        ttl_s = self.settings.gateway.idempotency_ttl_s
        while True:
            now = self.clock.now().timestamp()
            removed = await self.store.idempotency.expire(now - ttl_s)
            first = await self.store.idempotency.oldest()
            if removed:
                log.info("forgot %d idempotency records older than %d s", removed, ttl_s)
            next_at = first + ttl_s if first is not None else now + ttl_s
            await trio.sleep(max(next_at - now, 1.0))

    # -- operators ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        binds = [s.statistics() for s in self.senders]
        up = sum(1 for b in binds if b.state is BindState.BOUND)
        return {
            "statut": "OK" if up and self.store.writable else "DEGRADE",
            "smsc": {"liaisons": len(binds), "actives": up},
            "stockage": {"ecriture": self.store.writable},
            "demarreLe": iso(self.started_at),
        }

    def actors(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "comptes": [asdict(s) for s in self.registry.snapshots()],
            "registre": {"actifs": self.registry.live, "redemarrages": self.registry.restarts},
            "repartiteur": asdict(self.dispatcher.statistics()),
            "liaisons": [asdict(s.statistics()) for s in self.senders],
            "stockage": asdict(self.store.statistics()),
            "accuses": {
                "rapproches": self.router.receipts_matched,
                "non_rapproches": self.router.receipts_unmatched,
            },
            "rappels": asdict(self.callbacks.statistics()),
            "campagnes": asdict(self.campaigns.statistics()),
            "processus": {"collecteur": asdict(collector_statistics())},
        }

    def now(self) -> datetime:
        return self.clock.now()


__all__ = ["Gateway", "GatewayError", "NewKey", "AccountView", "EntryKind"]
