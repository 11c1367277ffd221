"""Turning a validated MULDESP request into the account actor's `OpenCampaign`. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from config.settings import Settings
from engine.accounts.commands import OpenCampaign, SendDraft
from engine.actor import Reply
from engine.campaigns.model import public_fields
from engine.campaigns.planner import (
    Schedule,
    capacity,
    check_dates,
    next_slot,
    parse_window,
)
from engine.errors import GatewayError
from engine.model import (
    Accepted,
    AccountId,
    Billing,
    CampaignRequest,
    CampaignState,
    Idempotency,
    MessageStatus,
    NewRecipient,
    NewSendRow,
    Reason,
    SendRef,
    SendType,
)
from engine.store.writes import NewCampaign


class CampaignRefused(GatewayError):
    """A MULDESP whose calendar breaks the contract's rules (invalid, fields named)."""

    code = "VALIDATION"


@dataclass(frozen=True, slots=True)
class Opening:
    command: OpenCampaign
    schedule: Schedule


def schedule_for(settings: Settings, request: CampaignRequest, now: datetime) -> Schedule:
    return Schedule(
        date_debut=request.date_debut,
        date_fin=request.date_fin,
        nb_par_jour=request.nb_par_jour,
        intervalle_minutes=request.intervalle_minutes,
        window_start=parse_window(settings.campaigns.window_start),
        window_end=parse_window(settings.campaigns.window_end),
        zone=ZoneInfo(settings.gateway.timezone),
        accepted_at=now,
    )


def today_in(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.gateway.timezone)).date()


def open_campaign(
    settings: Settings,
    account_id: AccountId,
    draft: SendDraft,
    request: CampaignRequest,
    now: datetime,
    idempotency: Idempotency | None,
    reply: Reply[Accepted],
) -> Opening:
    """Check the calendar against `now` and build the command; raises `CampaignRefused`."""
    faults = check_dates(request.date_debut, request.date_fin, today_in(settings, now))
    schedule = schedule_for(settings, request, now)
    if not faults and next_slot(schedule, None, now) is None:
        faults.append(
            (
                "dateFin",
                "Aucun créneau d'envoi ne reste entre dateDebut et dateFin "
                f"(fenêtre quotidienne {settings.campaigns.window_start}-"
                f"{settings.campaigns.window_end}, {settings.gateway.timezone}).",
            )
        )
    if faults:
        raise CampaignRefused(
            "La requête contient des champs invalides.",
            details=[{"champ": champ, "message": message} for champ, message in faults],
        )
    total = len(draft.valid)
    warnings = list(draft.avertissements)
    room = capacity(schedule)
    if total > room:
        warnings.append(
            f"Le calendrier permet au plus {room} envois : {total - room} destinataires "
            "resteront en ECHEC (CAMPAGNE_EXPIREE) à la fin de la campagne."
        )
    etat = CampaignState.PLANIFIEE if total else CampaignState.TERMINEE
    statut = MessageStatus.EN_ATTENTE if total else MessageStatus.ECHEC
    recipients = [NewRecipient(n, MessageStatus.EN_ATTENTE, None, 0) for n in draft.valid]
    recipients.extend(
        NewRecipient(n, MessageStatus.ECHEC, Reason.DESINSCRIT, 0) for n in draft.desinscrits
    )
    recipients.extend(
        NewRecipient(raw, MessageStatus.ECHEC, Reason.NUMERO_INVALIDE, 0) for raw in draft.invalid
    )
    first_at = next_slot(schedule, None, now) if total else None
    public = public_fields(schedule, etat, total, 0, first_at)
    segments = len(draft.encoded.parts)
    row = NewSendRow(
        account_id=account_id,
        type=SendType.MULDESP.value,
        emetteur=draft.emetteur,
        corps=draft.corps,
        encodage=draft.encoded.encoding.value,
        segments=segments,
        billing=Billing.PREPAYE,
        doublons=draft.doublons,
        avertissements=tuple(warnings),
        recipients=recipients,
        cree_le="",
        campagne=public,
    )
    accepted = Accepted(
        ref=SendRef(0),
        type=SendType.MULDESP,
        statut=statut,
        segments=segments,
        encodage=draft.encoded.encoding.value,
        nb_destinataires=len(recipients),
        doublons=draft.doublons,
        avertissements=tuple(warnings),
    )

    campaign = NewCampaign(
        total=total,
        date_debut=request.date_debut.isoformat(),
        date_fin=request.date_fin.isoformat(),
        nb_par_jour=request.nb_par_jour,
        intervalle_minutes=request.intervalle_minutes,
        fenetre_debut=settings.campaigns.window_start,
        fenetre_fin=settings.campaigns.window_end,
        fuseau=settings.gateway.timezone,
        accepte_le=now.isoformat(),
        etat=etat.value,
    )
    command = OpenCampaign(row, accepted, campaign, idempotency, reply)
    return Opening(command, schedule)
