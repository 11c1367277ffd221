"""What the gateway facade does for campaigns: accept, show the plan, cancel.

`Gateway` owns one `CampaignCalls`, keeps one thin method per call and delegates
here, so the campaign logic stays in this package. What it needs of the gateway
comes in through its constructor (the account actors' `ask`, the send reads),
so this package does not import the gateway. Every read is scoped to the
caller's account: a ref of another account answers 404, like any send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

from config.settings import Settings
from engine.accounts.commands import Command, IdempotencyConflict, SendDraft
from engine.actor import Reply
from engine.campaigns.accept import open_campaign
from engine.campaigns.plan import build_plan
from engine.campaigns.scheduler import CampaignScheduler
from engine.clock import WallClock
from engine.errors import Conflict, IdempotencyKeyReused, NotFound
from engine.model import (
    Accepted,
    AccountId,
    CampaignPlan,
    CampaignRequest,
    CampaignRow,
    Idempotency,
    MessageId,
    SendRef,
    SendType,
    SendView,
)
from engine.store import Store

__all__ = ["Ask", "CampaignCalls", "CampaignPlan", "CampaignRequest", "SendViews"]

_UNKNOWN = "Aucun envoi de votre compte ne porte cette référence."


class Ask(Protocol):
    """Ask an account's actor: `make(reply)` builds the command; returns its answer
    and raises the facade's errors (`GatewayError`s) when the account refuses."""

    def __call__(
        self, account_id: AccountId, make: Callable[[Reply[Any]], Command]
    ) -> Awaitable[Any]: ...


class SendViews(Protocol):
    """A send of the account as the API shows it; raises 404 REF_INCONNUE."""

    def __call__(self, account_id: AccountId, ref: SendRef) -> Awaitable[SendView]: ...


class CampaignCalls:
    """The campaign calls of the facade. Owns nothing: the scheduler owns the
    campaigns' progress, the account actors their money."""

    def __init__(
        self,
        settings: Settings,
        clock: WallClock,
        store: Store,
        scheduler: CampaignScheduler,
        *,
        ask: Ask,
        send_view: SendViews,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._store = store
        self._scheduler = scheduler
        self._ask = ask
        self._send_view = send_view

    async def submit(
        self,
        account_id: AccountId,
        draft: SendDraft,
        request: CampaignRequest,
        idempotency: Idempotency | None,
    ) -> Accepted:
        """Accept a MULDESP: validated, recorded by the account's actor, then
        handed to the scheduler (not when the answer is a replay)."""
        opening = open_campaign(
            self._settings, account_id, draft, request, self._clock.now(), idempotency, Reply()
        )
        template = opening.command
        try:
            accepted: Accepted = await self._ask(
                account_id, lambda reply: dataclasses.replace(template, reply=reply)
            )
        except IdempotencyConflict:
            raise IdempotencyKeyReused() from None
        if not accepted.replayed:
            await self._scheduler.watch(accepted.ref)
        return accepted

    async def preview(
        self, account_id: AccountId, draft: SendDraft, request: CampaignRequest
    ) -> CampaignPlan:
        """The plan a MULDESP would have if accepted now, without accepting it
        (nothing written, nothing reserved); refuses a calendar as `submit` does."""
        now = self._clock.now()
        opening = open_campaign(self._settings, account_id, draft, request, now, None, Reply())
        command = opening.command
        spec = command.campaign
        row = CampaignRow(
            ref=SendRef(0), account_id=account_id, premier_message=MessageId(0),
            total=spec.total, date_debut=spec.date_debut, date_fin=spec.date_fin,
            nb_par_jour=spec.nb_par_jour, intervalle_minutes=spec.intervalle_minutes,
            fenetre_debut=spec.fenetre_debut, fenetre_fin=spec.fenetre_fin, fuseau=spec.fuseau,
            accepte_le=spec.accepte_le, etat=spec.etat, lances=0, jour=None, lances_jour=0,
            dernier_creneau=None, fin_le=None, emetteur=command.row.emetteur,
            corps=command.row.corps, segments=command.row.segments, billing="PREPAYE",
        )
        return await trio.to_thread.run_sync(build_plan, row, [], now)

    async def plan(self, account_id: AccountId, ref: SendRef) -> CampaignPlan:
        view = await self._send_view(account_id, ref)
        if view.type != SendType.MULDESP.value:
            raise NotFound(
                "Cet envoi n'est pas une campagne planifiée (MULDESP) : il n'a pas de plan.",
                code="PAS_UNE_CAMPAGNE",
            )
        row, done = await self._store.campaigns.with_waves(ref)
        if row is None:
            raise NotFound(_UNKNOWN, code="REF_INCONNUE")
        now = self._clock.now()
        return await trio.to_thread.run_sync(build_plan, row, done, now)

    async def cancel(self, account_id: AccountId, ref: SendRef) -> int:
        view = await self._send_view(account_id, ref)
        if view.type != SendType.MULDESP.value:
            raise Conflict(
                "Seule une campagne planifiée (MULDESP) peut être annulée : "
                "les envois UNIDES et MULDES partent dès leur acceptation.",
                code="NON_ANNULABLE",
            )
        return await self._scheduler.cancel(account_id, ref)
