"""A send's recipients as a CSV file, from the client space:
GET /espace/envois/{ref}/export.csv.

The same file as the API's CSV (`api/exports.py`, contract section 10), streamed.
Scoped to the session's account: a ref of another account is 404 like an unknown one.
"""

from __future__ import annotations

from quart import Blueprint, Response, session

from api.errors import ApiError
from api.exports import send_csv
from api.openapi import Answer, Security, operation
from api.routes.espace import SECURITY_HEADERS, session_state
from engine.model import AccountId, parse_ref

bp = Blueprint("espace_exports", __name__, url_prefix="/espace/envois")


@bp.get("/<ref>/export.csv")
@operation(
    "Exporter les destinataires d'un envoi (espace client)",
    tag="Pages",
    description="Tous les destinataires de l'envoi en CSV (colonnes de GET "
    "/api/V1/sms/{ref}/messages?format=csv), ligne d'en-tête d'abord, en flux.",
    responses={200: Answer("Le fichier.", None, media_type="text/csv"),
               401: Answer("Sans session client."),
               404: Answer("Aucun envoi du compte ne porte cette référence (REF_INCONNUE).")},
    security=Security.SESSION,
)
async def export(ref: str) -> Response:
    state = await session_state("client")
    if state != "ok":
        raise ApiError(401, "NON_CONNECTE" if state == "absente" else "SESSION_EXPIREE",
                       "Connectez-vous à votre espace client.")
    account_id = AccountId(int(session["compte"]))
    parsed = parse_ref(ref)
    if parsed is None:
        raise ApiError(404, "REF_INCONNUE", "Aucun envoi de votre compte ne porte cette référence.")
    response = await send_csv(account_id, parsed)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
