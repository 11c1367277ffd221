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

`http_config` turns the settings into hypercorn's configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, LifespanState
from hypercorn.utils import ShutdownError, raise_shutdown, repr_socket_addr, wrap_app

from config.settings import HttpSettings


def http_config(http: HttpSettings, *, graceful_timeout_s: float, errorlog: Any) -> Config:
    """Hypercorn's configuration for `http`: the bind, the bound on a request's
    line and headers still arriving, an accept queue as long as the connection
    cap (within the kernel's usual limit), no access log, the graceful shutdown
    delay."""
    config = Config()
    config.bind = [f"{http.host}:{http.port}"]
    config.h11_max_incomplete_size = http.max_header_bytes
    config.backlog = min(max(http.max_connections, 128), 4096)
    config.accesslog = None
    config.errorlog = errorlog
    config.graceful_timeout = graceful_timeout_s
    return config


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
            await TCPServer(
                wrapped, config, context, ConnectionState(lifespan_state.copy()),
                stream,  # type: ignore[arg-type]
            )
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
