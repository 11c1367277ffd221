"""Scheduled campaigns: /api/V1/sms/muldesp, /api/V1/sms/{ref}/plan, DELETE /api/V1/sms/{ref}
(contract section 3, seed section 5.3).

`GET /api/V1/sms/{ref}` (api/routes/sms.py) shows a campaign's state and progress:
they are stored with the send and merged into its answer.

Decisions the contract leaves open, documented in the OpenAPI document:
- The daily window is `[debut, fin)`: a slot exactly at the window's end is not sent.
- The span of the dates counts both ends: at most 366 calendar days.
- A calendar with no slot left (dateFin today and the window closed) answers 422
  on `dateFin`. Recipients the calendar cannot carry (more than nbParJour × days)
  are accepted with a warning and end ECHEC / CAMPAGNE_EXPIREE.
- DELETE cancels only a live campaign (409 CAMPAGNE_TERMINEE once it has ended,
  409 NON_ANNULABLE for UNIDES and MULDES, which leave at once). Recipients
  already released to the SMSC queue finish normally; the others end ECHEC / ANNULE.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, request

from api import views
from api.deps import client_account, gateway, send_intake
from api.errors import ApiError
from api.http import json_body, jsonify_status
from api.intake import ACCEPTED, ApiKey, SendRequest
from api.models.answers import AccepteMuldesp, Annulation, Plan
from api.models.requests import muldesp
from api.openapi import Answer, Security, operation
from api.routes.sms import IDEMPOTENCY
from config.settings import GatewaySettings, Settings
from engine.model import CampaignPlan, SendType, format_ref, iso, parse_ref

bp = Blueprint("campagnes", __name__, url_prefix="/api/V1/sms")

MULDESP_SCHEMA = muldesp(GatewaySettings().max_recipients)
"""The request body with the default recipient limit (the route uses the configured one)."""


def _muldesp_body(s: Settings) -> type[Any]:
    return muldesp(s.gateway.max_recipients)


def _ref(text: str) -> Any:
    parsed = parse_ref(text)
    if parsed is None:
        raise ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")
    return parsed


@bp.post("/muldesp")
@operation(
    "Envoi planifié (MULDESP)",
    tag="Envois",
    description="Planifie une campagne : les destinataires partent dans l'ordre de la liste, "
    "à des créneaux espacés de `intervalleMinutes` dans la fenêtre quotidienne (08:00-20:00 par "
    "défaut, fuseau de la passerelle), sans dépasser `nbParJour` par jour ; chaque créneau "
    "envoie ceil(quota restant du jour / créneaux restants du jour). Le premier jour, seuls les "
    "créneaux postérieurs à l'acceptation comptent. En prépayé, les crédits sont réservés "
    "créneau par créneau : un créneau non couvert envoie la part couverte et la campagne passe "
    "SUSPENDUE jusqu'au créneau qui suit une recharge. Les destinataires restant après le "
    "dernier créneau de `dateFin` finissent ECHEC / CAMPAGNE_EXPIREE. "
    "Le calendrier est visible avec GET /api/V1/sms/{ref}/plan. Répond 422 quand `dateDebut` "
    "est passée (jour du fuseau de la passerelle), quand `dateFin` précède `dateDebut`, quand "
    "la campagne couvre plus de 366 jours (dates incluses) ou quand plus aucun créneau ne "
    "reste (dateFin aujourd'hui, fenêtre fermée) : règles entre champs ou liées à la date du "
    "jour, que le schéma du corps ne peut pas dire.",
    body=_muldesp_body,
    headers=(IDEMPOTENCY,),
    responses={
        202: Answer("Campagne enregistrée.", AccepteMuldesp),
        403: Answer("Compte suspendu (COMPTE_SUSPENDU) : rien n'est enregistré."),
        409: Answer("La clé d'idempotence a déjà servi avec un autre corps (IDEMPOTENCE_CONFLIT)."),
        422: Answer(
            "Champs invalides (VALIDATION), ou émetteur hors des émetteurs autorisés du compte "
            "(EMETTEUR_NON_AUTORISE) : rien n'est enregistré."
        ),
    },
    security=Security.CLE_API,
)
async def muldesp_route() -> Response:
    body = await json_body()
    request_ = SendRequest(
        SendType.MULDESP,
        body,
        ApiKey(request.headers.get("X-API-Key")),
        request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return jsonify_status(await send_intake().accept(request_), ACCEPTED)


@bp.get("/<ref>/plan")
@operation(
    "Calendrier d'une campagne",
    tag="Suivi",
    description="Les créneaux d'une campagne MULDESP : ceux déjà passés (EFFECTUE, avec le "
    "nombre effectivement lancé) puis ceux à venir (PREVU), calculés depuis l'état présent "
    "comme si chaque créneau était entièrement couvert. Heures en UTC et dans le fuseau de la "
    "campagne. Un envoi qui n'est pas une campagne répond 404 PAS_UNE_CAMPAGNE.",
    responses={200: Answer("Le calendrier.", Plan)},
    security=Security.CLE_API,
)
async def plan(ref: str) -> Response:
    account_id = await client_account()
    result = await gateway().campaign_plan(account_id, _ref(ref))
    return jsonify_status(_plan_json(result), 200)


def _plan_json(p: CampaignPlan) -> dict[str, Any]:
    row = p.row
    zone = ZoneInfo(row.fuseau)
    slots = []
    for slot in p.slots:
        item: dict[str, Any] = {
            "heure": iso(slot.at),
            "heureLocale": slot.at.astimezone(zone).isoformat(timespec="minutes"),
            "nombre": slot.count,
            "etat": "EFFECTUE" if slot.done else "PREVU",
        }
        if slot.released is not None:
            item["lances"] = slot.released
        slots.append(item)
    return {
        "ref": format_ref(row.ref),
        "etatCampagne": p.etat.value,
        "dateDebut": row.date_debut,
        "dateFin": row.date_fin,
        "nbParJour": row.nb_par_jour,
        "intervalleMinutes": row.intervalle_minutes,
        "fuseauHoraire": row.fuseau,
        "fenetre": {"debut": row.fenetre_debut, "fin": row.fenetre_fin},
        "creneaux": slots,
        "nbCreneauxPrevus": p.upcoming_total,
        "tronque": p.truncated,
        "nbNonPlanifies": p.unplanned,
    }


@bp.delete("/<ref>")
@operation(
    "Annuler une campagne",
    tag="Envois",
    description="Annule une campagne MULDESP en cours ou planifiée : les destinataires pas "
    "encore lancés passent ECHEC / ANNULE et rien de plus n'est facturé ; ceux déjà remis à "
    "la file du SMSC finissent normalement. 409 CAMPAGNE_TERMINEE si elle est déjà terminée "
    "ou annulée, 409 NON_ANNULABLE pour un envoi UNIDES ou MULDES.",
    responses={
        200: Answer("Campagne annulée.", Annulation),
        409: Answer("Campagne déjà terminée (CAMPAGNE_TERMINEE) ou envoi non planifié "
                    "(NON_ANNULABLE)."),
    },
    security=Security.CLE_API,
)
async def cancel(ref: str) -> Response:
    account_id = await client_account()
    parsed = _ref(ref)
    gw = gateway()
    count = await gw.cancel_campaign(account_id, parsed)
    view = await gw.send_view(account_id, parsed)
    body = views.send(view)
    return jsonify_status(
        {
            "ref": body["ref"],
            "etatCampagne": body.get("etatCampagne", "ANNULEE"),
            "annules": count,
            "compteurs": body["compteurs"],
        },
        200,
    )


__all__ = ["MULDESP_SCHEMA", "bp", "muldesp"]
