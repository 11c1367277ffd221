"""The HTTP server: hypercorn's connection handling (HTTP/1.1 over h11, one
`TCPServer` task per connection) behind listeners that cap open connections.

`serve_http` is hypercorn's `trio.serve` with one difference: a connection is
accepted only while fewer than `max_connections` are open. Past the cap, new
connections wait in the kernel's accept queue (the listen backlog) until one
closes; they are neither refused nor answered, so a burst of idle or slow
clients cannot exhaust the process's file descriptors, and clients already
connected keep being served. Slow clients are ended by their own bounds:
headers not complete within hypercorn's keep-alive timeout, bodies not complete
within `http.body_timeout_s` (api/bodies.py), headers over
`http.max_header_bytes` (431).

Two costs of hypercorn's connection handling are cut per request, with its
behaviour kept (`_Connection`):
- the keep-alive timer: hypercorn stops it when a request comes and starts a new
  task for it when the answer is sent; here one task per connection watches a
  deadline that is moved (`_IdleTimer`), with the same effect: an idle connection
  is closed after `keep_alive_timeout`, and at shutdown once it is idle;
- the answer's writes: hypercorn writes an answer's status line and headers, its
  body, then an empty end, each a write of its own; here the head of an answer
  with a Content-Length is held and goes out with the body, in one write
  (`_JoinedWrites`). A head without a Content-Length (a stream, server-sent
  events) and an informational answer (100 Continue) go out at once.

`http_config` turns the settings into hypercorn's configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from math import inf
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, LifespanState
from hypercorn.utils import ShutdownError, raise_shutdown, repr_socket_addr, wrap_app

from api import http1
from config.settings import HttpSettings


class GatewayConfig(Config):
    """hypercorn's configuration, and the largest body a plain request may
    announce to be served without h11 (a larger one is h11's, refused 413 by
    the application as before)."""

    max_body_bytes: int = 1 << 20


def http_config(http: HttpSettings, *, graceful_timeout_s: float, errorlog: Any) -> GatewayConfig:
    """Hypercorn's configuration for `http`: the bind, the bound on a request's
    line and headers still arriving, an accept queue as long as the connection
    cap (within the kernel's usual limit), no access log, the graceful shutdown
    delay, the body size limit."""
    config = GatewayConfig()
    config.max_body_bytes = http.max_body_bytes
    config.bind = [f"{http.host}:{http.port}"]
    config.h11_max_incomplete_size = http.max_header_bytes
    config.backlog = min(max(http.max_connections, 128), 4096)
    config.accesslog = None
    config.errorlog = errorlog
    config.graceful_timeout = graceful_timeout_s
    return config


class _JoinedWrites:
    """A connection's socket stream as hypercorn uses it, holding back the head of
    an answer with a Content-Length until the next write (its body, or the empty
    write that ends it), so both leave in one write; an empty write with nothing
    held is not made. hypercorn writes under its own lock, one write at a time."""

    __slots__ = ("_held", "_inner", "socket")

    def __init__(self, inner: trio.SocketStream) -> None:
        self._inner = inner
        self.socket = inner.socket
        self._held = b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        elif _head_to_hold(data):
            self._held = bytes(data)
            return
        if data:
            await self._inner.send_all(data)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._inner.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await self._flush()
        await self._inner.send_eof()

    async def aclose(self) -> None:
        try:
            await self._flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the peer is gone: nothing more to tell it
        finally:
            await self._inner.aclose()

    async def _flush(self) -> None:
        held, self._held = self._held, b""
        if held:
            await self._inner.send_all(held)


def _head_to_hold(data: bytes | bytearray | memoryview) -> bool:
    """A final answer's status line and headers (h11 writes them whole, in one
    piece) that announce a Content-Length: its body follows at once."""
    head = bytes(data[:4096])
    return (
        head.startswith(b"HTTP/1.1 ")
        and head[9:10] != b"1"
        and len(head) == len(data)
        and head.endswith(b"\r\n\r\n")
        and b"\r\ncontent-length:" in head.lower()
    )


class _IdleTimer:
    """hypercorn's keep-alive timer for one connection (its `restart` when the
    connection becomes idle, its `stop` when a request comes), kept by one task
    that watches a deadline instead of a new task per request. The connection is
    closed when it has been idle for `keep_alive_timeout`, or when the server
    terminates while it is idle (a request being served finishes first)."""

    def __init__(self, server: _Connection) -> None:
        self._server = server
        self._scope: trio.CancelScope | None = None
        self._idle = True
        self._ended = False
        self._woken = trio.Event()

    async def restart(self, task_group: Any, action: Any) -> None:
        self._idle = True
        deadline = trio.current_time() + self._server.config.keep_alive_timeout
        if self._scope is None:
            self._scope = trio.CancelScope(deadline=deadline)
            task_group.spawn(self._watch, self._scope)
        else:
            self._scope.deadline = deadline
            self._woken.set()

    async def stop(self) -> None:
        self._idle = False
        if self._scope is not None:
            self._scope.deadline = inf

    def end(self) -> None:
        """The connection's reading has ended (the client is gone): nothing more to watch."""
        self._ended = True
        if self._scope is not None:
            self._scope.cancel()

    async def _watch(self, scope: trio.CancelScope) -> None:
        terminated = self._server.context.terminated
        with scope:
            while True:
                await terminated.wait()
                if self._idle:
                    break
                self._woken = trio.Event()
                await self._woken.wait()
        self._scope = None
        if self._ended:
            return
        with trio.CancelScope(shield=True):
            await self._server._initiate_server_close()


class _Connection(TCPServer):
    """hypercorn's connection handler with the keep-alive timer of `_IdleTimer`,
    the joined writes of `_JoinedWrites`, and plain HTTP/1.1 requests served
    without h11 (api/http1.py) until one is not plain: from that request on,
    hypercorn's h11 protocol serves the connection."""

    def __init__(
        self,
        app: Any,
        config: Config,
        context: WorkerContext,
        state: Any,
        stream: trio.SocketStream,
    ) -> None:
        super().__init__(app, config, context, state, _JoinedWrites(stream))  # type: ignore[arg-type]
        self.idle_task: _IdleTimer = _IdleTimer(self)  # type: ignore[assignment]
        self._raw = stream
        self._max_body_bytes = config.max_body_bytes if isinstance(config, GatewayConfig) else 0
        self._served = 0

    async def _read_data(self) -> None:
        try:
            rest = await self._serve_plain()
            if rest is not None:
                await self._hand_to_h11(rest)
        finally:
            self.idle_task.end()

    async def _hand_to_h11(self, rest: bytes) -> None:
        """From the request at the start of `rest` on, hypercorn's h11 protocol
        serves the connection."""
        protocol = self.protocol.protocol
        if isinstance(protocol, H11Protocol):
            protocol.keep_alive_requests = self._served
        if rest:
            await self.protocol.handle(RawData(rest))
        await super()._read_data()

    async def _serve_plain(self) -> bytes | None:
        """Serve plain requests (api/http1.py) until the connection ends (None) or
        a request is not plain: then what has been read from its start on."""
        config = self.config
        if config.server_names or config.read_timeout or self._max_body_bytes <= 0:
            return b""
        stream = self._raw
        protocol = self.protocol
        scheme = "https" if protocol.ssl else "http"
        max_head = config.h11_max_incomplete_size
        max_requests = config.keep_alive_max_requests
        terminated = self.context.terminated
        max_body = self._max_body_bytes
        app: Any = self.app  # hypercorn's wrapped application, called as its HTTP stream calls it
        buffer = bytearray()
        while True:
            try:
                end = http1.head_end(buffer, max_head)
                while not end:
                    try:
                        data = await stream.receive_some(MAX_RECV)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        data = b""
                    if not data:
                        return bytes(buffer) if buffer else None
                    buffer += data
                    end = http1.head_end(buffer, max_head)
                method, target, headers, length = http1.parse_head(bytes(buffer[:end]), max_body)
            except http1.NotPlain:
                return bytes(buffer)
            del buffer[:end]
            await self.idle_task.stop()
            self._served += 1
            scope = http1.build_scope(
                method, target, headers, scheme=scheme, root_path=config.root_path,
                client=protocol.client, server=protocol.server, state=protocol.state,
            )
            exchange = http1.Exchange(
                stream, buffer, length, http1.server_headers(config), self._served >= max_requests
            )
            try:
                await app(
                    scope, exchange.receive, exchange.send, trio.to_thread.run_sync, trio.from_thread.run
                )
            except Exception:  # noqa: BLE001 - as hypercorn: logged, answered 500 if not yet answered
                await config.log.exception("Error in ASGI Framework")
            await exchange.finish()
            if self.context.max_requests is not None:
                await self.context.mark_request()
            if not exchange.keep or terminated.is_set():
                return None
            buffer = exchange.buffer
            await self.idle_task.restart(self._task_group, self._idle_timeout)


class CappedListener(trio.abc.Listener[trio.SocketStream]):
    """A listener that accepts only while it holds a free slot of `slots`. The
    slot belongs to the accepted connection; its handler gives it back (`release`)
    when the connection ends. `accept` blocks while every slot is taken."""

    def __init__(self, inner: trio.SocketListener, slots: trio.Semaphore) -> None:
        self._inner = inner
        self._slots = slots

    async def accept(self) -> trio.SocketStream:
        await self._slots.acquire()
        try:
            return await self._inner.accept()
        except BaseException:
            self._slots.release()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


async def serve_http(
    app: Any,
    config: Config,
    *,
    max_connections: int,
    shutdown_trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `config.bind` until `shutdown_trigger` returns, then let
    connections finish for `config.graceful_timeout` seconds and return. Reports
    the bound URLs with `task_status.started`."""
    config.set_statsd_logger_class(StatsdLogger)
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    lifespan_state: LifespanState = {}
    lifespan = Lifespan(wrapped, config, lifespan_state)
    context = WorkerContext(None)
    slots = trio.Semaphore(max_connections)

    async def handle(stream: trio.SocketStream) -> None:
        try:
            await _Connection(wrapped, config, context, ConnectionState(lifespan_state.copy()), stream)
        finally:
            slots.release()

    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as server_nursery:
            sockets = config.create_sockets()
            listeners = []
            binds = []
            for sock in sockets.insecure_sockets:
                sock.listen(config.backlog)
                listeners.append(
                    CappedListener(trio.SocketListener(trio.socket.from_stdlib_socket(sock)), slots)
                )
                binds.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
            task_status.started(binds)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(raise_shutdown, shutdown_trigger)
                    nursery.start_soon(raise_shutdown, context.terminate.wait)
                    nursery.start_soon(
                        partial(trio.serve_listeners, handle, listeners, handler_nursery=server_nursery)
                    )
            except BaseExceptionGroup as group:
                _, others = group.split(ShutdownError)
                if others is not None:
                    raise others from None
            finally:
                await context.terminated.set()
                server_nursery.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
