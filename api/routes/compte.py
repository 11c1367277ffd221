"""The client's own account: /api/V1/compte (contract section 5)."""

from __future__ import annotations

from quart import Blueprint, Response

from api import views
from api.deps import client_account, gateway
from api.http import jsonify_status
from api.models import answers
from api.openapi import Answer, Security, operation

bp = Blueprint("compte", __name__, url_prefix="/api/V1/compte")


@bp.get("")
@operation(
    "Mon compte",
    tag="Compte",
    description="Type, solde disponible, crédits réservés, consommation et dû (postpayé), "
    "expiration de la clé API, débit.",
    responses={200: Answer("Le compte.", answers.Compte),
               503: Answer("Compte momentanément indisponible (COMPTE_INDISPONIBLE).")},
    security=Security.CLE_API,
)
async def get_account() -> Response:
    account_id = await client_account()
    view = await gateway().account(account_id)
    return jsonify_status(views.account(view), 200)


@bp.post("/cle")
@operation(
    "Régénérer ma clé API",
    tag="Compte",
    description="La nouvelle clé est montrée une seule fois ; l'ancienne est révoquée "
    "immédiatement. Le secret des rappels (empreinte SHA-256 de la clé) change avec elle.",
    responses={201: Answer("La nouvelle clé.", answers.NouvelleCle)},
    security=Security.CLE_API,
)
async def regenerate_key() -> Response:
    account_id = await client_account()
    new = await gateway().regenerate_key(account_id)
    return jsonify_status({"cleApi": views.key(new)}, 201)
