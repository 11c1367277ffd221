"""Start SMS Gateway: store, embedded SMSC simulator, engine and HTTP API.

    python run.py [--config FILE]

Settings come from config/default.toml, then FILE, then SMSGW_<SECTION>_<KEY>
variables. A bad setting stops start-up with one line naming it. Ctrl-C or
SIGTERM stops accepting, lets in-flight work end, commits, unbinds, exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import trio

from api.app import create_app
from api.serving import http_config, serve_http
from config import ConfigError, Settings, load_settings, logs
from config.settings import LogFormat
from engine import keys
from engine.cluster import claim_alone, default_node_name
from engine.gateway import Gateway
from engine.model import AccountType
from engine.process import freeze_start_up_heap, tune_collector
from engine.store import Store, backend_for, store_failures

log = logging.getLogger("smsgw")

DRAIN_GRACE_S = 3.0


def admin_token(settings: Settings) -> tuple[str, str]:
    """The configured admin token, or the one generated on first start (kept in
    the data folder, readable by its owner only). Returns (token, origin)."""
    if settings.admin.token:
        return settings.admin.token, "configuration"
    path = settings.data.dir / "admin_token"
    if path.exists():
        return path.read_text().strip(), str(path)
    token = keys.new_admin_token()
    settings.data.dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token, f"generated, kept in {path}"


@dataclass(frozen=True, slots=True)
class Running:
    """What `serve` reports once everything listens."""

    http_url: str
    admin_token: str
    gateway: Gateway
    simulator: Any
    demo_key: str | None
    simulators: dict[str, Any] | None = None
    """The embedded simulator serving each connection that has one, by name."""


def say(settings: Settings, line: str, *, logged: str | None = None, error: bool = False) -> None:
    """A start-up or shutdown line: printed as it is with the text log format (on
    stderr for an error); with the JSON format a record of the "smsgw" logger, in
    its `logged` words when the line holds a secret (the admin token, a key)."""
    if settings.log.format is LogFormat.JSON:
        log.log(logging.ERROR if error else logging.INFO, logged or line)
    else:
        print(line, file=sys.stderr if error else sys.stdout, flush=True)


def start_failures() -> tuple[type[Exception], ...]:
    """What stops start-up with one line: the store's failures and the network's."""
    return (*store_failures(), OSError)


async def main(settings: Settings) -> None:
    """The process: `serve` until SIGINT or SIGTERM, with the cycle collector set
    for a server (`tune_collector`, then `freeze_start_up_heap` once serving)."""
    tune_collector(settings.engine.gc_threshold)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_signals, stop)
        async with trio.open_nursery() as serving:
            await serving.start(serve, settings, stop)
            freeze_start_up_heap()
        nursery.cancel_scope.cancel()


async def serve(
    settings: Settings, stop: trio.Event, *, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the store, the simulator (if enabled), the engine and the HTTP API, in
    that order, each ready before the next; return after `stop` is set and the
    shutdown is complete."""
    token, token_origin = admin_token(settings)
    async with trio.open_nursery() as nursery:
        store = Store(backend_for(settings.data.url, settings.data.dir, settings.data.sync))
        await nursery.start(store.serve)
        say(settings, f"Store: {store.backend.name} at {store.where}, sync {settings.data.sync.upper()}")
        fresh = not await store.accounts.any()

        simulators, addresses = await _embedded_simulators(settings, nursery)
        simulator = next(iter(simulators.values()), None)
        gateway = Gateway(settings, store, addresses=addresses)
        engine_scopes: list[trio.CancelScope] = []

        async def run_in_engine(
            serve: Callable[..., Awaitable[None]], *, task_status: Any = trio.TASK_STATUS_IGNORED
        ) -> None:
            scope = trio.CancelScope()
            engine_scopes.append(scope)
            with scope:
                await serve(task_status=task_status)

        alone = None if gateway.clustered else await claim_alone(store)
        await nursery.start(run_in_engine, gateway.serve)
        routing = f", failover {'on' if settings.routing.failover else 'off'}"
        for c in settings.connections():
            host, port = gateway.runtime.address(c)
            where = f" (prefixes {', '.join(c.prefixes)})" if c.prefixes else ""
            default = " (default)" if len(settings.connections()) > 1 and (
                c.name == settings.default_connection()) else ""
            cap = f", at most {c.max_rate} submit_sm/s" if c.max_rate else ""
            say(settings, f"Sender pool {c.name}{default}{where}: {c.binds} binds to {host}:{port}{cap}"
                + (routing if default else ""))

        app = create_app(gateway, settings, token)
        if simulator is not None:
            app.extensions["simulator"] = simulator
        hconfig = http_config(
            settings.http,
            graceful_timeout_s=DRAIN_GRACE_S,
            errorlog=logging.getLogger("hypercorn.error"),
        )
        binds = await nursery.start(
            lambda task_status: serve_http(
                app,
                hconfig,
                max_connections=settings.http.max_connections,
                shutdown_trigger=stop.wait,
                task_status=task_status,
            )
        )
        http_url = binds[0] if binds else f"http://{settings.http.host}:{settings.http.port}"
        say(settings, f"SMS Gateway API on {http_url}/api/V1 (health: {http_url}/api/V1/sante)")
        if not settings.cluster.url:
            gateway.cluster.url = http_url  # where it listens (its port once bound)
        if not settings.cluster.node and not settings.http.port:
            gateway.cluster.rename(default_node_name(int(http_url.rsplit(":", 1)[1])))
        if gateway.clustered:
            await nursery.start(run_in_engine, partial(gateway.join_cluster, http_url))
            cluster = gateway.cluster
            say(settings, f"Cluster node {cluster.node} ({cluster.url or http_url}), "
                f"lease {settings.cluster.lease_s:g} s, {settings.cluster.shards} shards")
        say(settings, f"Admin token ({token_origin}): {token}",
            logged=f"Admin token: {token_origin} (its value is never logged)")
        demo_key = None
        if fresh and not gateway.clustered:
            account_id, key = await gateway.create_account(
                nom="Compte démo", type=AccountType.PREPAYE, solde=1000
            )
            demo_key = key.cle
            say(settings, f"Demo prepaid account #{account_id} (1000 SMS credits), API key: {key.cle}",
                logged=f"Demo prepaid account #{account_id} (1000 SMS credits) created; its API "
                "key is printed in the text log format only")
        task_status.started(Running(http_url, token, gateway, simulator, demo_key, simulators))
        await stop.wait()
        say(settings, "Stopping: no new requests; finishing in-flight messages...")
        if gateway.clustered:
            await gateway.leave_cluster(DRAIN_GRACE_S)
            say(settings, "Cluster: accounts handed over to the other nodes.")
        await gateway.drain(DRAIN_GRACE_S)
        for scope in reversed(engine_scopes):
            scope.cancel()
        if alone is not None:
            alone.close()
        nursery.cancel_scope.cancel()
    say(settings, "Stopped cleanly.")


async def _embedded_simulators(
    settings: Settings, nursery: trio.Nursery
) -> tuple[dict[str, Any], dict[str, tuple[str, int]]]:
    """With `simulator.enabled`, an embedded SMSC simulator for the single `[smsc]`
    connection (used unless `smsc.host` and `smsc.port` name another SMSC), or for
    each named connection that names no host: the simulator's own ports for the first, the next ports up
    for the next ones (0 stays 0: any free port), a connection's `port` winning.
    Returns them by connection name, with the address each one listens on."""
    simulators: dict[str, Any] = {}
    addresses: dict[str, tuple[str, int]] = {}
    if not settings.simulator.enabled:
        return simulators, addresses
    from smsc_sim.config import SimulatorSettings
    from smsc_sim.server import Simulator

    sim = settings.simulator
    named = bool(settings.smsc.connections)
    for c in settings.connections():
        if c.host and named:
            continue
        step = len(simulators)
        simulator = Simulator(
            SimulatorSettings(
                host=sim.host,
                smpp_port=(c.port if named else 0) or (sim.smpp_port + step if sim.smpp_port else 0),
                control_port=sim.control_port + step if sim.control_port else 0,
                system_id=c.system_id if named else sim.system_id,
                password=c.password if named else sim.password,
                # receipts are matched by message id whatever the connection: two
                # simulators started together must not issue the same ids
                first_message_id=(int(time.time() * 1000) * 1000 + step * 10**15)
                if step else None,
            )
        )
        await nursery.start(simulator.serve)
        simulators[c.name] = simulator
        addresses[c.name] = (c.host or sim.host, c.port or simulator.smpp_port)
        serving = f" for {c.name}" if named else ""
        say(settings, f"SMSC simulator{serving}: SMPP on {sim.host}:{simulator.smpp_port}, "
            f"control API on http://{sim.host}:{simulator.control_port}")
    return simulators, addresses


async def _watch_signals(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stop.set()
            return


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SMS Gateway")
    parser.add_argument("--config", type=Path, help="TOML file overriding config/default.toml")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log)
    try:
        trio.run(main, settings)
    except BaseExceptionGroup as group:
        failure = _first_failure(group)
        if failure is None:
            raise
        say(settings, f"start-up failed: {failure}", error=True)
        return 1
    except start_failures() as exc:
        say(settings, f"start-up failed: {exc}", error=True)
        return 1
    return 0


def _first_failure(group: BaseExceptionGroup[Any]) -> BaseException | None:
    """The first storage or network error in a group of task failures."""
    found, _ = group.split(start_failures())
    matched: BaseException | None = found
    while isinstance(matched, BaseExceptionGroup):
        matched = matched.exceptions[0]
    return matched


if __name__ == "__main__":
    sys.exit(cli())
