"""Whole request bodies, read before any handler runs: the outermost ASGI layer.

Why: under hypercorn's HTTP/1.1 protocol, an answer sent before the request's
body has been read (a 401 from a hook that never looks at the body, a refusal
of a route that takes none) leaves the connection half-way: the client's body
is still arriving when the response ends, hypercorn then tries to close the
connection from inside the handler's task, and Quart, seeing the body end,
cancels that same task; the socket is left open and the next request on the
keep-alive connection is never answered. Reading the whole body first means
every answer is sent after the request is complete, so the connection is
always recycled for the next request.

`whole_bodies` reads the body (all of it, before calling the application) under
two bounds, and answers itself, in the contract's error envelope and with
`Connection: close`, when one is broken:
- `max_body_bytes`: a body that grows past it answers 413 (one that announces
  more in its Content-Length is left to the application, which answers 413
  without reading it);
- `body_timeout_s`: a body not complete that long after its headers (a client
  trickling it) answers 408; the connection is then closed, so slow clients
  cannot hold connections open.
A request line and headers over `max_header_bytes` answer 431 the same way.
The application then receives the body as one `http.request` message, and
`http.disconnect` from the server as before. A client gone before its body is
complete gets no answer.

Each message the application sends is passed on shielded from cancellation:
sending an answer's last part is where hypercorn recycles or closes the
connection, and Quart cancels its handler as soon as the connection reports
it is done; cancelled there, a connection meant to close (`Connection: close`)
stayed open until the client went away. (Hypercorn already shields the socket
write itself, so this waits no longer than it did.) The server's plain
requests (api/http1.py) already write every message shielded and say so in
the scope; theirs are passed on as they are.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from api.errors import HTTP_MESSAGES
from api.http1 import SHIELDED_SEND

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], ASGIReceive, ASGISend], Awaitable[None]]

TOO_SLOW = (408, "REQUETE_TROP_LENTE", "Le corps de la requête n'est pas arrivé à temps.")
HEAD_TOO_LARGE = (
    431, "EN_TETES_TROP_VOLUMINEUX", "La ligne de requête et les en-têtes dépassent la taille autorisée."
)


def replay(body: bytes, receive: ASGIReceive) -> ASGIReceive:
    """A `receive` that gives the whole body, already read, as one message, then
    the server's own messages (a disconnect)."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def answer_and_close(send: ASGISend, status: int, code: str, message: str) -> None:
    """Send one error in the contract's envelope, asking the client to close the
    connection (the rest of its request, if any, is never read)."""
    data = (
        json.dumps({"erreur": {"code": code, "message": message, "details": []}},
                   ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _announced(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def head_size(scope: dict[str, Any]) -> int:
    """The size of a request's target and headers, about as they came on the wire."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return size + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def whole_bodies(
    app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float, max_header_bytes: int
) -> ASGIApp:
    """`app` behind a layer that reads each HTTP request's whole body first
    (bounded in size and time, see the module's docstring), and answers 431
    (connection closed) to a request whose target and headers exceed
    `max_header_bytes`: the server bounds only headers still arriving, not ones
    that came in one read. Blocks only on the client's body; cancellation while
    reading leaves nothing to undo."""

    async def asgi(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if head_size(scope) > max_header_bytes:
            await answer_and_close(send, *HEAD_TOO_LARGE)
            return

        async def send_shielded(message: dict[str, Any]) -> None:
            with trio.CancelScope(shield=True):
                await send(message)

        send_whole = send if SHIELDED_SEND in (scope.get("extensions") or ()) else send_shielded

        announced = _announced(scope)
        if announced is not None and announced > max_body_bytes:
            # refused from its Content-Length (413) or earlier, its body never read:
            # whatever the answer, the connection cannot serve another request
            async def send_closing(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
                await send_whole(message)

            await app(scope, receive, send_closing)
            return
        chunks: list[bytes] = []
        size = 0
        complete = False
        with trio.move_on_after(body_timeout_s):
            while not complete:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body_bytes:
                    await answer_and_close(send, 413, *HTTP_MESSAGES[413])
                    return
                chunks.append(chunk)
                complete = not message.get("more_body", False)
        if not complete:
            await answer_and_close(send, *TOO_SLOW)
            return
        await app(scope, replay(b"".join(chunks), receive), send_whole)

    return asgi
