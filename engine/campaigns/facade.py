"""What the gateway facade does for campaigns: accept, show the plan, cancel.

`Gateway` keeps one thin method per call and delegates here, so the campaign
logic stays in this package. Every read is scoped to the caller's account: a ref
of another account answers 404, like any send.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import TYPE_CHECKING

import trio

from engine.accounts.commands import Accepted, Idempotency, IdempotencyConflict, SendDraft
from engine.actor import Reply
from engine.campaigns.accept import open_campaign
from engine.campaigns.model import CampaignRequest
from engine.campaigns.plan import CampaignPlan, build_plan
from engine.errors import Conflict, NotFound
from engine.store import campaigns as q_campaigns
from engine.types import AccountId, SendRef, SendType

if TYPE_CHECKING:
    from engine.gateway import Gateway

__all__ = ["CampaignPlan", "CampaignRequest", "cancel", "plan", "submit"]

_UNKNOWN = "Aucun envoi de votre compte ne porte cette référence."


async def submit(
    gw: Gateway,
    account_id: AccountId,
    draft: SendDraft,
    request: CampaignRequest,
    idempotency: Idempotency | None,
) -> Accepted:
    opening = open_campaign(
        gw.settings, account_id, draft, request, gw.clock.now(), idempotency, Reply()
    )
    template = opening.command
    try:
        accepted: Accepted = await gw._ask(
            account_id, lambda reply: dataclasses.replace(template, reply=reply)
        )
    except IdempotencyConflict:
        raise Conflict(
            "Cette clé d'idempotence a déjà servi pour une autre requête.",
            code="IDEMPOTENCE_CONFLIT",
        ) from None
    if not accepted.replayed:
        await gw.campaigns.watch(accepted.ref)
    return accepted


async def plan(gw: Gateway, account_id: AccountId, ref: SendRef) -> CampaignPlan:
    view = await gw.send_view(account_id, ref)
    if view.type != SendType.MULDESP.value:
        raise NotFound(
            "Cet envoi n'est pas une campagne planifiée (MULDESP) : il n'a pas de plan.",
            code="PAS_UNE_CAMPAGNE",
        )

    def read(
        conn: sqlite3.Connection,
    ) -> tuple[q_campaigns.CampaignRow | None, list[q_campaigns.WaveRow]]:
        return q_campaigns.get_campaign(conn, ref), q_campaigns.waves_done(conn, ref)

    row, done = await gw.store.read(read)
    if row is None:
        raise NotFound(_UNKNOWN, code="REF_INCONNUE")
    now = gw.clock.now()
    return await trio.to_thread.run_sync(build_plan, row, done, now)


async def cancel(gw: Gateway, account_id: AccountId, ref: SendRef) -> int:
    view = await gw.send_view(account_id, ref)
    if view.type != SendType.MULDESP.value:
        raise Conflict(
            "Seule une campagne planifiée (MULDESP) peut être annulée : "
            "les envois UNIDES et MULDES partent dès leur acceptation.",
            code="NON_ANNULABLE",
        )
    return await gw.campaigns.cancel(account_id, ref)
