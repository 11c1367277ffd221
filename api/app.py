"""The Quart-Trio application: REST facade over the gateway engine.

`create_app(gateway, settings, admin_token)` takes its dependencies; it never
reads globals or the environment. Handlers parse and validate, authenticate,
call the facade and shape the answer; they never touch SQL or actor state.
"""

from __future__ import annotations

import logging

from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from api.errors import HTTP_MESSAGES, ApiError, error_response
from api.routes import admin, compte, ops, sms
from config.settings import Settings
from engine.errors import GatewayError, Overloaded
from engine.gateway import Gateway

log = logging.getLogger(__name__)


def create_app(gateway: Gateway, settings: Settings, admin_token: str) -> QuartTrio:
    app = QuartTrio(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.http.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["gateway"] = gateway
    app.extensions["settings"] = settings
    app.extensions["admin_token"] = admin_token

    for blueprint in (sms.bp, compte.bp, admin.bp, ops.bp):
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    async def on_api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(GatewayError)
    async def on_gateway_error(exc: GatewayError) -> Response:
        headers = {}
        if isinstance(exc, Overloaded):
            headers["Retry-After"] = str(exc.retry_after_s)
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.errorhandler(HTTPException)
    async def on_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_MESSAGES.get(status, ("ERREUR_HTTP", exc.description or ""))
        response = error_response(status, code, message)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    async def on_crash(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_MESSAGES[500]
        return error_response(500, code, message)

    return app
