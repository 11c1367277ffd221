"""Sends: prepare (pure), submit to the account's actor, read back; campaigns.

`prepare` validates the sender and the numbers and encodes the body without
I/O; `submit` refuses with `Overloaded` when the dispatcher's backlog would pass
`gateway.backlog_max`, then hands the draft to the account's actor, which
reserves and records it durably before answering. Reads are scoped to the
caller's account: another account's ref is not found.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.accounts.commands import IdempotencyConflict, SendDraft, Submit
from engine.campaigns.facade import CampaignCalls
from engine.errors import IdempotencyKeyReused, InvalidField, NotFound, Overloaded
from engine.gateway.optouts import OptOuts
from engine.gateway.runtime import Runtime
from engine.model import (
    Accepted,
    AccountId,
    CampaignPlan,
    CampaignRequest,
    Idempotency,
    MessageView,
    SendRef,
    SendType,
    SendView,
)
from engine.text import encode_message, normalize_recipients, parse_sender

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
        self, type: SendType, emetteur: str, numeros: Sequence[str], corps: str
    ) -> SendDraft:
        """Validate the sender and the numbers, encode the body (pure, no I/O)."""
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
        )

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
        try:
            return await self._runtime.ask(account_id, Submit, draft, idempotency)  # type: ignore[no-any-return]
        except IdempotencyConflict:
            raise IdempotencyKeyReused() from None

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
    ) -> list[SendView]:
        """The account's sends, newest first, before ref `before`, created in
        [since, until) (ISO 8601 UTC), filtered by type and aggregate status."""
        return await self._store.reads.sends_page(
            account_id, before_ref=before, type=type, statut=statut,
            since=since, until=until, limit=limit,
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
