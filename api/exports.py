"""A send's recipients as CSV (contract section 10), for the API
(`GET /api/V1/sms/{ref}/messages?format=csv`) and the client space
(`GET /espace/envois/{ref}/export.csv`).

A header row, then one row per recipient in the order of the send. The file is
streamed: the recipients are read `PAGE` at a time, so a send of any size costs
the same memory; a client that goes away cancels the stream. The caller has
checked the account; a ref of another account reads as an unknown one (404).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable

from quart import Response

from api.deps import gateway
from engine.model import AccountId, MessageView, SendRef, format_ref

COLUMNS = (
    "destinataire", "statut", "raison", "codeSmsc", "envoyeLe", "livraison", "livreLe",
    "reference", "smsc",
)
PAGE = 2000


def csv_rows(rows: Iterable[Iterable[object]]) -> bytes:
    """Rows as CSV (RFC 4180: CRLF line ends, quotes where needed, None empty)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(
        ("" if v is None else v for v in row) for row in rows
    )
    return out.getvalue().encode()


def row(m: MessageView) -> tuple[object, ...]:
    return (m.destinataire, m.statut, m.raison, m.code_smsc, m.envoye_le, m.livraison,
            m.livre_le, m.reference, m.smsc)


async def send_csv(account_id: AccountId, ref: SendRef, statut: str | None = None) -> Response:
    """Every recipient of the send (of status `statut`, or all) as a CSV download.
    The first page is read before answering, so an unknown ref is a 404."""
    gw = gateway()
    first = await gw.messages_page(account_id, ref, statut=statut, after=0, limit=PAGE)

    async def lines() -> AsyncIterator[bytes]:
        yield csv_rows([COLUMNS])
        page = first
        while page:
            yield csv_rows(row(m) for m in page)
            if len(page) < PAGE:
                return
            page = await gw.messages_page(account_id, ref, statut=statut, after=page[-1].id,
                                          limit=PAGE)

    response = Response(
        lines(),
        status=200,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="envoi-{format_ref(ref)}.csv"'},
    )
    response.timeout = None
    return response
