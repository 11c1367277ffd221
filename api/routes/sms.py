"""Sending and tracking: /api/V1/sms (contract sections 2 and 4).

Every route is declared with `@operation`: its body and query definitions both
validate the request (`valid_body`, `valid_query`) and appear in the OpenAPI
document. The caller is authenticated before its body is judged, so a wrong
key answers 401 whatever the body.

UNIDES and MULDES are accepted by the send intake (api/intake.py), the pipeline
every send door runs; their views below only read the JSON body and the
caller's headers. In production the lean ASGI door (api/lean.py) answers those
two POSTs before Quart, with the same answers; these views serve them when Quart
dispatches alone.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, request

from api import views
from api.deps import client_account, gateway, send_intake, settings
from api.errors import ApiError
from api.http import VALIDATION_MESSAGE, json_body, jsonify_status, valid_query
from api.intake import ACCEPTED, ApiKey, SendRequest
from api.models import answers
from api.models.requests import (
    DateOuInstant,
    IdempotencyKey,
    Limite,
    Statut,
    TypeEnvoi,
    Unides,
    cursor,
    cursor_pattern,
)
from api.models.requests import (
    muldes as muldes_body,
)
from api.openapi import Answer, Param, Security, operation
from engine.model import SendType, format_ref, iso, parse_ref

bp = Blueprint("sms", __name__, url_prefix="/api/V1/sms")

IDEMPOTENCY = Param(
    "Idempotency-Key",
    IdempotencyKey,
    "Même clé et même corps dans les 24 h : la première réponse est renvoyée et rien "
    "n'est envoyé de nouveau. Même clé, autre corps : 409 IDEMPOTENCE_CONFLIT.",
)
_ACCEPTED_NOTE = (
    "Répond 202 dès que l'envoi est enregistré (et, en prépayé, les crédits réservés). "
    "Un numéro invalide ne rejette pas la requête : ce destinataire est enregistré ECHEC / "
    "NUMERO_INVALIDE et n'est pas facturé. Si le solde ne couvre pas tous les destinataires, "
    "aucun n'est envoyé et la réponse dit `statut: ECHEC` (SOLDE_INSUFFISANT). "
    "Ordre : les messages d'un compte partent vers le SMSC dans l'ordre où ils ont été "
    "acceptés (les envois unitaires passent devant les envois multiples du même compte) ; "
    "quand le SMSC refuse un message pour dépassement de débit, il est renvoyé avant les "
    "suivants. Chaque liaison SMPP envoie ses 500 premiers messages un par un : un SMSC "
    "dont le débit maximal est plus bas que ce rythme se révèle alors, et la liaison reste "
    "un par un sous ce débit, dans l'ordre exact. Un plafond atteint plus tard, fenêtre "
    "ouverte, peut laisser un message déjà en route (au plus une fenêtre SMPP, 200 par "
    "défaut) devancer celui qui a été refusé."
)
_SEND_ERRORS = {
    403: Answer("Compte suspendu (COMPTE_SUSPENDU) : rien n'est réservé ni enregistré."),
    409: Answer("La clé d'idempotence a déjà servi avec un autre corps (IDEMPOTENCE_CONFLIT)."),
    422: Answer(
        "Champs invalides (VALIDATION), ou émetteur hors des émetteurs autorisés du compte "
        "(EMETTEUR_NON_AUTORISE) : rien n'est réservé ni enregistré."
    ),
    503: Answer(
        "La passerelle a trop de messages en attente (SURCHARGE) : réessayez après Retry-After.",
        headers={"Retry-After": "Secondes à attendre."},
    ),
}


def _unknown_ref() -> ApiError:
    return ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")


@bp.post("/unides")
@operation(
    "Envoi unitaire (UNIDES)",
    tag="Envois",
    description="Envoie un message à un seul destinataire. " + _ACCEPTED_NOTE,
    body=Unides,
    headers=(IDEMPOTENCY,),
    responses={202: Answer("Envoi enregistré.", answers.AccepteUnides), **_SEND_ERRORS},
    security=Security.CLE_API,
)
async def unides() -> Response:
    return await _quart_send(SendType.UNIDES)


def _muldes_body(s: Any) -> type[Any]:
    return muldes_body(s.gateway.max_recipients)


@bp.post("/muldes")
@operation(
    "Envoi multiple (MULDES)",
    tag="Envois",
    description="Envoie le même message à plusieurs destinataires (`numeros`). Les doublons "
    "après normalisation E.164 ne partent qu'une fois (`doublonsIgnores`). Au-delà du nombre "
    "maximal de numéros (100 000 par défaut) : 413 TROP_DE_DESTINATAIRES. " + _ACCEPTED_NOTE,
    body=_muldes_body,
    headers=(IDEMPOTENCY,),
    responses={202: Answer("Envoi enregistré.", answers.AccepteMuldes), **_SEND_ERRORS},
    security=Security.CLE_API,
)
async def muldes() -> Response:
    return await _quart_send(SendType.MULDES)


async def _quart_send(kind: SendType) -> Response:
    body = await json_body()
    request_ = SendRequest(
        kind,
        body,
        ApiKey(request.headers.get("X-API-Key")),
        request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return jsonify_status(await send_intake().accept(request_), ACCEPTED)


_STATUT_PARAM = Param("statut", Statut, "Ne garder que ce statut.")
_LIMITE = Param("limite", Limite, "Nombre d'éléments par page (1 à 1000, 100 par défaut).")
_SENDS_CURSOR = re.compile(cursor_pattern("e"))
_MESSAGES_CURSOR = re.compile(cursor_pattern("m"))


def _cursor_param(prefix: str) -> Param:
    return Param("curseur", cursor(prefix), "Le `curseurSuivant` de la page précédente, tel quel.")


def _cursor(text: str | None, prefix: str) -> int | None:
    """Decode a cursor (base64url, unpadded, of `prefix` + 1 to 18 digits); 422 if foreign."""
    if text is None:
        return None
    pattern = _SENDS_CURSOR if prefix == "e" else _MESSAGES_CURSOR
    if not pattern.fullmatch(text):
        raise ApiError(
            422, "VALIDATION", VALIDATION_MESSAGE,
            [{"champ": "curseur",
              "message": "Curseur inconnu : reprenez la valeur `curseurSuivant` reçue."}],
        )
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    return int(raw[len(prefix):])


def _encode_cursor(prefix: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}{value}".encode()).decode().rstrip("=")


@bp.get("")
@operation(
    "Liste des envois du compte",
    tag="Suivi",
    description="Les envois du compte, du plus récent au plus ancien, avec leur statut agrégé "
    "et leurs compteurs. Filtres : `type`, `statut` (agrégé), `depuis` (inclus) et `jusqua` "
    "(inclus pour une date AAAA-MM-JJ, exclu pour une date-heure) ; `jusqua` doit être "
    "postérieur à `depuis` (sinon 422). Pagination par curseur.",
    params=(
        Param("type", TypeEnvoi, "Ne garder que ce type d'envoi."),
        _STATUT_PARAM,
        Param("depuis", DateOuInstant, "Début de la période (création de l'envoi)."),
        Param("jusqua", DateOuInstant, "Fin de la période."),
        _cursor_param("e"),
        _LIMITE,
    ),
    responses={200: Answer("Une page d'envois.", answers.PageEnvois)},
    security=Security.CLE_API,
)
async def list_sends() -> Response:
    account_id = await client_account()
    query = valid_query()
    before = _cursor(query.get("curseur"), "e")
    since = _instant(query.get("depuis"), "depuis", end=False)
    until = _instant(query.get("jusqua"), "jusqua", end=True)
    if since is not None and until is not None and since >= until:
        raise ApiError(
            422, "VALIDATION", VALIDATION_MESSAGE,
            [{"champ": "jusqua", "message": "Doit être postérieur à « depuis »."}],
        )
    limit = query.get("limite", 100)
    page = await gateway().sends_page(
        account_id,
        before=before,
        type=query.get("type"),
        statut=query.get("statut"),
        since=since,
        until=until,
        limit=limit,
    )
    following = _encode_cursor("e", page[-1].ref) if len(page) == limit else None
    return jsonify_status(
        {"envois": [views.send(v) for v in page], "curseurSuivant": following}, 200
    )


_FIRST_INSTANT = "0001-01-01T00:00:00.000Z"
_LAST_INSTANT = "9999-12-31T23:59:59.999Z"


def _instant(text: str | None, champ: str, *, end: bool) -> str | None:
    """A date (a whole day of the gateway's time zone) or a date-time, as the
    UTC ISO text `cree_le` is compared with. A date given as an end bound
    includes its whole day."""
    if text is None:
        return None
    zone = ZoneInfo(settings().gateway.timezone)
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar date
            when = datetime.combine(day + timedelta(days=1 if end else 0), time(), zone)
        else:
            when = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=zone)
        return iso(when)
    except OverflowError:
        # a day at either end of the calendar: the bound is past every send
        return _FIRST_INSTANT if text < "5000" else _LAST_INSTANT
    except ValueError:
        raise ApiError(
            422, "VALIDATION", VALIDATION_MESSAGE,
            [{"champ": champ,
              "message": "Doit être une date AAAA-MM-JJ ou une date-heure ISO 8601."}],
        ) from None


@bp.get("/<ref>")
@operation(
    "Statut d'un envoi",
    tag="Suivi",
    description="Statut agrégé (EN_ATTENTE tant qu'un destinataire attend, puis ENVOYE si au "
    "moins un a été envoyé, sinon ECHEC) et compteurs par statut. La référence d'un autre "
    "compte répond 404.",
    responses={200: Answer("L'envoi.", answers.Envoi)},
    security=Security.CLE_API,
)
async def get_send(ref: str) -> Response:
    account_id = await client_account()
    parsed = parse_ref(ref)
    if parsed is None:
        raise _unknown_ref()
    view = await gateway().send_view(account_id, parsed)
    return jsonify_status(views.send(view), 200)


@bp.get("/<ref>/messages")
@operation(
    "Détail par destinataire",
    tag="Suivi",
    description="Un élément par destinataire, dans l'ordre de la liste envoyée : statut, "
    "raison d'échec, code SMSC, heure d'envoi, accusé de livraison. Le curseur désigne le "
    "dernier message rendu : la pagination reste exacte pendant que les statuts changent "
    "(chaque destinataire apparaît une fois et une seule).",
    params=(_STATUT_PARAM, _cursor_param("m"), _LIMITE),
    responses={200: Answer("Une page de destinataires.", answers.PageMessages)},
    security=Security.CLE_API,
)
async def list_messages(ref: str) -> Response:
    account_id = await client_account()
    query = valid_query()
    parsed = parse_ref(ref)
    if parsed is None:
        raise _unknown_ref()
    after = _cursor(query.get("curseur"), "m") or 0
    limit = query.get("limite", 100)
    page = await gateway().messages_page(
        account_id, parsed, statut=query.get("statut"), after=after, limit=limit
    )
    following = _encode_cursor("m", page[-1].id) if len(page) == limit else None
    return jsonify_status(
        {"ref": format_ref(parsed), "messages": [views.message(m) for m in page],
         "curseurSuivant": following},
        200,
    )

