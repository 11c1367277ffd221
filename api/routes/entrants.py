"""Inbound messages (MO, contract section 13): an account's list,
GET /api/V1/sms/entrants, and the operators' list of MO to no known number,
GET /api/V1/admin/entrants. Newest first; `curseur` is the `curseurSuivant` of the
page before (an id: the next page holds older messages)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from api.deps import client_account, gateway, require_admin
from api.http import jsonify_status, valid_query
from api.models import answers
from api.models.requests import IdCursor, Limite
from api.openapi import Answer, Param, Security, operation
from engine.model import InboundView

bp = Blueprint("entrants", __name__, url_prefix="/api/V1/sms")
admin_bp = Blueprint("entrants_admin", __name__, url_prefix="/api/V1/admin")

_PAGE = (
    Param("curseur", IdCursor,
          "Le `curseurSuivant` de la page précédente (0 ou absent : les plus récents)."),
    Param("limite", Limite, "Nombre d'éléments par page (100 par défaut)."),
)


def _item(m: InboundView) -> dict[str, Any]:
    return {
        "id": m.id,
        "emetteur": m.emetteur,
        "destinataire": m.destinataire,
        "corps": m.corps,
        "recuLe": m.recu_le,
        "smsc": m.smsc,
    }


def _answer(page: list[InboundView], limit: int) -> Response:
    following = str(page[-1].id) if len(page) == limit else None
    return jsonify_status(
        {"entrants": [_item(m) for m in page], "curseurSuivant": following}, 200
    )


@bp.get("/entrants")
@operation(
    "SMS entrants du compte",
    tag="Suivi",
    description="Les SMS reçus des abonnés (MO) sur les numéros et codes courts du compte "
    "(`numerosEntrants`, fixés par l'opérateur), du plus récent au plus ancien. Un SMS "
    "« STOP » inscrit aussi son expéditeur sur la liste d'opposition du compte.",
    params=_PAGE,
    responses={200: Answer("Une page de SMS entrants.", answers.PageEntrants)},
    security=Security.CLE_API,
)
async def list_inbound() -> Response:
    account_id = await client_account()
    query = valid_query()
    limit = query.get("limite", 100)
    page = await gateway().inbound_page(account_id, before=query.get("curseur", 0), limit=limit)
    return _answer(page, limit)


@admin_bp.get("/entrants")
@operation(
    "SMS entrants sans destinataire connu",
    tag="Administration",
    description="Les SMS reçus des abonnés (MO) adressés à un numéro ou code court qu'aucun "
    "compte ne possède, du plus récent au plus ancien.",
    params=_PAGE,
    responses={200: Answer("Une page de SMS entrants.", answers.PageEntrants)},
    security=Security.ADMIN,
)
async def list_unclaimed() -> Response:
    require_admin()
    query = valid_query()
    limit = query.get("limite", 100)
    page = await gateway().unclaimed_page(before=query.get("curseur", 0), limit=limit)
    return _answer(page, limit)
