"""Administration: /api/V1/admin/* behind the admin bearer token."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from api import schemas, views
from api.http import json_body, jsonify_status
from api.deps import gateway, require_admin
from api.errors import ApiError
from engine.types import AccountId, AccountType

bp = Blueprint("admin", __name__, url_prefix="/api/V1/admin")


@bp.before_request
async def _admin_only() -> None:
    require_admin()


def _check(schema: schemas.Schema, body: Any) -> None:
    details = schemas.validate(schema, body)
    if details:
        raise ApiError(422, "VALIDATION", "La requête contient des champs invalides.", details)


@bp.post("/comptes")
async def create_account() -> Response:
    body = await json_body()
    _check(schemas.CREATE_ACCOUNT, body)
    account_id, key = await gateway().create_account(
        nom=body["nom"],
        type=AccountType(body["type"]),
        solde=body.get("solde") or 0,
        email=body.get("email"),
        mot_de_passe=body.get("motDePasse"),
        debit_max=float(body.get("debitMax") or 100),
    )
    view = await gateway().account(account_id)
    answer = views.account(view)
    answer["cleApi"] = views.key(key)
    return jsonify_status(answer, 201)


@bp.get("/comptes")
async def list_accounts() -> Response:
    try:
        after = int(request.args.get("curseur", "0"))
        limit = min(max(int(request.args.get("limite", "100")), 1), 1000)
    except ValueError:
        raise ApiError(422, "VALIDATION", "Paramètres de pagination invalides.",
                       [{"champ": "curseur", "message": "Doit être un entier."}]) from None
    rows = await gateway().accounts(after, limit)
    return jsonify_status(
        {
            "comptes": [views.account_row(r) for r in rows],
            "curseurSuivant": str(rows[-1].id) if len(rows) == limit else None,
        },
        200,
    )


@bp.get("/comptes/<int:account_id>")
async def get_account(account_id: int) -> Response:
    view = await gateway().account(AccountId(account_id))
    return jsonify_status(views.account(view), 200)


@bp.post("/comptes/<int:account_id>/credit")
async def credit(account_id: int) -> Response:
    body = await json_body()
    _check(schemas.CREDIT, body)
    solde = await gateway().top_up(AccountId(account_id), body["montant"])
    return jsonify_status({"id": account_id, "solde": solde}, 200)
