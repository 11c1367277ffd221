"""The client's own account: /api/V1/compte (contract section 5)."""

from __future__ import annotations

from quart import Blueprint, Response

from api import views
from api.http import jsonify_status
from api.deps import client_account, gateway

bp = Blueprint("compte", __name__, url_prefix="/api/V1/compte")


@bp.get("")
async def get_account() -> Response:
    account_id = await client_account()
    view = await gateway().account(account_id)
    return jsonify_status(views.account(view), 200)


@bp.post("/cle")
async def regenerate_key() -> Response:
    account_id = await client_account()
    new = await gateway().regenerate_key(account_id)
    return jsonify_status({"cleApi": views.key(new)}, 201)
