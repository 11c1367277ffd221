"""The control API: a small JSON-over-HTTP ASGI app served by hypercorn's trio worker.

Routes (all answers are JSON; errors are `{"error": {"code", "message"}}`):

    GET   /stats                 statistics()
    GET   /config                the live knobs
    PATCH /config                change knobs (validated; 422 names the bad knob)
    POST  /drop                  close every ESME connection abruptly
    POST  /stall {"seconds": n}  stop reading and answering (no body: until /resume)
    POST  /resume
    GET   /submitted?limit=N&destination=D   most recent accepted submits, oldest first
    POST  /reset                 zero the counters, forget the submitted log
    POST  /mo {"source", "destination", "texte"}   a subscriber's inbound message, sent
                                 over a bound receiver or transceiver (202), 409 if none
"""

from __future__ import annotations

import json
import math
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from .config import Behaviour
from .knobs import KnobError, behaviour_json
from .receipts import message_text
from .stats import SimulatorStatistics, SubmittedMessage

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 1024 * 1024
MAX_LIMIT = 100_000


class Controlled(Protocol):
    """What the control API drives (a `Simulator`): its public, non-blocking calls."""

    @property
    def behaviour(self) -> Behaviour: ...

    @property
    def submitted(self) -> deque[SubmittedMessage]: ...

    def send_mo(self, source: str, destination: str, text: str) -> bool: ...

    def statistics(self) -> SimulatorStatistics: ...

    def configure(self, **changes: object) -> Behaviour: ...

    def drop_connections(self) -> int: ...

    def stall(self, seconds: float | bool = True) -> None: ...

    def resume(self) -> None: ...

    def reset(self) -> None: ...


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _submitted_json(message: SubmittedMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "source": message.source,
        "destination": message.destination,
        "short_message_hex": message.short_message.hex(),
        "text": message_text(message.short_message, message.data_coding, message.esm_class),
        "data_coding": message.data_coding,
        "esm_class": message.esm_class,
        "registered_delivery": message.registered_delivery,
        "time": message.time,
        "connection": message.connection,
    }


def _json_object(body: bytes, *, required: bool) -> dict[str, Any]:
    if not body.strip():
        if required:
            raise HttpError(400, "invalid_json", "a JSON object is required")
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HttpError(400, "invalid_json", "the body must be a JSON object")
    return value


class ControlApp:
    """ASGI application bound to one simulator."""

    def __init__(self, simulator: Controlled) -> None:
        self.simulator = simulator
        self.routes: dict[str, dict[str, Callable[[dict[str, list[str]], bytes], Any]]] = {
            "/stats": {"GET": self.get_stats},
            "/config": {"GET": self.get_config, "PATCH": self.patch_config},
            "/drop": {"POST": self.post_drop},
            "/stall": {"POST": self.post_stall},
            "/resume": {"POST": self.post_resume},
            "/submitted": {"GET": self.get_submitted},
            "/reset": {"POST": self.post_reset},
            "/mo": {"POST": self.post_mo},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            methods = self.routes.get(scope["path"].rstrip("/") or "/")
            if methods is None:
                raise HttpError(404, "not_found", f"no route {scope['path']}")
            handler = methods.get(scope["method"])
            if handler is None:
                raise HttpError(405, "method_not_allowed", f"use {', '.join(methods)}")
            body = await self._read_body(receive)
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            status, payload = 200, handler(query, body)
            if isinstance(payload, Accepted):
                status, payload = 202, payload.body
        except HttpError as error:
            status, payload = (
                error.status,
                {"error": {"code": error.code, "message": error.message}},
            )
        except KnobError as error:
            status = 422
            payload = {"error": {"code": "invalid_knob", "knob": error.knob, "message": str(error)}}
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        if status == 405 and methods:
            headers.append((b"allow", ", ".join(methods).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise HttpError(413, "too_large", f"bodies are limited to {MAX_BODY} octets")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    # --- handlers (synchronous: the simulator's methods never block) ------------------------

    def get_stats(self, query: dict[str, list[str]], body: bytes) -> Any:
        return self.simulator.statistics().as_json()

    def get_config(self, query: dict[str, list[str]], body: bytes) -> Any:
        return behaviour_json(self.simulator.behaviour)

    def patch_config(self, query: dict[str, list[str]], body: bytes) -> Any:
        changes = _json_object(body, required=True)
        return behaviour_json(self.simulator.configure(**changes))

    def post_drop(self, query: dict[str, list[str]], body: bytes) -> Any:
        return {"dropped": self.simulator.drop_connections()}

    def post_stall(self, query: dict[str, list[str]], body: bytes) -> Any:
        seconds = _json_object(body, required=False).get("seconds")
        if seconds is None:
            self.simulator.stall(True)
        elif isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise KnobError("seconds", f"expected a number of seconds, got {seconds!r}")
        elif not math.isfinite(seconds) or seconds < 0:
            raise KnobError("seconds", "must be a finite number >= 0")
        else:
            self.simulator.stall(float(seconds))
        return {"stalled": True, "seconds": seconds}

    def post_resume(self, query: dict[str, list[str]], body: bytes) -> Any:
        self.simulator.resume()
        return {"stalled": False}

    def get_submitted(self, query: dict[str, list[str]], body: bytes) -> Any:
        raw_limit = query.get("limit", ["100"])[-1]
        if not raw_limit.isdigit() or not 0 < int(raw_limit) <= MAX_LIMIT:
            raise KnobError("limit", f"expected an integer between 1 and {MAX_LIMIT}")
        limit = int(raw_limit)
        submitted = self.simulator.submitted
        destination = query.get("destination", [None])[-1]
        picked: list[SubmittedMessage] = []
        for message in reversed(submitted):
            if destination is None or message.destination == destination:
                picked.append(message)
                if len(picked) == limit:
                    break
        picked.reverse()
        return {"total": len(submitted), "messages": [_submitted_json(m) for m in picked]}

    def post_reset(self, query: dict[str, list[str]], body: bytes) -> Any:
        self.simulator.reset()
        return {"reset": True}

    def post_mo(self, query: dict[str, list[str]], body: bytes) -> Any:
        fields = _json_object(body, required=True)
        for name in ("source", "destination", "texte"):
            value = fields.get(name)
            if not isinstance(value, str) or (name != "texte" and not value.strip()):
                raise KnobError(name, "expected a non-empty string" if name != "texte"
                                else "expected a string")
        for name in ("source", "destination"):
            if len(fields[name].lstrip("+")) > 20:
                raise KnobError(name, "at most 20 characters (SMPP 3.4 addresses)")
        limit = 160 if fields["texte"].isascii() else 70
        if len(fields["texte"]) > limit:
            raise KnobError("texte", f"at most {limit} characters (one SMS)")
        unknown = sorted(set(fields) - {"source", "destination", "texte"})
        if unknown:
            raise KnobError(unknown[0], "unknown field; expected source, destination, texte")
        if not self.simulator.send_mo(fields["source"], fields["destination"], fields["texte"]):
            raise HttpError(409, "no_receiver", "no receiver or transceiver is bound")
        return Accepted({"sent": True})


class Accepted:
    """A handler's answer sent with 202 instead of 200."""

    __slots__ = ("body",)

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


def bind_control_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) for the control API; OSError names the port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"control API on {host}:{port}: {error.strerror}") from None
    return sock


async def serve_control(
    simulator: Controlled,
    sock: socket.socket,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the control API on the bound `sock` (taken over) until cancelled;
    `task_status.started(port)` once listening."""
    port = int(sock.getsockname()[1])
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    config.graceful_timeout = 0.5
    async with trio.open_nursery() as nursery:
        await nursery.start(serve, ControlApp(simulator), config)
        task_status.started(port)
