"""Sending and tracking: /api/V1/sms (contract sections 2 and 4)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from quart import Blueprint, Response, request

from api import schemas, views
from api.http import json_body, jsonify_status
from api.deps import client_account, gateway, settings
from api.errors import ApiError
from engine.accounts.commands import Idempotency
from engine.types import SendType, parse_ref

bp = Blueprint("sms", __name__, url_prefix="/api/V1/sms")


def _check(schema: schemas.Schema, body: Any) -> None:
    details = schemas.validate(schema, body)
    if details:
        raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.", details)


def _idempotency(body: Any) -> Idempotency | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > 128:
        raise ApiError(
            422,
            "VALIDATION",
            "La requête contient des champs invalides.",
            [{"champ": "Idempotency-Key", "message": "Doit contenir 1 à 128 caractères."}],
        )
    digest = hashlib.sha256(
        (request.path + json.dumps(body, sort_keys=True, ensure_ascii=False)).encode()
    ).hexdigest()
    return Idempotency(key, digest)


async def _send(kind: SendType, body: dict[str, Any], numbers: list[str]) -> Response:
    account_id = await client_account()
    idem = _idempotency(body)
    gw = gateway()
    draft = gw.prepare(kind, body["emetteur"], numbers, body["corps"])
    result = await gw.submit(account_id, draft, idem)
    return jsonify_status(views.accepted(result), 202)


@bp.post("/unides")
async def unides() -> Response:
    body = await json_body()
    await client_account()
    _check(schemas.UNIDES, body)
    return await _send(SendType.UNIDES, body, [body["destinataire"]])


@bp.post("/muldes")
async def muldes() -> Response:
    body = await json_body()
    await client_account()
    limit = settings().gateway.max_recipients
    if isinstance(body, dict) and isinstance(body.get("numeros"), list) and len(body["numeros"]) > limit:
        raise ApiError(
            413,
            "TROP_DE_DESTINATAIRES",
            f"Un envoi accepte au plus {limit} numéros (reçu : {len(body['numeros'])}).",
        )
    _check(schemas.muldes(limit), body)
    return await _send(SendType.MULDES, body, body["numeros"])


@bp.get("/<ref>")
async def get_send(ref: str) -> Response:
    account_id = await client_account()
    parsed = parse_ref(ref)
    if parsed is None:
        raise ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")
    view = await gateway().send_view(account_id, parsed)
    return jsonify_status(views.send(view), 200)
