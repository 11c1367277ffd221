"""Request and response helpers shared by the routes."""

from __future__ import annotations

import json
from typing import Any

from quart import Response, jsonify, request

from api.errors import HTTP_MESSAGES, ApiError


async def json_body() -> Any:
    """The request's JSON body, or 400 JSON_INVALIDE / 415 / 413."""
    content_type = request.mimetype
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        code, message = HTTP_MESSAGES[415]
        raise ApiError(415, code, message)
    raw = await request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(
            400,
            "JSON_INVALIDE",
            "Le corps de la requête n'est pas un JSON valide (UTF-8).",
            [{"champ": "corps de la requête", "message": str(exc)[:200]}],
        ) from None


def jsonify_status(payload: Any, status: int) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response
