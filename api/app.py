"""The Quart-Trio application: REST facade over the gateway engine.

`create_app(gateway, settings, admin_token)` takes its dependencies; it never
reads globals or the environment. Handlers parse and validate, authenticate,
call the facade and shape the answer; they never touch SQL or actor state.

Cross-cutting rules live here: the per-key rate limit (before any handler),
request metrics, and the error envelope for everything that goes wrong,
including unknown routes (404), wrong methods (405 with Allow) and oversized
bodies (413).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

from quart import Response, g, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter

from api.bodies import ASGIApp, whole_bodies
from api.errors import HTTP_MESSAGES, ApiError, error_response, refusal
from api.http import STORED_INTEGER_MAX
from api.intake import SendIntake, documented_bodies
from api.lean import LeanDoor, lean_sends
from api.ratelimit import KeyRateLimiter
from api.routes import (
    admin,
    campagnes,
    cluster,
    compte,
    console,
    docs,
    entrants,
    espace,
    espace_campagnes,
    espace_controles,
    espace_exports,
    metrics,
    operateur,
    ops,
    sms,
)
from config import logs
from config.settings import Settings
from engine.errors import GatewayError
from engine.gateway import Gateway
from engine.model import SendType, keys

if TYPE_CHECKING:
    from api.relay import Holders, SessionReader

log = logging.getLogger(__name__)

# Every blueprint the application serves; add one per line.
BLUEPRINTS = (
    sms.bp,
    campagnes.bp,
    compte.bp,
    admin.bp,
    entrants.bp,
    entrants.admin_bp,
    ops.bp,
    cluster.bp,
    espace.bp,
    espace_campagnes.bp,
    espace_controles.bp,
    espace_exports.bp,
    operateur.bp,
    console.bp,
    docs.bp,
    docs.swagger_ui,
    metrics.bp,
)

_KEYED_PREFIXES = ("/api/V1/sms", "/api/V1/compte")


class _StoredInteger(IntegerConverter):
    """`<int:...>` in paths. A number beyond a stored id's range names no row: it
    reaches the handler as 0 (never an id), which answers 404 as for any unknown
    id, instead of failing in the store."""

    def to_python(self, value: str) -> int:
        if len(value) > 19:
            return 0
        number = int(value)
        return number if number <= STORED_INTEGER_MAX else 0


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: QuartTrio, path: str, matched: list[str]) -> list[str]:
    """The methods of the route at `path`. A path that is a route of its own
    (`/api/V1/sms/unides`) also matches routes with a variable part
    (`/api/V1/sms/<ref>`, GET and DELETE), whose methods the router reports
    too; the route named by the path itself is the one a 405's Allow lists."""
    own = [rule for rule in app.url_map.iter_rules() if not rule.arguments and rule.rule == path]
    methods = {m for rule in own for m in rule.methods or ()} if own else set(matched)
    return sorted(methods, key=lambda m: (_METHOD_ORDER.index(m) if m in _METHOD_ORDER else 99, m))


def _session_reader(app: QuartTrio) -> SessionReader:
    """A client-space session cookie's value -> its account, when the cookie is
    one this application signed (the relay forwards the page to its holder; the
    session itself is checked where it is served)."""

    def read(value: str) -> int | None:
        serializer = app.session_interface.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data = serializer.loads(value)
        except Exception:  # noqa: BLE001 - a cookie not ours, tampered or malformed
            return None
        account = data.get("compte") if isinstance(data, dict) else None
        if data.get("role") == "client" and isinstance(account, int):
            return account
        return None

    return read


def create_app(gateway: Gateway, settings: Settings, admin_token: str) -> QuartTrio:
    app = QuartTrio(__name__)
    app.url_map.converters["int"] = _StoredInteger
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["gateway"] = gateway
    app.extensions["settings"] = settings
    app.extensions["admin_token"] = admin_token

    @app.before_request
    async def request_context() -> None:
        """Every record logged while serving the request carries its id, and the
        account and ref its path names (config/logs.py)."""
        logs.start_request()
        g.smsgw_log_started = time.perf_counter()
        named = request.view_args or {}
        logs.bind(account=named.get("account_id"), ref=named.get("ref"))

    @app.after_request
    async def request_record(response: Response) -> Response:
        started = getattr(g, "smsgw_log_started", None)
        seconds = time.perf_counter() - started if started is not None else 0.0
        logs.log_request(request.method, request.path, response.status_code, seconds)
        return response

    limiter = KeyRateLimiter(settings.http.rate_limit_per_s, settings.http.rate_limit_burst)
    app.extensions["rate_limiter"] = limiter
    instruments = metrics.Metrics(gateway)
    app.extensions["metrics"] = instruments
    instruments.install(app)

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    routes = {
        SendType.UNIDES: sms.unides,
        SendType.MULDES: sms.muldes,
        SendType.MULDESP: campagnes.muldesp_route,
    }
    intake = SendIntake(gateway, settings, instruments, documented_bodies(settings, routes))
    app.extensions["send_intake"] = intake
    door = LeanDoor(intake, limiter, settings.http.max_body_bytes)
    served: ASGIApp = lean_sends(door, app.asgi_app)
    if gateway.clustered:
        # a node of a cluster: a request for an account another node holds goes there
        # (imported here: its HTTP client, httpx, is loaded by a cluster's nodes only)
        from api.relay import Relay

        relay = Relay(served, gateway, cast("Holders", gateway.cluster), _session_reader(app))
        app.extensions["relay"] = relay
        served = relay
    app.asgi_app = whole_bodies(  # type: ignore[method-assign,assignment]
        served,
        max_body_bytes=settings.http.max_body_bytes,
        body_timeout_s=settings.http.body_timeout_s,
        max_header_bytes=settings.http.max_header_bytes,
    )

    @app.before_request
    async def rate_limit() -> None:
        key = request.headers.get("X-API-Key")
        if not key or not request.path.startswith(_KEYED_PREFIXES):
            return
        wait_s = limiter.take(keys.hash_api_key(key))
        if wait_s:
            code, message = HTTP_MESSAGES[429]
            raise ApiError(
                429, code, message, headers={"Retry-After": str(limiter.retry_after_s(wait_s))}
            )

    static_methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.arguments:
            static_methods.setdefault(rule.rule, set()).update(rule.methods or ())

    @app.before_request
    async def no_other_method_on_a_named_path() -> None:
        """`GET /api/V1/sms/unides` is a method the path does not take (405), not a
        ref `/sms/{ref}` would look up: a path that is a route of its own answers
        for that route alone."""
        own = static_methods.get(request.path)
        if own is not None and request.method not in own:
            raise MethodNotAllowed(valid_methods=sorted(own))

    @app.after_request
    async def key_expiry(response: Response) -> Response:
        """Every answer to a valid API key carries its expiry (X-Cle-Expiration)."""
        expiry = gateway.key_expiry(request.headers.get("X-API-Key"))
        if expiry is not None:
            response.headers["X-Cle-Expiration"] = expiry
        return response

    @app.after_request
    async def own_methods_only(response: Response) -> Response:
        """An OPTIONS answer lists the methods of the route at that very path, as a
        405 does (`allowed_methods`)."""
        if request.method == "OPTIONS" and "Allow" in response.headers:
            offered = [m.strip() for m in response.headers["Allow"].split(",") if m.strip()]
            response.headers["Allow"] = ", ".join(allowed_methods(app, request.path, offered))
        return response

    @app.errorhandler(ApiError)
    async def on_api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(GatewayError)
    async def on_gateway_error(exc: GatewayError) -> Response:
        return await on_api_error(refusal(exc))

    @app.errorhandler(HTTPException)
    async def on_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_MESSAGES.get(status, ("ERREUR_HTTP", exc.description or ""))
        response = error_response(status, code, message)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(
                allowed_methods(app, request.path, exc.valid_methods)  # type: ignore[attr-defined]
            )
        if status == 413:
            # the rest of the body was never read: the connection cannot be reused
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    async def on_crash(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_MESSAGES[500]
        return error_response(500, code, message)

    return app
