"""The gateway process killed with SIGKILL in the middle of a burst, then
restarted on the same data folder: the books still balance, no reservation is
orphaned, every message ends, nothing is charged twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import trio

from tests.accounts.support import assert_books_balance, audit
from tests.stores import BEGIN_SNAPSHOT, audit_connection, data_url

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer jeton-admin-kill"}


class Gateway:
    """`python run.py` as an operator starts it, its stdout read as it comes."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.out = ""
        self.proc: trio.Process | None = None

    async def start(self, nursery: trio.Nursery) -> tuple[str, str]:
        env = {
            **os.environ,
            "SMSGW_DATA_DIR": str(self.data),
            "SMSGW_DATA_URL": data_url(self.data),
            "SMSGW_HTTP_PORT": "0",
            "SMSGW_SIMULATOR_SMPP_PORT": "0",
            "SMSGW_SIMULATOR_CONTROL_PORT": "0",
            "SMSGW_ADMIN_TOKEN": ADMIN["Authorization"].split()[1],
            "SMSGW_HTTP_RATE_LIMIT_PER_S": "100000",
            "SMSGW_HTTP_RATE_LIMIT_BURST": "100000",
            "SMSGW_SMSC_RECONNECT_MIN_S": "0.05",
            "SMSGW_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.out = ""
        self.proc = await nursery.start(
            partial(
                trio.run_process, [sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, check=False,
            )
        )
        api = await self._wait_for(r"SMS Gateway API on (http://\S+)/api/V1")
        control = await self._wait_for(r"control API on (http://\S+)")
        return api, control

    async def _wait_for(self, pattern: str) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        with trio.fail_after(20):
            while (found := re.search(pattern, self.out)) is None:
                chunk = await self.proc.stdout.receive_some(4096)
                assert chunk, f"run.py ended early:\n{self.out}"
                self.out += chunk.decode()
        return found.group(1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        with trio.fail_after(15):
            await self.proc.wait()


def _books(data: Path, accounts: list[int]) -> dict[int, int]:
    """Check every account's books in the gateway's database; return pending counts."""
    with audit_connection(data) as conn:
        pending = {}
        # one read transaction: a consistent snapshot while the gateway writes
        conn.execute(BEGIN_SNAPSHOT)
        for account_id in accounts:
            books = audit(conn, account_id)
            assert_books_balance(books)
            pending[account_id] = books.pending
        conn.execute("COMMIT")
        return pending


async def test_sigkill_mid_burst_then_restart_keeps_the_books_straight(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gateway = Gateway(data)
    with trio.fail_after(90):
        async with trio.open_nursery() as nursery:
            api, control = await gateway.start(nursery)
            async with httpx.AsyncClient(timeout=10) as client:
                slow = await client.patch(f"{control}/config", json={"latency": 400})
                assert slow.status_code == 200, slow.text
                accounts: list[int] = []
                keys: list[str] = []
                for body in ({"nom": "Prépayé", "type": "PREPAYE", "solde": 150},
                             {"nom": "Postpayé", "type": "POSTPAYE"}):
                    r = await client.post(f"{api}/api/V1/admin/comptes", json=body, headers=ADMIN)
                    assert r.status_code == 201, r.text
                    accounts.append(r.json()["id"])
                    keys.append(r.json()["cleApi"]["cle"])

                answered = 0
                enough = trio.Event()

                async def sender(worker: int) -> None:
                    nonlocal answered
                    for n in range(worker, 10_000, 20):
                        key = keys[n % 3 == 0]  # a third to the postpaid account
                        try:
                            r = await client.post(
                                f"{api}/api/V1/sms/unides",
                                json={"emetteur": "ION-Networking",
                                      "destinataire": f"+24107{n:06d}", "corps": f"Envoi {n}"},
                                headers={"X-API-Key": key},
                            )
                        except httpx.TransportError:
                            return  # the gateway is gone
                        assert r.status_code == 202, r.text
                        answered += 1
                        if answered >= 250:
                            enough.set()

                async with trio.open_nursery() as burst:
                    for worker in range(20):
                        burst.start_soon(sender, worker)
                    await enough.wait()
                    gateway.kill()
            await gateway.proc.wait()  # type: ignore[union-attr]

            pending = _books(data, accounts)
            assert sum(pending.values()) > 0, "the kill caught messages in flight"

            api, control = await gateway.start(nursery)

            async def all_ended() -> bool:
                return not any(_books(data, accounts).values())

            with trio.fail_after(30):
                while not await all_ended():  # noqa: ASYNC110 - the restarted process is seen only through its database
                    await trio.sleep(0.05)
            async with httpx.AsyncClient(timeout=10) as client:
                for account_id in accounts:
                    audit_page = await client.get(
                        f"{api}/api/V1/admin/comptes/{account_id}/journal?limite=1", headers=ADMIN
                    )
                    assert audit_page.json()["concorde"] is True
                prepaid = (await client.get(f"{api}/api/V1/admin/comptes/{accounts[0]}",
                                            headers=ADMIN)).json()
                assert prepaid["reserve"] == 0
                assert prepaid["solde"] >= 0
            await gateway.stop()
