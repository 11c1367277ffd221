"""The lean send door: POST /api/V1/sms/unides and /muldes straight from ASGI.

UNIDES and MULDES are the gateway's hot path. `lean_sends` puts `serve_send` in
front of Quart for exactly those two POSTs; it does what the application's hooks
and the Quart view would (per-key rate limit, JSON content type, body size, JSON,
then the send intake, request metrics) without Quart's request context, routing
and response objects, which cost a third of a single send's time. Its answers
are the Quart views' answers, byte for byte (tests/api/test_send_doors.py).
"""

from __future__ import annotations

import json
import logging
import time as timer
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from api.errors import HTTP_MESSAGES, ApiError, refusal
from api.http import check_json_type, decode_json
from api.intake import ACCEPTED, ApiKey, SendIntake, SendRequest
from api.ratelimit import KeyRateLimiter
from config import logs
from engine.errors import GatewayError
from engine.model import SendType, keys

log = logging.getLogger(__name__)

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]

LEAN_ROUTES: dict[str, SendType] = {
    "/api/V1/sms/unides": SendType.UNIDES,
    "/api/V1/sms/muldes": SendType.MULDES,
}
"""Paths `serve_send` answers for POST; everything else goes to Quart."""


@dataclass(frozen=True, slots=True)
class LeanDoor:
    """What the lean door needs besides the intake: the per-key rate limiter the
    application's `before_request` hook also uses, and the body size limit."""

    intake: SendIntake
    limiter: KeyRateLimiter
    max_body_bytes: int


def lean_sends(door: LeanDoor, quart_asgi: Any) -> Any:
    """ASGI in front of Quart: POST /api/V1/sms/unides and /muldes are answered by
    `serve_send`; everything else, including other methods on those paths, goes
    to Quart. (Typed `Any`: Quart's own ASGI types are narrower unions of scopes
    and events than the plain dicts this door reads.)"""

    async def asgi_app(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind = LEAN_ROUTES.get(scope["path"])
            if kind is not None:
                await serve_send(door, kind, scope, receive, send)
                return
        await quart_asgi(scope, receive, send)

    return asgi_app


class _ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def serve_send(
    door: LeanDoor, kind: SendType, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend
) -> None:
    """Answer one POST of UNIDES or MULDES: per-key rate limit (429), JSON content
    type (415), body size (413, connection closed), JSON (400), then the intake;
    request metrics counted under the route's path. A client gone before its
    body is complete gets no answer."""
    started = timer.perf_counter()
    logs.start_request()
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)
    extra: dict[str, str] = {}
    api_key = _header(headers, b"x-api-key")
    try:
        if api_key:
            wait_s = door.limiter.take(keys.hash_api_key(api_key))
            if wait_s:
                code, message = HTTP_MESSAGES[429]
                raise ApiError(
                    429, code, message,
                    headers={"Retry-After": str(door.limiter.retry_after_s(wait_s))},
                )
        content_type = _header(headers, b"content-type") or ""
        check_json_type(content_type.split(";", 1)[0].strip().lower())
        raw = await _read_body(receive, headers, door.max_body_bytes)
        request = SendRequest(
            kind,
            decode_json(raw),
            ApiKey(api_key),
            scope["path"],
            idempotency_key=_header(headers, b"idempotency-key"),
        )
        status, payload = ACCEPTED, await door.intake.accept(request)
    except _ClientGone:
        return
    except (ApiError, GatewayError) as caught:
        exc = caught if isinstance(caught, ApiError) else refusal(caught)
        status, payload = exc.status, _envelope(exc.code, exc.message, exc.details)
        extra = exc.headers
    except Exception:
        log.exception("unhandled error on POST %s", scope["path"])
        code, message = HTTP_MESSAGES[500]
        status, payload = 500, _envelope(code, message, [])
    data = (json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    expiry = door.intake.gateway.key_expiry(api_key)
    if expiry is not None:
        response_headers.append((b"x-cle-expiration", expiry.encode()))
    response_headers.extend((k.lower().encode(), v.encode("latin-1")) for k, v in extra.items())
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": data})
    seconds = timer.perf_counter() - started
    door.intake.metrics.request_done(scope["path"], "POST", status, seconds)
    logs.log_request("POST", scope["path"], status, seconds)


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _envelope(code: str, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"erreur": {"code": code, "message": message, "details": details}}


async def _read_body(receive: ASGIReceive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The whole request body; 413 (the connection then closes, the rest of the
    body unread) when it is, or announces to be, over `limit` bytes."""
    code, message = HTTP_MESSAGES[413]
    too_large = ApiError(413, code, message, headers={"Connection": "close"})
    announced = headers.get(b"content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message_in = await receive()
        if message_in["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message_in.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message_in.get("more_body", False):
            return b"".join(chunks)
