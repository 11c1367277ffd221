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

from api import schemas, views
from api.deps import client_account, gateway, send_intake
from api.errors import ApiError
from api.http import json_body, jsonify_status
from api.intake import ACCEPTED, ApiKey, SendRequest
from api.openapi import Answer, Security, operation
from api.routes.sms import IDEMPOTENCY
from config.settings import GatewaySettings, Settings
from engine.model import PLAN_LIMIT, CampaignPlan, SendType, format_ref, iso, parse_ref

bp = Blueprint("campagnes", __name__, url_prefix="/api/V1/sms")

_DATE: schemas.Schema = {"type": "string", "format": "date", "minLength": 10, "maxLength": 10}


def muldesp(max_items: int) -> schemas.Schema:
    """The MULDESP body: the MULDES fields plus the calendar."""
    base = schemas.muldes(max_items)
    return {
        "type": "object",
        "required": [*base["required"], "dateDebut", "dateFin", "nbParJour", "intervalleMinutes"],
        "properties": {
            **base["properties"],
            "dateDebut": {
                **_DATE,
                "description": "Premier jour de la campagne (AAAA-MM-JJ, fuseau de la passerelle, "
                "Africa/Libreville par défaut), aujourd'hui ou plus tard.",
                "example": "2025-10-10",
            },
            "dateFin": {
                **_DATE,
                "description": "Dernier jour (inclus), au plus tôt dateDebut ; 366 jours au plus, "
                "dates incluses.",
                "example": "2025-10-15",
            },
            "nbParJour": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10_000_000,
                "description": "Nombre maximal de SMS envoyés par jour.",
                "example": 100,
            },
            "intervalleMinutes": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1440,
                "description": "Intervalle entre deux créneaux d'envoi, à partir du début de la "
                "fenêtre quotidienne (08:00-20:00 par défaut, fin exclue).",
                "example": 15,
            },
            **schemas.OPTIONS,
        },
        "hints": base.get("hints", {}),
        "example": {
            "emetteur": "ION-Networking",
            "numeros": ["+24106123456", "+24107456789"],
            "corps": "Campagne d'information SMS Gateway",
            "dateDebut": "2025-10-10",
            "dateFin": "2025-10-15",
            "nbParJour": 100,
            "intervalleMinutes": 15,
        },
    }


MULDESP_SCHEMA: schemas.Schema = muldesp(GatewaySettings().max_recipients)
"""The request body with the default recipient limit (the route uses the configured one)."""

ETAT_CAMPAGNE: schemas.Schema = {
    "type": "string",
    "enum": ["PLANIFIEE", "EN_COURS", "SUSPENDUE", "TERMINEE", "ANNULEE"],
    "description": "PLANIFIEE : aucun créneau encore passé ; EN_COURS ; SUSPENDUE : solde "
    "prépayé insuffisant à un créneau (reprise au créneau suivant une recharge) ; TERMINEE ; "
    "ANNULEE.",
}

ACCEPTE_MULDESP: schemas.Schema = {
    "type": "object",
    "required": ["ref", "type", "statut", "dateDebut", "dateFin", "nbDestinataires",
                 "doublonsIgnores"],
    "properties": {
        "ref": schemas.REF,
        "type": {"type": "string", "enum": ["MULDESP"]},
        "statut": schemas.STATUT,
        "dateDebut": _DATE,
        "dateFin": _DATE,
        "nbParJour": {"type": "integer"},
        "intervalleMinutes": {"type": "integer"},
        "etatCampagne": ETAT_CAMPAGNE,
        "nbDestinataires": {"type": "integer", "minimum": 0},
        "doublonsIgnores": {"type": "integer", "minimum": 0},
        "segments": {"type": "integer", "minimum": 1},
        "encodage": {"type": "string"},
        "avertissements": {"type": "array", "items": {"type": "string"}},
    },
    "example": {"ref": "000245", "type": "MULDESP", "statut": "EN_ATTENTE",
                "dateDebut": "2025-10-10", "dateFin": "2025-10-15", "nbParJour": 100,
                "intervalleMinutes": 15, "etatCampagne": "PLANIFIEE", "nbDestinataires": 2,
                "doublonsIgnores": 0, "segments": 1, "encodage": "GSM7"},
}

CRENEAU: schemas.Schema = {
    "type": "object",
    "required": ["heure", "heureLocale", "nombre", "etat"],
    "properties": {
        "heure": {"type": "string", "format": "date-time", "description": "UTC."},
        "heureLocale": {"type": "string", "description": "Dans le fuseau de la campagne."},
        "nombre": {"type": "integer", "minimum": 0, "description": "Destinataires prévus."},
        "etat": {"type": "string", "enum": ["EFFECTUE", "PREVU"]},
        "lances": {"type": "integer", "minimum": 0,
                   "description": "Créneau effectué : destinataires effectivement lancés."},
    },
}

PLAN: schemas.Schema = {
    "type": "object",
    "required": ["ref", "etatCampagne", "dateDebut", "dateFin", "nbParJour", "intervalleMinutes",
                 "fuseauHoraire", "fenetre", "creneaux", "nbCreneauxPrevus", "tronque",
                 "nbNonPlanifies"],
    "properties": {
        "ref": schemas.REF,
        "etatCampagne": ETAT_CAMPAGNE,
        "dateDebut": _DATE,
        "dateFin": _DATE,
        "nbParJour": {"type": "integer"},
        "intervalleMinutes": {"type": "integer"},
        "fuseauHoraire": {"type": "string", "example": "Africa/Libreville"},
        "fenetre": {"type": "object", "properties": {"debut": {"type": "string"},
                                                     "fin": {"type": "string"}}},
        "creneaux": {"type": "array", "items": CRENEAU},
        "nbCreneauxPrevus": {"type": "integer", "minimum": 0},
        "tronque": {"type": "boolean",
                    "description": f"Plus de {PLAN_LIMIT} créneaux à venir : seuls les premiers "
                    "sont listés."},
        "nbNonPlanifies": {"type": "integer", "minimum": 0,
                           "description": "Destinataires restants qu'aucun créneau à venir ne "
                           "peut porter (ils finiront ECHEC / CAMPAGNE_EXPIREE)."},
    },
}

ANNULATION: schemas.Schema = {
    "type": "object",
    "required": ["ref", "annules"],
    "properties": {
        "ref": schemas.REF,
        "etatCampagne": {**ETAT_CAMPAGNE, "description": "MULDESP : l'état de la campagne."},
        "annules": {"type": "integer", "minimum": 0,
                    "description": "Destinataires passés en ECHEC / ANNULE."},
        "compteurs": schemas.COMPTEURS,
    },
}


def _muldesp_body(s: Settings) -> schemas.Schema:
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
        202: Answer("Campagne enregistrée.", ACCEPTE_MULDESP),
        409: Answer("La clé d'idempotence a déjà servi avec un autre corps (IDEMPOTENCE_CONFLIT)."),
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
    responses={200: Answer("Le calendrier.", PLAN)},
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
    "Annuler une campagne ou un envoi différé",
    tag="Envois",
    description="Annule une campagne MULDESP en cours ou planifiée : les destinataires pas "
    "encore lancés passent ECHEC / ANNULE et rien de plus n'est facturé ; ceux déjà remis à "
    "la file du SMSC finissent normalement. Annule aussi un envoi différé (dateEnvoi) avant "
    "son heure : chaque destinataire passe ECHEC / ANNULE et ses crédits réservés sont "
    "libérés. 409 CAMPAGNE_TERMINEE si la campagne est déjà terminée ou annulée, 409 "
    "NON_ANNULABLE pour un envoi UNIDES ou MULDES déjà parti ou sans dateEnvoi.",
    responses={
        200: Answer("Envoi annulé.", ANNULATION),
        409: Answer("Campagne déjà terminée (CAMPAGNE_TERMINEE) ou envoi parti ou non "
                    "différé (NON_ANNULABLE)."),
    },
    security=Security.CLE_API,
)
async def cancel(ref: str) -> Response:
    account_id = await client_account()
    parsed = _ref(ref)
    gw = gateway()
    kind, count = await gw.cancel_send(account_id, parsed)
    view = await gw.send_view(account_id, parsed)
    body = views.send(view)
    answer = {"ref": body["ref"], "annules": count, "compteurs": body["compteurs"]}
    if kind == "MULDESP":
        answer["etatCampagne"] = body.get("etatCampagne", "ANNULEE")
    return jsonify_status(answer, 200)


__all__ = ["ACCEPTE_MULDESP", "ANNULATION", "MULDESP_SCHEMA", "PLAN", "bp", "muldesp"]
