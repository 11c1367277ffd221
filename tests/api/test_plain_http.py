"""The HTTP server on raw sockets: plain keep-alive requests (served without h11,
api/http1.py) and the cases left to hypercorn's h11 protocol, as a client sees
them, against a small echo application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from api.serving import http_config, serve_http
from config.settings import HttpSettings

MAX_HEAD = 4096


class Echo:
    """Answers every request with its method, path and body, and keeps what it saw."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.disconnected = trio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            self.events.append(message["type"])
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        data = scope["method"].encode() + b" " + scope["raw_path"] + b" " + body
        headers = [(b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})


@asynccontextmanager
async def serving(app: Echo, keep_alive_s: float = 5.0) -> AsyncIterator[int]:
    """`app` served on a free port of 127.0.0.1; yields the port."""
    http = HttpSettings(host="127.0.0.1", port=0, max_header_bytes=MAX_HEAD, max_body_bytes=100_000)
    config = http_config(http, graceful_timeout_s=1.0, errorlog=logging.getLogger("test.http"))
    config.keep_alive_timeout = keep_alive_s
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            lambda task_status: serve_http(
                app, config, max_connections=100, shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        yield int(binds[0].rsplit(":", 1)[1])
        stop.set()


async def answer(stream: trio.SocketStream, buffer: bytearray) -> tuple[int, dict[bytes, bytes], bytes]:
    """One answer with a Content-Length from `stream` (what follows stays in `buffer`)."""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some(65536)
        assert chunk, f"the connection closed before an answer: {bytes(buffer)!r}"
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    status_line, *lines = bytes(buffer[:end]).split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    while len(buffer) < end + 4 + length:
        chunk = await stream.receive_some(65536)
        assert chunk, "the connection closed in the middle of an answer"
        buffer += chunk
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return int(status_line.split()[1]), headers, body


async def closed(stream: trio.SocketStream) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    return data


def post(path: bytes, body: bytes) -> bytes:
    return b"POST %b HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%b" % (path, len(body), body)


async def test_one_connection_serves_many_requests_and_pipelined_ones_in_order() -> None:
    with trio.fail_after(20):
        async with serving(Echo()) as port, await trio.open_tcp_stream("127.0.0.1", port) as stream:
            buffer = bytearray()
            for number in range(200):
                await stream.send_all(post(b"/one/%d" % number, b'{"n":%d}' % number))
                status, headers, body = await answer(stream, buffer)
                assert (status, body) == (200, b'POST /one/%d {"n":%d}' % (number, number))
                assert b"date" in headers and headers.get(b"connection") != b"close"
            await stream.send_all(
                post(b"/a", b"1") + b"GET /b?x=1 HTTP/1.1\r\nHost: t\r\n\r\n" + post(b"/c", b"333")
            )
            answers = [(await answer(stream, buffer))[2] for _ in range(3)]
            assert answers == [b"POST /a 1", b"GET /b ", b"POST /c 333"]


async def test_a_body_split_across_segments_arrives_whole() -> None:
    with trio.fail_after(20):
        async with serving(Echo()) as port, await trio.open_tcp_stream("127.0.0.1", port) as stream:
            request = post(b"/split", b"x" * 5000)
            for start in range(0, len(request), 700):
                await stream.send_all(request[start : start + 700])
                await trio.testing.wait_all_tasks_blocked()  # the server has read this segment
            status, _, body = await answer(stream, bytearray())
            assert (status, body) == (200, b"POST /split " + b"x" * 5000)


async def test_a_head_too_large_is_answered_431_and_a_bad_request_line_400() -> None:
    with trio.fail_after(20):
        async with serving(Echo()) as port:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"y" * (2 * MAX_HEAD))
                assert (await closed(stream)).startswith(b"HTTP/1.1 431 ")
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert (await answer(stream, bytearray()))[0] == 200
                await stream.send_all(b"NOT A REQUEST LINE\r\n\r\n")
                assert (await closed(stream)).startswith(b"HTTP/1.1 400 ")


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with serving(Echo(), keep_alive_s=30.0) as port:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(post(b"/a", b"1"))
                assert (await answer(stream, bytearray()))[0] == 200
                answered = trio.current_time()
                assert await closed(stream) == b""
                assert trio.current_time() - answered >= 30.0


async def test_a_client_gone_in_the_middle_of_its_body_is_seen_and_the_server_goes_on() -> None:
    app = Echo()
    with trio.fail_after(20):
        async with serving(app) as port:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(b"POST /gone HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc")
                await trio.testing.wait_all_tasks_blocked()
            await app.disconnected.wait()
            assert app.events == ["http.request", "http.disconnect"]
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(post(b"/next", b"ok"))
                assert (await answer(stream, bytearray()))[2] == b"POST /next ok"


async def test_chunked_bodies_and_expect_continue_are_still_served() -> None:
    with trio.fail_after(20):
        async with serving(Echo()) as port, await trio.open_tcp_stream("127.0.0.1", port) as stream:
            buffer = bytearray()
            await stream.send_all(post(b"/plain", b"1"))
            assert (await answer(stream, buffer))[2] == b"POST /plain 1"
            await stream.send_all(
                b"POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
            assert (await answer(stream, buffer))[2] == b"POST /chunked abcde"
            await stream.send_all(
                b"POST /expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
            )
            assert (await answer(stream, buffer))[0] == 100
            await stream.send_all(b"hi")
            assert (await answer(stream, buffer))[2] == b"POST /expect hi"
