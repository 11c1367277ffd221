"""The whole-body layer alone (api/bodies.py), between an in-memory server and a
recording application, on trio's mock clock: what the application receives, and
what the client gets when a body is too slow, too large, or its headers are."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.testing

from api.bodies import whole_bodies


class Recorder:
    """An ASGI application that reads its request and answers 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.received.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope(headers: list[tuple[bytes, bytes]] | None = None, path: bytes = b"/x") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "raw_path": path, "query_string": b"",
            "headers": headers or []}


async def serve(app: Any, request: dict[str, Any], messages: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Run the layer on `request`: `messages` come from the client, then nothing
    more. What was sent back."""
    sent: list[dict[str, Any]] = []
    incoming, outgoing = trio.open_memory_channel[dict[str, Any]](len(messages) + 1)
    for message in messages:
        incoming.send_nowait(message)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    layer = whole_bodies(app, max_body_bytes=1000, body_timeout_s=30, max_header_bytes=2048)
    await layer(request, outgoing.receive, send)
    return sent


def error_of(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes], str]:
    start, body = sent
    return (start["status"], dict(start["headers"]),
            json.loads(body["body"])["erreur"]["code"])


async def test_a_body_in_parts_reaches_the_application_as_one_message() -> None:
    app = Recorder()
    parts = [{"type": "http.request", "body": b"ab", "more_body": True},
             {"type": "http.request", "body": b"cd", "more_body": True},
             {"type": "http.request", "body": b"", "more_body": False}]
    sent = await serve(app, scope(), parts)
    assert app.received == [{"type": "http.request", "body": b"abcd", "more_body": False}]
    assert sent[0]["status"] == 200


async def test_a_body_not_complete_in_time_answers_408_and_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = Recorder()
    start = trio.current_time()
    sent = await serve(app, scope(), [{"type": "http.request", "body": b"a", "more_body": True}])
    assert trio.current_time() - start == 30
    status, headers, code = error_of(sent)
    assert (status, headers[b"connection"], code) == (408, b"close", "REQUETE_TROP_LENTE")
    assert app.received == [], "the application never saw the request"


async def test_a_body_growing_past_the_limit_answers_413_and_closes() -> None:
    app = Recorder()
    parts = [{"type": "http.request", "body": b"x" * 600, "more_body": True},
             {"type": "http.request", "body": b"x" * 600, "more_body": True}]
    status, headers, code = error_of(await serve(app, scope(), parts))
    assert (status, headers[b"connection"], code) == (413, b"close", "REQUETE_TROP_VOLUMINEUSE")
    assert app.received == []


async def test_headers_past_the_limit_answer_431_and_close() -> None:
    app = Recorder()
    request = scope([(b"x-long", b"v" * 3000)])
    status, headers, code = error_of(await serve(app, request, []))
    assert (status, headers[b"connection"], code) == (431, b"close", "EN_TETES_TROP_VOLUMINEUX")
    assert app.received == []


async def test_a_client_gone_before_its_body_ends_gets_no_answer() -> None:
    app = Recorder()
    sent = await serve(app, scope(), [{"type": "http.request", "body": b"a", "more_body": True},
                                      {"type": "http.disconnect"}])
    assert sent == [] and app.received == []
