"""A minimal HTTP/1.1 POST over trio sockets, for callbacks.

One request per connection (`Connection: close`); only the status line of the
answer is read. Blocks until the status line arrives or `timeout_s` passes
(`trio.TooSlowError`); cancellation closes the connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

import trio

_MAX_HEAD = 16 * 1024


class CallbackHttpError(Exception):
    """The URL is unusable or the answer is not HTTP."""


async def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float) -> int:
    """POST `body` as JSON to `url`; return the HTTP status code."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackHttpError(f"unsupported callback URL scheme {parts.scheme!r}")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {parts.netloc.rpartition('@')[2]}",
        "Content-Type: application/json; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "User-Agent: SMS-Gateway",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with trio.fail_after(timeout_s):
        stream: trio.abc.Stream
        if secure:
            stream = await trio.open_ssl_over_tcp_stream(
                parts.hostname, port, ssl_context=ssl.create_default_context()
            )
        else:
            stream = await trio.open_tcp_stream(parts.hostname, port)
        async with stream:
            await stream.send_all(head + body)
            received = b""
            while b"\r\n" not in received:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                received += chunk
                if len(received) > _MAX_HEAD:
                    break
    status_line = received.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise CallbackHttpError("the callback URL did not answer HTTP")
    return int(code)
