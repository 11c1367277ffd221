"""Health and operator views."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import trio
from quart import Blueprint, Response

from api.deps import gateway, require_admin
from api.http import jsonify_status
from api.models import answers
from api.openapi import Answer, Security, operation
from api.shapes import record_schema
from engine.gateway import OperatorSnapshot

bp = Blueprint("ops", __name__)

ACTEURS = record_schema(OperatorSnapshot)
"""The actors snapshot's schema, written from the engine's typed record."""


@bp.get("/api/V1/sante")
@operation(
    "Santé de la passerelle",
    tag="Exploitation",
    description="Liaisons SMSC établies et stockage accessible en écriture.",
    responses={200: Answer("Tout fonctionne.", answers.Sante),
               503: Answer("Fonctionnement dégradé.", answers.Sante)},
)
async def health() -> Response:
    body = gateway().health()
    return jsonify_status(body, 200 if body["statut"] == "OK" else 503)


@bp.get("/api/V1/admin/acteurs")
@operation(
    "Instantané des acteurs",
    tag="Exploitation",
    description="Comptes, répartiteur, liaisons SMPP, stockage, accusés, rappels de statut, "
    "campagnes, et le processus : `processus.collecteur` donne les seuils du collecteur de "
    "cycles de Python (`seuils`), ses passages par génération (`passages`), les objets en "
    "cycle libérés (`trouves`) et les objets gelés au démarrage (`geles`).",
    responses={200: Answer("L'instantané.", ACTEURS)},
    security=Security.ADMIN,
)
async def actors() -> Response:
    require_admin()
    return jsonify_status(gateway().actors(), 200)


FLUX_PERIOD_S = 1.0


@bp.get("/api/V1/admin/acteurs/flux")
@operation(
    "Flux des acteurs (Server-Sent Events)",
    tag="Exploitation",
    description="L'instantané de /api/V1/admin/acteurs, une fois par seconde "
    "(`event: acteurs`), jusqu'à l'arrêt de la passerelle (`event: fin`).",
    responses={200: Answer("Le flux.", None, media_type="text/event-stream")},
    security=Security.ADMIN,
)
async def actors_stream() -> Response:
    """The snapshot of `/api/V1/admin/acteurs` as Server-Sent Events (`event: acteurs`),
    one a second. The stream ends when the client goes away (hypercorn cancels the
    generator) or when the gateway starts shutting down (`event: fin`)."""
    require_admin()
    gw = gateway()

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        while not gw.stopping.is_set():
            data = json.dumps(gw.actors(), ensure_ascii=False, separators=(",", ":"))
            yield f"event: acteurs\ndata: {data}\n\n".encode()
            with trio.move_on_after(FLUX_PERIOD_S):
                await gw.stopping.wait()
        yield b"event: fin\ndata: {}\n\n"

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response
