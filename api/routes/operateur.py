"""The live operator console, /operateur (contract section 6).

An operator logs in with the admin token (form → session with role `operateur`,
same signed cookie and CSRF rules as the client space); a client session is
refused with 403. The page reads `/operateur/flux`, a Server-Sent Events stream
of the gateway's actors (`Gateway.actors()`), the throughput since the previous
event and the embedded simulator's counters, one event a second. A browser
cannot put a bearer token on an EventSource, hence this session-scoped stream
beside the bearer-token API.

Each stream is one task owned by hypercorn's request; it ends by itself after
`STREAM_LIFETIME_S` (event `fin`, the page reopens it at once) so that an expired
session is noticed, when the gateway starts shutting down (event `arret`, the
page shows "reconnexion…" and retries with backoff), and when the client goes away.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import trio
from quart import Blueprint, Response, current_app, redirect, request, session

from api.deps import gateway
from api.errors import ApiError
from api.http import jsonify_status
from api.models import answers
from api.openapi import Answer, Security, operation
from api.routes.espace import (
    FORM_POSTED,
    app_admin_token,
    check_csrf,
    close_session,
    csrf_refusal,
    open_session,
    page,
    refuse_unstorable_form,
    secured,
    session_state,
)
from engine.gateway import Gateway
from engine.model import iso

bp = Blueprint("operateur", __name__, url_prefix="/operateur")

bp.before_request(refuse_unstorable_form)

STREAM_PERIOD_S = 1.0
STREAM_LIFETIME_S = 120.0
RETRY_MS = 1000


def _simulator(simulator: Any) -> dict[str, Any] | None:
    if simulator is None:
        return None
    stats = simulator.statistics()
    return {
        "connexions": stats.connections_current,
        "liaisons": stats.binds_current,
        "soumisAcceptes": stats.submit_accepted,
        "soumisRejetes": sum(stats.submit_rejected.values()),
        "rejetsParCode": stats.submit_rejected,
        "accusesEnvoyes": stats.receipts_sent,
        "accusesAcquittes": stats.receipts_acknowledged,
        "debitSoumis1s": stats.submit_rate_1s,
        "debitAcceptes10s": stats.accepted_rate_10s,
        "latenceP50Ms": stats.submit_latency_p50_ms,
        "latenceP99Ms": stats.submit_latency_p99_ms,
        "bloque": stats.stalled,
    }


def _totals(actors: dict[str, Any]) -> dict[str, int]:
    binds = actors["liaisons"]
    return {
        "ENVOYE": sum(b["accepted"] for b in binds),
        "ECHEC": sum(b["failed"] for b in binds),
        "REESSAI": sum(b["retries"] + b["throttled"] for b in binds),
    }


class Throughput:
    """Messages per second by outcome between two readings of the bind counters."""

    def __init__(self) -> None:
        self._last: tuple[float, dict[str, int]] | None = None

    def rates(self, totals: dict[str, int]) -> dict[str, float]:
        now = trio.current_time()
        last, self._last = self._last, (now, totals)
        if last is None or now <= last[0]:
            return dict.fromkeys(totals, 0.0)
        span = now - last[0]
        return {k: round(max(0, v - last[1].get(k, 0)) / span, 1) for k, v in totals.items()}


def snapshot(gw: Gateway, simulator: Any, throughput: Throughput) -> dict[str, Any]:
    """One event of the stream: every actor, the throughput, the simulator."""
    actors = gw.actors()
    actors["comptes"] = sorted(
        actors["comptes"], key=lambda a: (-(a["in_flight"] + a["mailbox"]), a["account_id"])
    )
    totals = _totals(actors)
    return {
        "horodatage": iso(gw.now()),
        "acteurs": actors,
        "totaux": totals,
        "debit": throughput.rates(totals),
        "simulateur": _simulator(simulator),
        "sante": gw.health(),
    }


async def _operator() -> None:
    state = await session_state("operateur")
    if state == "ok":
        return
    if session.get("role") == "client":
        raise ApiError(403, "RESERVE_OPERATEURS", "Cette console est réservée aux opérateurs.")
    if state == "expiree":
        raise ApiError(401, "SESSION_EXPIREE", "Votre session a expiré : reconnectez-vous.")
    raise ApiError(401, "NON_CONNECTE", "Connectez-vous avec le jeton d'administration.")


@bp.get("")
@bp.get("/")
@operation(
    "Console opérateur",
    tag="Pages",
    description="Acteurs en direct (tableau et débit), depuis le flux.",
    responses={
        200: Answer("La page.", None, media_type="text/html"),
        403: Answer("Session client : accès refusé.", None, media_type="text/html"),
    },
    security=Security.SESSION,
)
async def console() -> Response:
    if session.get("role") == "client":
        return await page("refus.html", 403)
    state = await session_state("operateur")
    if state != "ok":
        notice = "Votre session a expiré : reconnectez-vous." if state == "expiree" else None
        return await page("operateur_connexion.html", notice=notice)
    return await page("operateur.html", simulateur=current_app.extensions.get("simulator") is not None)


@bp.post("/connexion")
@operation(
    "Se connecter (console opérateur)",
    tag="Pages",
    description="Ouvre la session opérateur avec le jeton d'administration.",
    responses=FORM_POSTED,
    security=Security.SESSION,
)
async def login() -> Response:
    if not await check_csrf():
        return await page("operateur_connexion.html", 403, erreur=csrf_refusal().message)
    token = (await request.form).get("jeton") or ""
    if not token or not hmac.compare_digest(token.encode(), app_admin_token().encode()):
        return await page("operateur_connexion.html", 401, erreur="Jeton d'administration invalide.")
    open_session("operateur", generation=await gateway().operator_epoch())
    return redirect("/operateur", 303)  # type: ignore[return-value]


@bp.post("/deconnexion")
@operation(
    "Se déconnecter (console opérateur)",
    tag="Pages",
    description="Ferme la session.",
    responses=FORM_POSTED,
    security=Security.SESSION,
)
async def logout() -> Response:
    return await close_session("/operateur")


@bp.get("/instantane")
@operation(
    "Instantané (console opérateur)",
    tag="Pages",
    description="L'instantané des acteurs que la console affiche.",
    responses={200: Answer("Les données.", answers.Objet)},
    security=Security.SESSION,
)
async def instant() -> Response:
    await _operator()
    body = snapshot(gateway(), current_app.extensions.get("simulator"), Throughput())
    return secured(jsonify_status(body, 200))


@bp.get("/flux")
@operation(
    "Flux (console opérateur)",
    tag="Pages",
    description="Les instantanés en Server-Sent Events.",
    responses={200: Answer("Le flux.", None, media_type="text/event-stream")},
    security=Security.SESSION,
)
async def stream() -> Response:
    await _operator()
    gw, simulator = gateway(), current_app.extensions.get("simulator")

    async def events() -> AsyncIterator[bytes]:
        throughput = Throughput()
        yield f"retry: {RETRY_MS}\n\n".encode()
        deadline = trio.current_time() + STREAM_LIFETIME_S
        while trio.current_time() < deadline and not gw.stopping.is_set():
            data = json.dumps(snapshot(gw, simulator, throughput), ensure_ascii=False, separators=(",", ":"))
            yield f"event: etat\ndata: {data}\n\n".encode()
            with trio.move_on_after(STREAM_PERIOD_S):
                await gw.stopping.wait()
        yield b"event: arret\ndata: {}\n\n" if gw.stopping.is_set() else b"event: fin\ndata: {}\n\n"

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response
