"""Plain HTTP/1.1 requests served inside hypercorn's connection, without h11.

Most requests the gateway serves are plain: HTTP/1.1, keep-alive, a body
announced by its Content-Length (or none). For those, `PlainRequests` reads
the request line and headers with llhttp (httptools), builds the ASGI scope
hypercorn would build, and calls the application in the connection's own task:
no task, memory channel or stream events per request, and the answer leaves in
one write when the application gives its length or its whole body at once.

Anything else goes to hypercorn's h11 protocol, from the first byte of the
request that is not plain, and the connection stays with h11 to its end:
another HTTP version, `Transfer-Encoding`, `Expect`, `Upgrade` (websockets,
h2c), a `Connection` header other than keep-alive, HEAD, a body announced
over the size limit, a request line or header llhttp refuses (h11 answers
400), a head still incomplete past the size bound (h11 answers 431), or a
configuration with `server_names`. Their answers are hypercorn's, as before.

The rules of a plain request, kept as hypercorn and h11 keep them:
1. The connection is idle (its keep-alive timer runs) until a request's head is
   complete, and again once its answer has gone; a pipelined request waits in
   the buffer until the one before it is answered, and is served in order.
2. `receive()` gives the body as it arrives, then blocks until the connection
   breaks (`http.disconnect`); a client gone before its body is complete is
   seen as `http.disconnect` and gets no answer.
3. An answer announces its length (the application's Content-Length, or the
   whole body when it comes in one message) or is sent chunked. Writes are
   shielded from cancellation, as hypercorn's are.
4. The connection closes after an answer that says `Connection: close`, an
   answer not complete when the application returns, a request body the
   application left unread and not yet arrived, the server's termination, or
   `keep_alive_max_requests` requests (that answer says `Connection: close`).
5. An application that fails before answering gets a 500, as under hypercorn.
"""

from __future__ import annotations

import re
from email.utils import formatdate
from time import time
from typing import Any
from urllib.parse import unquote

import httptools
import trio

_HEAD_END = b"\r\n\r\n"
_MAX_RECV = 2**16
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_PLAIN_METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
_STATUS_LINES: dict[int, bytes] = {}
_NO_BODY_STATUSES = frozenset({204, 304})
SHIELDED_SEND = "smsgw.shielded_send"
"""The scope's extension saying every message the application sends is written
shielded from cancellation (rule 3): a layer that would shield it needs not."""


class NotPlain(Exception):
    """The request at the head of the buffer is one h11 serves."""


class _Head:
    """httptools' callbacks for one request's line and headers."""

    __slots__ = ("headers", "length", "target", "unusual")

    def __init__(self) -> None:
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.length = 0
        self.unusual = False

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.strip(b" \t")
        if name == b"content-length":
            if not value.isdigit() or self.length:
                self.unusual = True
            else:
                self.length = int(value)
        elif name in (b"transfer-encoding", b"expect", b"upgrade"):
            self.unusual = True
        elif name == b"connection" and value.lower() != b"keep-alive":
            self.unusual = True
        self.headers.append((name, value))


def parse_head(head: bytes, max_body_bytes: int) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], int]:
    """A complete request head (ending with its empty line) read as (method,
    target, headers with lower-case names, body length), or `NotPlain`."""
    found = _Head()
    parser = httptools.HttpRequestParser(found)
    try:
        parser.feed_data(head)
    except httptools.HttpParserError:
        raise NotPlain from None
    method = parser.get_method()
    if (
        found.unusual
        or parser.get_http_version() != "1.1"
        or method not in _PLAIN_METHODS
        or found.length > max_body_bytes
        or not found.target.isascii()
    ):
        raise NotPlain
    return method, found.target, found.headers, found.length


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 200 <= status <= 999:
            raise ValueError(f"not a final status: {status}")
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d \r\n" % status
    return line


class _Date:
    """The Date header's value, formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def value(self) -> bytes:
        now = int(time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


_DATE = _Date()
_GOOD_NAMES: set[bytes] = set()


def _check_name(name: bytes) -> None:
    if name not in _GOOD_NAMES:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if len(_GOOD_NAMES) < 512:
            _GOOD_NAMES.add(name)


class Exchange:
    """One plain request's ASGI `receive` and `send` over the connection's stream.

    `buffer` holds what was read past the request's head; the body is taken from
    it first. After the exchange, `buffer` holds what follows the request (the
    next, pipelined, request) and `keep` says whether the connection can serve
    another request."""

    def __init__(
        self,
        stream: Any,
        buffer: bytearray,
        length: int,
        server_headers: list[tuple[bytes, bytes]],
        last: bool,
    ) -> None:
        self._stream = stream
        self.buffer = buffer
        self._left = length
        self._body_done = False
        self._server_headers = server_headers
        self._last = last
        self._gone: trio.Event | None = None
        self.broken = False
        self.status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._started = False
        self._finished = False
        self._chunked = False
        self._fixed: int | None = None
        self._sent = 0
        self._close = last

    # -- receive ------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        if self._body_done or self.broken:
            if not self.broken:
                if self._gone is None:
                    self._gone = trio.Event()
                await self._gone.wait()
            return {"type": "http.disconnect"}
        if not self.buffer and self._left:
            try:
                data = await self._stream.receive_some(_MAX_RECV)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            if not data:
                self.broken = True
                return {"type": "http.disconnect"}
            self.buffer += data
        take = min(self._left, len(self.buffer))
        body = bytes(self.buffer[:take])
        del self.buffer[:take]
        self._left -= take
        if not self._left:
            self._body_done = True
        return {"type": "http.request", "body": body, "more_body": not self._body_done}

    # -- send ---------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not self._started:
            self.status = int(message["status"])
            self._headers = list(message.get("headers", ()))
            self._started = True
        elif kind == "http.response.body" and self._started and not self._finished:
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            head = self._head(body, more) if self._head_pending else b""
            if self.status in _NO_BODY_STATUSES:
                body = b""
            elif self._chunked:
                if body:
                    body = b"%x\r\n%b\r\n" % (len(body), body)
                if not more:
                    body += b"0\r\n\r\n"
            else:
                self._sent += len(body)
                if self._fixed is not None and self._sent > self._fixed:
                    raise RuntimeError("more body than the answer's Content-Length")
            if not more:
                self._finished = True
                if not self._chunked and self._fixed is not None and self._sent != self._fixed:
                    self._close = True
            await self._write(head + body if head else body)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in this state")

    _head_pending = True

    def _head(self, body: bytes, more: bool) -> bytes:
        """The answer's status line and headers, with its framing."""
        self._head_pending = False
        parts = [_status_line(self.status)]
        lines = 1
        length: int | None = None
        for name, value in self._headers:
            name = bytes(name).strip().lower()
            value = bytes(value).strip()
            _check_name(name)
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                continue  # framed below
            elif name == b"connection" and b"close" in value.lower():
                self._close = True
            parts.append(name + b": " + value + b"\r\n")
            lines += 1
        if self.status not in _NO_BODY_STATUSES:
            if length is not None:
                self._fixed = length
            elif not more:
                self._fixed = len(body)
                parts.append(b"content-length: %d\r\n" % len(body))
                lines += 1
            else:
                self._chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
                lines += 1
        for name, value in self._server_headers:
            parts.append(name + b": " + value + b"\r\n")
            lines += 1
        if self._last:
            parts.append(b"connection: close\r\n")
            lines += 1
        parts.append(b"\r\n")
        head = b"".join(parts)
        if head.count(b"\n") != lines + 1 or head.count(b"\r") != lines + 1 or b"\x00" in head:
            raise ValueError("a header name or value holds a line break or NUL")
        return head

    async def _write(self, data: bytes) -> None:
        if self.broken or not data:
            return
        try:
            with trio.CancelScope(shield=True):
                await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.broken = True
            if self._gone is not None:
                self._gone.set()

    async def finish(self) -> None:
        """After the application returned: a 500 when it
        never answered, as hypercorn does; then whether the connection can go on."""
        if not self._started and not self.broken:
            self.status = 500
            self._headers = [(b"content-length", b"0"), (b"connection", b"close")]
            self._started = True
            await self.send({"type": "http.response.body", "body": b""})
        if not self._finished or self.broken:
            self._close = True
        if self._left:
            if len(self.buffer) >= self._left:
                del self.buffer[: self._left]  # the unread body had come whole: skip it
                self._left = 0
            else:
                self._close = True

    @property
    def keep(self) -> bool:
        return not self._close


def server_headers(config: Any) -> list[tuple[bytes, bytes]]:
    """hypercorn's own response headers for HTTP/1.1 (Date, Server, Alt-Svc),
    the date formatted once a second."""
    headers: list[tuple[bytes, bytes]] = []
    if config.include_date_header:
        headers.append((b"date", _DATE.value()))
    if config.include_server_header:
        headers.append((b"server", b"hypercorn-h11"))
    headers.extend((b"alt-svc", alt.encode()) for alt in config.alt_svc_headers)
    return headers


def head_end(buffer: bytearray, max_head: int) -> int:
    """Where the request head at the start of `buffer` ends (past its empty
    line), 0 when more is needed, or `NotPlain` (a head past `max_head` bytes
    without its end, bare line feeds, or empty lines before the request)."""
    end = buffer.find(_HEAD_END)
    if end >= 0:
        if buffer.startswith(b"\r\n"):
            raise NotPlain
        return end + 4
    if len(buffer) > max_head or b"\n\n" in buffer or buffer.startswith(b"\r\n"):
        raise NotPlain
    return 0


def build_scope(
    method: bytes,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    scheme: str,
    root_path: str,
    client: Any,
    server: Any,
    state: dict[str, Any],
) -> dict[str, Any]:
    """The scope hypercorn's HTTP stream builds for an HTTP/1.1 request."""
    path, _, query_string = target.partition(b"?")
    return {
        "type": "http",
        "http_version": "1.1",
        "asgi": {"spec_version": "2.1", "version": "3.0"},
        "method": method.decode("ascii"),
        "scheme": scheme,
        "path": unquote(path.decode("ascii")),
        "raw_path": path,
        "query_string": query_string,
        "root_path": root_path,
        "headers": headers,
        "client": client,
        "server": server,
        "state": state.copy(),
        "extensions": {SHIELDED_SEND: {}},
    }


