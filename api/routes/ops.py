"""Health and operator views."""

from __future__ import annotations

from quart import Blueprint, Response

from api.http import jsonify_status
from api.deps import gateway, require_admin

bp = Blueprint("ops", __name__)


@bp.get("/api/V1/sante")
async def health() -> Response:
    body = gateway().health()
    return jsonify_status(body, 200 if body["statut"] == "OK" else 503)


@bp.get("/api/V1/admin/acteurs")
async def actors() -> Response:
    require_admin()
    return jsonify_status(gateway().actors(), 200)
