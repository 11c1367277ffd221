"""A whole gateway for tests: store, embedded simulator, engine and HTTP API on
port 0, started by the same `run.serve` as production, and an HTTP client.

Waiting is always bounded by an absolute deadline (`trio.fail_after`); `eventually`
re-asks the API, as a client would, until the answer is what the test expects.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import trio

import run
from config import Settings, load_settings
from tests.stores import data_url

T = TypeVar("T")


@dataclass
class Stack:
    running: run.Running
    client: httpx.AsyncClient
    settings: Settings

    @property
    def gateway(self) -> Any:
        return self.running.gateway

    @property
    def simulator(self) -> Any:
        return self.running.simulator

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.running.admin_token}"}

    async def new_account(self, **body: Any) -> tuple[int, str]:
        body.setdefault("nom", "Compte de test")
        body.setdefault("type", "PREPAYE")
        r = await self.client.post("/api/V1/admin/comptes", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        data = r.json()
        return data["id"], data["cleApi"]["cle"]


def test_settings(data_dir: Path, **env: str) -> Settings:
    base = {
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_SIMULATOR_SMPP_PORT": "0",
        "SMSGW_SIMULATOR_CONTROL_PORT": "0",
        "SMSGW_ADMIN_TOKEN": "jeton-admin-de-test",
        "SMSGW_SMSC_RECONNECT_MIN_S": "0.05",
        "SMSGW_DATA_URL": data_url(data_dir),
        "SMSGW_CALLBACKS_ALLOW_PRIVATE": "true",  # the receivers are on 127.0.0.1
    }
    base.update(env)
    return load_settings(environ=base)


@asynccontextmanager
async def open_stack(data_dir: Path, **env: str) -> AsyncIterator[Stack]:
    settings = test_settings(data_dir, **env)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        running: run.Running = await nursery.start(run.serve, settings, stop)
        async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as client:
            yield Stack(running, client, settings)
        stop.set()


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, within_s: float = 10.0
) -> T:
    """Ask `probe` again until `accept` holds on its answer; fail after `within_s`."""
    with trio.fail_after(within_s):
        while True:
            value = await probe()
            if accept(value):
                return value
            await trio.sleep(0.01)


PASSWORD = "motdepasse-solide-42"  # noqa: S105 - the test accounts' password


def csrf_of(html: str) -> str:
    """The CSRF token a client-space page carries."""
    found = re.search(r'name="csrf" (?:value|content)="([^"]+)"', html)
    assert found, "the page carries a CSRF token"
    return found.group(1)


@asynccontextmanager
async def client_session(
    stack: Stack, login: str, password: str = PASSWORD
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A fresh HTTP client logged in to the client space, and its CSRF token."""
    async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=30) as client:
        page = await client.get("/espace/connexion")
        answer = await client.post("/espace/connexion", data={
            "csrf": csrf_of(page.text), "identifiant": login, "motDePasse": password})
        assert answer.status_code == 303, answer.text
        home = await client.get("/espace")
        assert home.status_code == 200
        yield client, csrf_of(home.text)
