"""Sending and tracking: /api/V1/sms (contract sections 2 and 4).

Every route is declared with `@operation`: its body and query definitions both
validate the request (`valid_body`, `valid_query`) and appear in the OpenAPI
document. The caller is authenticated before its body is judged, so a wrong
key answers 401 whatever the body.

UNIDES and MULDES are the gateway's hot path. `accept_send` holds their whole
decision (authentication, validation against the routes' `@operation` bodies,
idempotency, submission, metrics) and is shared by two front doors: the Quart
views below and `serve_send`, a lean ASGI handler that `create_app` puts in
front of Quart for exactly `POST /api/V1/sms/unides` and `/muldes`. Both give
the same answers, errors included (the contract's envelope, same order of
checks); the lean one skips Quart's request context, routing and response
objects, which cost a third of a single send's time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time as timer
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quart import Blueprint, Response, current_app, request

from api import schemas, views
from api.deps import client_account, gateway, settings
from api.errors import HTTP_MESSAGES, ApiError, refusal
from api.http import (
    VALIDATION_MESSAGE,
    check,
    check_json_type,
    decode_json,
    json_body,
    jsonify_status,
    valid_query,
)
from api.openapi import Answer, Param, Security, operation, operation_of, resolve
from api.ratelimit import KeyRateLimiter
from api.routes.metrics import Metrics
from config.settings import Settings
from engine import keys
from engine.accounts.commands import Idempotency
from engine.clock import iso
from engine.errors import GatewayError
from engine.gateway import Gateway
from engine.types import SendType, format_ref, parse_ref

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/api/V1/sms")

IDEMPOTENCY = Param(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 128},
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
    409: Answer("La clé d'idempotence a déjà servi avec un autre corps (IDEMPOTENCE_CONFLIT)."),
    503: Answer(
        "La passerelle a trop de messages en attente (SURCHARGE) : réessayez après Retry-After.",
        headers={"Retry-After": "Secondes à attendre."},
    ),
}


def _unknown_ref() -> ApiError:
    return ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")


def _idempotency(body: Any) -> Idempotency | None:
    return idempotency_of(request.headers.get("Idempotency-Key"), request.path, body)


def idempotency_of(key: str | None, path: str, body: Any) -> Idempotency | None:
    """The Idempotency-Key header with the digest of the request it came with
    (path and body), or 422 when the key is empty or too long."""
    if key is None:
        return None
    if not key or len(key) > 128:
        raise ApiError(
            422,
            "VALIDATION",
            VALIDATION_MESSAGE,
            [{"champ": "Idempotency-Key", "message": "Doit contenir 1 à 128 caractères."}],
        )
    digest = hashlib.sha256(
        (path + json.dumps(body, sort_keys=True, ensure_ascii=False)).encode()
    ).hexdigest()
    return Idempotency(key, digest)


@dataclass(frozen=True, slots=True)
class SendDoor:
    """What accepting a send needs, taken from the application once: the facade,
    the settings, the request metrics, the per-key rate limiter and the request
    bodies of the UNIDES and MULDES routes (their `@operation` records)."""

    gateway: Gateway
    settings: Settings
    metrics: Metrics
    limiter: KeyRateLimiter
    bodies: dict[SendType, schemas.Schema]

    @classmethod
    def build(
        cls, gw: Gateway, config: Settings, metrics: Metrics, limiter: KeyRateLimiter
    ) -> SendDoor:
        bodies = {}
        for kind, view in ((SendType.UNIDES, unides), (SendType.MULDES, muldes)):
            record = operation_of(view, "POST")
            assert record is not None
            body = resolve(record.body, config)
            assert body is not None
            bodies[kind] = body
        return cls(gw, config, metrics, limiter, bodies)


async def accept_send(
    door: SendDoor,
    kind: SendType,
    body: Any,
    *,
    path: str,
    api_key: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Accept a UNIDES or MULDES whose body was read as JSON: the 202 body, or
    ApiError / GatewayError. Checks, in order: the key (401), the number of
    recipients (413), the body (422), the Idempotency-Key (422), the sender
    (422); then the account's actor decides (reservation, 409 on a reused key)."""
    gw = door.gateway
    account_id = await gw.authenticate(api_key)
    if kind is SendType.MULDES:
        limit = door.settings.gateway.max_recipients
        numbers = body.get("numeros") if isinstance(body, dict) else None
        if isinstance(numbers, list) and len(numbers) > limit:
            raise ApiError(
                413,
                "TROP_DE_DESTINATAIRES",
                f"Un envoi accepte au plus {limit} numéros (reçu : {len(numbers)}).",
            )
    check(door.bodies[kind], body)
    idem = idempotency_of(idempotency_key, path, body)
    numbers = [body["destinataire"]] if kind is SendType.UNIDES else body["numeros"]
    draft = gw.prepare(kind, body["emetteur"], numbers, body["corps"])
    result = await gw.submit(account_id, draft, idem)
    if not result.replayed:
        door.metrics.count_accepted(result)
    return views.accepted(result)


def _door() -> SendDoor:
    return current_app.extensions["send_door"]  # type: ignore[no-any-return]


@bp.post("/unides")
@operation(
    "Envoi unitaire (UNIDES)",
    tag="Envois",
    description="Envoie un message à un seul destinataire. " + _ACCEPTED_NOTE,
    body=schemas.UNIDES,
    headers=(IDEMPOTENCY,),
    responses={202: Answer("Envoi enregistré.", schemas.ACCEPTE_UNIDES), **_SEND_ERRORS},
    security=Security.CLE_API,
)
async def unides() -> Response:
    return await _quart_send(SendType.UNIDES)


def _muldes_body(s: Any) -> schemas.Schema:
    return schemas.muldes(s.gateway.max_recipients)


@bp.post("/muldes")
@operation(
    "Envoi multiple (MULDES)",
    tag="Envois",
    description="Envoie le même message à plusieurs destinataires (`numeros`). Les doublons "
    "après normalisation E.164 ne partent qu'une fois (`doublonsIgnores`). Au-delà du nombre "
    "maximal de numéros (100 000 par défaut) : 413 TROP_DE_DESTINATAIRES. " + _ACCEPTED_NOTE,
    body=_muldes_body,
    headers=(IDEMPOTENCY,),
    responses={202: Answer("Envoi enregistré.", schemas.ACCEPTE_MULDES), **_SEND_ERRORS},
    security=Security.CLE_API,
)
async def muldes() -> Response:
    return await _quart_send(SendType.MULDES)


async def _quart_send(kind: SendType) -> Response:
    body = await json_body()
    accepted = await accept_send(
        _door(),
        kind,
        body,
        path=request.path,
        api_key=request.headers.get("X-API-Key"),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return jsonify_status(accepted, 202)


# -- the lean front door (ASGI) -------------------------------------------------------------

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]

LEAN_ROUTES: dict[str, SendType] = {
    "/api/V1/sms/unides": SendType.UNIDES,
    "/api/V1/sms/muldes": SendType.MULDES,
}
"""Paths `serve_send` answers for POST; everything else goes to Quart."""


class _ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def serve_send(
    door: SendDoor, kind: SendType, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend
) -> None:
    """Answer one POST of UNIDES or MULDES straight from ASGI, as the Quart view
    and the application's hooks would: per-key rate limit (429), JSON content
    type (415), body size (413, connection closed), JSON (400), then
    `accept_send`; request metrics counted under the route's path."""
    started = timer.perf_counter()
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)
    extra: dict[str, str] = {}
    try:
        api_key = _header(headers, b"x-api-key")
        if api_key:
            wait_s = door.limiter.take(keys.hash_api_key(api_key))
            if wait_s:
                code, message = HTTP_MESSAGES[429]
                raise ApiError(
                    429, code, message,
                    headers={"Retry-After": str(door.limiter.retry_after_s(wait_s))},
                )
        content_type = _header(headers, b"content-type") or ""
        check_json_type(content_type.split(";", 1)[0].strip().lower())
        raw = await _read_body(receive, headers, door.settings.http.max_body_bytes)
        status, payload = 202, await accept_send(
            door,
            kind,
            decode_json(raw),
            path=scope["path"],
            api_key=api_key,
            idempotency_key=_header(headers, b"idempotency-key"),
        )
    except _ClientGone:
        return
    except (ApiError, GatewayError) as caught:
        exc = caught if isinstance(caught, ApiError) else refusal(caught)
        status, payload = exc.status, _envelope(exc.code, exc.message, exc.details)
        extra = exc.headers
    except Exception:
        log.exception("unhandled error on POST %s", scope["path"])
        code, message = HTTP_MESSAGES[500]
        status, payload = 500, _envelope(code, message, [])
    data = (json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    response_headers.extend((k.lower().encode(), v.encode("latin-1")) for k, v in extra.items())
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": data})
    door.metrics.request_done(scope["path"], "POST", status, timer.perf_counter() - started)


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _envelope(code: str, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"erreur": {"code": code, "message": message, "details": details}}


async def _read_body(receive: ASGIReceive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The whole request body; 413 (the connection then closes, the rest of the
    body unread) when it is, or announces to be, over `limit` bytes."""
    code, message = HTTP_MESSAGES[413]
    too_large = ApiError(413, code, message, headers={"Connection": "close"})
    announced = headers.get(b"content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message_in = await receive()
        if message_in["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message_in.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message_in.get("more_body", False):
            return b"".join(chunks)


_STATUT_PARAM = Param("statut", schemas.STATUT, "Ne garder que ce statut.")
_LIMITE = Param(
    "limite", schemas.LIMITE, "Nombre d'éléments par page (1 à 1000, 100 par défaut)."
)
_CURSEUR = Param("curseur", schemas.CURSEUR, "Le `curseurSuivant` de la page précédente.")


def _cursor(text: str | None, prefix: str) -> int | None:
    """Decode an opaque cursor (base64url of `prefix` + a number); 422 if foreign."""
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw.startswith(prefix) or not raw[len(prefix):].isdigit() or len(raw) > 24:
        raise ApiError(
            422, "VALIDATION", VALIDATION_MESSAGE,
            [{"champ": "curseur",
              "message": "Curseur inconnu : reprenez la valeur `curseurSuivant` reçue."}],
        )
    return int(raw[len(prefix):])


def _encode_cursor(prefix: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}{value}".encode()).decode().rstrip("=")


@bp.get("")
@operation(
    "Liste des envois du compte",
    tag="Suivi",
    description="Les envois du compte, du plus récent au plus ancien, avec leur statut agrégé "
    "et leurs compteurs. Filtres : `type`, `statut` (agrégé), `depuis` (inclus) et `jusqua` "
    "(inclus pour une date AAAA-MM-JJ, exclu pour une date-heure). Pagination par curseur.",
    params=(
        Param("type", schemas.TYPE_ENVOI, "Ne garder que ce type d'envoi."),
        _STATUT_PARAM,
        Param("depuis", schemas.DATE_OU_INSTANT, "Début de la période (création de l'envoi)."),
        Param("jusqua", schemas.DATE_OU_INSTANT, "Fin de la période."),
        _CURSEUR,
        _LIMITE,
    ),
    responses={200: Answer("Une page d'envois.", schemas.PAGE_ENVOIS)},
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
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=zone)
        return iso(when)
    except (ValueError, OverflowError):
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
    responses={200: Answer("L'envoi.", schemas.ENVOI)},
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
    params=(_STATUT_PARAM, _CURSEUR, _LIMITE),
    responses={200: Answer("Une page de destinataires.", schemas.PAGE_MESSAGES)},
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

