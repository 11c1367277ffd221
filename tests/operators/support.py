"""Two operators for tests: a simulator each (its own SMPP and control ports, on
127.0.0.1, port 0), and a whole gateway whose named connections reach them, started
by `run.serve` as in production. A simulator can be stopped (its SMSC "killed":
every connection closed, the port refusing) and started again on the same port."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

import run
from config import load_settings
from smsc_sim.config import SimulatorSettings
from smsc_sim.server import Simulator
from tests.harness import Stack, eventually
from tests.stores import data_url

AIRTEL = ("24107", "24104", "24177")
MOOV = ("24106", "24102", "24162")


@dataclass
class Operator:
    """One operator's SMSC: a simulator that can be stopped and started again."""

    name: str
    nursery: trio.Nursery
    simulator: Simulator | None = None
    port: int = 0
    first_id: int = 1
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)

    async def start(self) -> Simulator:
        simulator = Simulator(  # ids apart: receipts are matched by id alone
            SimulatorSettings(host="127.0.0.1", smpp_port=self.port, control_port=0,
                              first_message_id=self.first_id)
        )
        self.first_id += 10**9
        self.scope = trio.CancelScope()

        async def serve(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            with self.scope:
                await simulator.serve(task_status=task_status)

        await self.nursery.start(serve)
        self.simulator, self.port = simulator, simulator.smpp_port
        return simulator

    def kill(self) -> None:
        """Stop the simulator: its connections close, its port refuses."""
        self.scope.cancel()

    @property
    def sim(self) -> Simulator:
        assert self.simulator is not None
        return self.simulator

    def destinations(self) -> list[str]:
        """Numbers (E.164, with +) of every submit_sm it accepted, in order."""
        return ["+" + m.destination.lstrip("+") for m in self.sim.submitted]

    def per_second(self) -> Counter[int]:
        """Accepted submit_sm per whole second of its clock."""
        return Counter(int(m.time) for m in self.sim.submitted)


def gateway_toml(
    airtel: Operator, moov: Operator, *, failover: bool, airtel_rate: int = 0,
    airtel_binds: int = 2,
) -> str:
    return f"""
[simulator]
enabled = false

[smsc.connections.airtel]
host = "127.0.0.1"
port = {airtel.port}
binds = {airtel_binds}
max_rate = {airtel_rate}
prefixes = {list(AIRTEL)!r}

[smsc.connections.moov]
host = "127.0.0.1"
port = {moov.port}
binds = 2
prefixes = {list(MOOV)!r}

[routing]
default = "airtel"
failover = {"true" if failover else "false"}
""".replace("'", '"')


@dataclass
class Operators:
    stack: Stack
    airtel: Operator
    moov: Operator

    async def connections(self) -> dict[str, dict[str, Any]]:
        r = await self.stack.client.get("/api/V1/admin/acteurs", headers=self.stack.admin)
        assert r.status_code == 200, r.text
        return {c["nom"]: c for c in r.json()["connexions"]}

    async def bound(self, *names: str) -> None:
        """Until every bind of these connections is bound."""
        await eventually(
            self.connections,
            lambda cs: all(cs[n]["liees"] == cs[n]["liaisons"] for n in names),
        )


@asynccontextmanager
async def open_operators(
    tmp_path: Path, *, failover: bool = False, airtel_rate: int = 0, airtel_binds: int = 2,
    **env: str,
) -> AsyncIterator[Operators]:
    async with trio.open_nursery() as nursery:
        airtel = Operator("airtel", nursery, first_id=10**12)
        moov = Operator("moov", nursery, first_id=2 * 10**12)
        await airtel.start()
        await moov.start()
        config = tmp_path / "operateurs.toml"
        config.write_text(gateway_toml(
            airtel, moov, failover=failover, airtel_rate=airtel_rate, airtel_binds=airtel_binds
        ))
        data_dir = tmp_path / "data"
        settings = load_settings(config, environ={
            "SMSGW_DATA_DIR": str(data_dir),
            "SMSGW_DATA_URL": data_url(data_dir),
            "SMSGW_HTTP_PORT": "0",
            "SMSGW_ADMIN_TOKEN": "jeton-admin-de-test",
            "SMSGW_SMSC_RECONNECT_MIN_S": "0.05",
            "SMSGW_SMSC_RECONNECT_MAX_S": "0.2",
            **env,
        })
        stop = trio.Event()
        running: run.Running = await nursery.start(run.serve, settings, stop)
        async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as client:
            operators = Operators(Stack(running, client, settings), airtel, moov)
            await operators.bound("airtel", "moov")
            yield operators
        stop.set()
        nursery.cancel_scope.cancel()


async def muldes(stack: Stack, key: str, numbers: Sequence[str]) -> str:
    r = await stack.client.post(
        "/api/V1/sms/muldes",
        json={"emetteur": "BANQUE", "numeros": list(numbers), "corps": "Votre code : 1234"},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 202, r.text
    ref: str = r.json()["ref"]
    return ref


async def messages(stack: Stack, key: str, ref: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limite": "1000", **({"curseur": cursor} if cursor else {})}
        r = await stack.client.get(
            f"/api/V1/sms/{ref}/messages", params=params, headers={"X-API-Key": key}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["messages"])
        cursor = body["curseurSuivant"]
        if cursor is None:
            return items


async def until_settled(
    stack: Stack, key: str, ref: str, *, within_s: float = 20.0
) -> list[dict[str, Any]]:
    """The send's messages once none is EN_ATTENTE."""
    return await eventually(
        lambda: messages(stack, key, ref),
        lambda ms: all(m["statut"] != "EN_ATTENTE" for m in ms),
        within_s=within_s,
    )


def numbers(prefix: str, count: int, start: int = 0) -> list[str]:
    """`count` E.164 numbers `+<prefix>` followed by digits to 11 digits in all."""
    width = 11 - len(prefix)
    return [f"+{prefix}{start + i:0{width}d}" for i in range(count)]
