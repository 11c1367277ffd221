"""A send's recipients as a CSV file, from the client space:
GET /espace/envois/{ref}/export.csv.

The columns are those of the API's CSV (contract section 10):
`destinataire,statut,raison,codeSmsc,envoyeLe,livraison,livreLe,reference,smsc`,
a header row first. The file is streamed: the recipients are read a page at a
time (`EXPORT_PAGE` per read), so a send of any size costs the same memory; a
client that goes away cancels the stream. Scoped to the session's account: a
ref of another account is 404 like an unknown one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable

from quart import Blueprint, Response, session

from api.deps import gateway
from api.errors import ApiError
from api.openapi import Answer, Security, operation
from api.routes.espace import SECURITY_HEADERS, session_state
from engine.model import AccountId, MessageView, SendRef, format_ref, parse_ref

bp = Blueprint("espace_exports", __name__, url_prefix="/espace/envois")

COLUMNS = ("destinataire", "statut", "raison", "codeSmsc", "envoyeLe", "livraison", "livreLe",
           "reference", "smsc")
EXPORT_PAGE = 1000


def csv_lines(rows: Iterable[tuple[object, ...]]) -> str:
    """Rows as CSV text (RFC 4180: CRLF, quotes where needed)."""
    out = io.StringIO()
    csv.writer(out).writerows(("" if v is None else v for v in row) for row in rows)
    return out.getvalue()


def _row(m: MessageView) -> tuple[object, ...]:
    # reference and smsc: the columns the contract adds; empty while the send
    # carries no client reference and the gateway has a single SMSC
    return (m.destinataire, m.statut, m.raison, m.code_smsc, m.envoye_le, m.livraison,
            m.livre_le, None, None)


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
    gw = gateway()
    first = await gw.messages_page(account_id, parsed, statut=None, after=0, limit=EXPORT_PAGE)

    async def lines() -> AsyncIterator[bytes]:
        yield csv_lines([COLUMNS]).encode()
        page: list[MessageView] = first
        while page:
            yield csv_lines(_row(m) for m in page).encode()
            if len(page) < EXPORT_PAGE:
                return
            page = await gw.messages_page(account_id, SendRef(parsed), statut=None,
                                          after=page[-1].id, limit=EXPORT_PAGE)

    response = Response(lines(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="envoi-{format_ref(parsed)}.csv"'
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.timeout = None
    return response
