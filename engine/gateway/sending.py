"""Sends: prepare (pure), submit to the account's actor, read back; campaigns.

`prepare` validates the sender and the numbers and encodes the body without
I/O; `submit` refuses with `Overloaded` when the dispatcher's backlog would pass
`gateway.backlog_max`, then hands the draft to the account's actor, which
reserves and records it durably before answering. Reads are scoped to the
caller's account: another account's ref is not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from engine.accounts.commands import CancelSend, IdempotencyConflict, SendDraft, Submit
from engine.callbacks import forbidden, well_formed
from engine.campaigns.facade import CampaignCalls
from engine.errors import (
    Conflict,
    ForbiddenCallbackUrl,
    IdempotencyKeyReused,
    InvalidField,
    NotFound,
    Overloaded,
)
from engine.gateway.optouts import OptOuts
from engine.gateway.runtime import Runtime
from engine.model import (
    NO_OPTIONS,
    Accepted,
    AccountId,
    CampaignPlan,
    CampaignRequest,
    Idempotency,
    MessageId,
    MessageStatus,
    MessageView,
    Outcome,
    Reason,
    SendOptions,
    SendRef,
    SendType,
    SendView,
    iso,
)
from engine.text import encode_message, normalize_recipients, parse_sender

MAX_VALIDITY_MIN = 10_080
"""The longest `validite`: a week, in minutes."""

_UNKNOWN_REF = "Aucun envoi de votre compte ne porte cette référence."


class Sending:
    """Accepts sends and campaigns and reads them back for their account."""

    def __init__(self, runtime: Runtime, opt_outs: OptOuts) -> None:
        self._runtime = runtime
        self._opt_outs = opt_outs
        self._settings = runtime.settings
        self._store = runtime.store
        self._campaigns = CampaignCalls(
            runtime.settings, runtime.clock, runtime.store, runtime.campaigns,
            ask=runtime.ask, send_view=self.send_view,
        )

    def prepare(
        self,
        type: SendType,
        emetteur: str,
        numeros: Sequence[str],
        corps: str,
        options: SendOptions = NO_OPTIONS,
    ) -> SendDraft:
        """Validate the sender, the numbers and the options, encode the body (no I/O;
        a callback URL's address is checked by `submit`)."""
        options = self._checked(type, options)
        try:
            sender = parse_sender(emetteur)
        except ValueError as exc:
            raise InvalidField("emetteur", str(exc)) from None
        recipients = normalize_recipients(numeros, self._settings.gateway.default_region)
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
            options=options,
        )

    def _checked(self, type: SendType, options: SendOptions) -> SendOptions:
        """The options as the send keeps them (`dateEnvoi` in UTC), or 422 naming
        the faulty one."""
        if options == NO_OPTIONS:
            return options
        reference = options.reference
        if reference is not None and not (
            1 <= len(reference) <= 64 and reference.isprintable()
        ):
            raise InvalidField("reference", "Une référence a 1 à 64 caractères imprimables.")
        if options.validite is not None and not 1 <= options.validite <= MAX_VALIDITY_MIN:
            raise InvalidField(
                "validite", f"Une validité est un nombre de minutes de 1 à {MAX_VALIDITY_MIN}."
            )
        url = options.url_rappel
        if url is not None and (len(url) > 2048 or not well_formed(url)):
            raise InvalidField("urlRappel", "Une adresse de rappel est une URL http ou https.")
        if options.date_envoi is None:
            return options
        if type is SendType.MULDESP:
            raise InvalidField(
                "dateEnvoi", "Une campagne MULDESP suit son calendrier : dateEnvoi ne s'y applique pas."
            )
        try:
            when = datetime.fromisoformat(options.date_envoi)
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise InvalidField(
                "dateEnvoi",
                "Une date d'envoi est une date-heure ISO 8601 avec son décalage horaire "
                "(2025-10-10T08:00:00+01:00).",
            )
        now = self._runtime.clock.now()
        if when < now - timedelta(seconds=60) or when > now + timedelta(days=366):
            raise InvalidField(
                "dateEnvoi", "Une date d'envoi est comprise entre maintenant et 366 jours plus tard."
            )
        return replace(options, date_envoi=iso(max(when, now)))
    async def submit(
        self, account_id: AccountId, draft: SendDraft, idempotency: Idempotency | None = None
    ) -> Accepted:
        """Reserve and record the send (durable before this returns). Recipients on
        the account's opt-out list end ECHEC / DESINSCRIT, never charged; a
        suspended account (403 COMPTE_SUSPENDU) or a sender it may not use (422
        EMETTEUR_NON_AUTORISE) is refused with nothing reserved."""
        draft = draft.without(await self._opt_outs.opted_out(account_id, draft.valid))
        backlog = self._runtime.dispatcher.backlog
        if backlog + len(draft.valid) > self._settings.gateway.backlog_max:
            raise Overloaded(
                "La passerelle a trop de messages en attente : réessayez plus tard.",
                retry_after_s=5,
            )
        await self._check_url(draft)
        try:
            accepted: Accepted = await self._runtime.ask(account_id, Submit, draft, idempotency)
        except IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        departure = draft.options.date_envoi
        if departure is not None and not accepted.replayed:  # a replay's is held already
            self._runtime.deferred.hold(account_id, accepted.ref, departure)
        return accepted

    async def _check_url(self, draft: SendDraft) -> None:
        """A send's own callback URL must not point at a private address (422
        URL_RAPPEL_INTERDITE, unless `callbacks.allow_private`)."""
        url = draft.options.url_rappel
        if url is not None and await forbidden(
            url, allow_private=self._settings.callbacks.allow_private
        ):
            raise ForbiddenCallbackUrl()

    async def cancel(self, account_id: AccountId, ref: SendRef) -> tuple[str, int]:
        """DELETE /sms/{ref}: a campaign (`cancel_campaign`) or a deferred send before
        its departure, whose recipients end ECHEC / ANNULE and whose credits are
        released. Returns the kind cancelled (its type) and how many recipients ended."""
        view = await self.send_view(account_id, ref)
        if view.type == SendType.MULDESP.value:
            return view.type, await self.cancel_campaign(account_id, ref)
        if not self._runtime.deferred.cancel(ref):
            raise Conflict(
                "Seuls une campagne MULDESP ou un envoi différé (dateEnvoi) pas encore parti "
                "peuvent être annulés.",
                code="NON_ANNULABLE",
            )
        now = iso(self._runtime.clock.now())
        outcomes = tuple(
            Outcome(MessageId(row.message_id), ref, MessageStatus.ECHEC, Reason.ANNULE, at=now)
            for row in await self._store.messages.waiting_of(ref)
        )
        count: int = await self._runtime.ask(account_id, CancelSend, outcomes)
        return view.type, count

    async def send_view(self, account_id: AccountId, ref: SendRef) -> SendView:
        view = await self._store.reads.send(account_id, ref)
        if view is None:
            raise NotFound(_UNKNOWN_REF, code="REF_INCONNUE")
        return view

    async def messages_page(
        self, account_id: AccountId, ref: SendRef, *, statut: str | None, after: int, limit: int
    ) -> list[MessageView]:
        """A page of a send's recipients in id order, after message id `after`
        (404 REF_INCONNUE when the send is not the account's), in one read."""
        page = await self._store.reads.messages_page(
            account_id, ref, statut=statut, after_id=after, limit=limit
        )
        if page is None:
            raise NotFound(_UNKNOWN_REF, code="REF_INCONNUE")
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
        reference: str | None = None,
        numero: str | None = None,
    ) -> list[SendView]:
        """The account's sends, newest first, before ref `before`, created in
        [since, until) (ISO 8601 UTC), filtered by type, aggregate status, the
        client's `reference` and a recipient's number (normalised as a recipient;
        one that is not a number finds nothing)."""
        number = None
        if numero is not None:
            found = normalize_recipients([numero], self._settings.gateway.default_region)
            number = found.valid[0] if found.valid else numero
        return await self._store.reads.sends_page(
            account_id, before_ref=before, type=type, statut=statut,
            since=since, until=until, limit=limit, reference=reference, numero=number,
        )

    async def submit_campaign(
        self,
        account_id: AccountId,
        draft: SendDraft,
        request: CampaignRequest,
        idempotency: Idempotency | None = None,
    ) -> Accepted:
        """Accept a MULDESP: validated, recorded, then handed to the scheduler.
        Opted-out recipients end ECHEC / DESINSCRIT at once; the refusals of
        `submit` apply."""
        await self._check_url(draft)
        draft = draft.without(await self._opt_outs.opted_out(account_id, draft.valid))
        return await self._campaigns.submit(account_id, draft, request, idempotency)

    async def preview_campaign(
        self, account_id: AccountId, draft: SendDraft, request: CampaignRequest
    ) -> CampaignPlan:
        """The plan a MULDESP (`prepare`d draft, calendar) would get if confirmed
        now: its slots and counts, opted-out recipients left out; nothing written.
        Refuses a calendar as `submit_campaign` does (422)."""
        draft = draft.without(await self._opt_outs.opted_out(account_id, draft.valid))
        return await self._campaigns.preview(account_id, draft, request)

    async def campaign_plan(self, account_id: AccountId, ref: SendRef) -> CampaignPlan:
        return await self._campaigns.plan(account_id, ref)

    async def cancel_campaign(self, account_id: AccountId, ref: SendRef) -> int:
        """Cancel a live campaign; returns how many recipients were cancelled."""
        return await self._campaigns.cancel(account_id, ref)
