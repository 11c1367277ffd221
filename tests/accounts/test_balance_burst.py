"""A thousand concurrent single sends against a balance of a hundred, over HTTP:
exactly a hundred get through, and the balance is never seen negative.

The thousand requests are all started at once; the client keeps `CONNECTIONS`
of them on the wire at a time (a thousand simultaneous TCP connects overflow the
listen backlog of a test machine, which tests the kernel rather than the ledger).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from engine.store.sql import Connection
from tests.harness import eventually, open_stack

SENDS = 1_000
CREDITS = 100
CONNECTIONS = 20


async def test_thousand_concurrent_unides_against_a_hundred_credits(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(
            tmp_path,
            SMSGW_HTTP_RATE_LIMIT_PER_S="100000",
            SMSGW_HTTP_RATE_LIMIT_BURST="100000",
        ) as stack:
            account_id, key = await stack.new_account(solde=CREDITS)
            headers = {"X-API-Key": key}
            limits = httpx.Limits(max_connections=CONNECTIONS + 1)
            wire = trio.Semaphore(CONNECTIONS)
            answers: list[dict[str, Any]] = []
            samples: list[tuple[int, int]] = []
            done = trio.Event()

            async with httpx.AsyncClient(
                base_url=stack.running.http_url, timeout=30, limits=limits
            ) as client:

                async def send(n: int) -> None:
                    async with wire:
                        r = await client.post(
                            "/api/V1/sms/unides",
                            json={"emetteur": "ION-Networking",
                                  "destinataire": f"+24106{n:06d}", "corps": f"Message {n}"},
                            headers=headers,
                        )
                    assert r.status_code == 202, r.text
                    answers.append(r.json())

                async def sample() -> None:
                    while not done.is_set():
                        me = (await client.get("/api/V1/compte", headers=headers)).json()
                        samples.append((me["solde"], me["reserve"]))

                async with trio.open_nursery() as watchers:
                    watchers.start_soon(sample)
                    async with trio.open_nursery() as senders:
                        for n in range(SENDS):
                            senders.start_soon(send, n)
                    done.set()

                accepted = [a for a in answers if a["statut"] == "EN_ATTENTE"]
                refused = [a for a in answers if a["statut"] == "ECHEC"]
                assert (len(accepted), len(refused)) == (CREDITS, SENDS - CREDITS)
                assert len({a["ref"] for a in answers}) == SENDS
                assert len(samples) >= 2, "the balance was sampled during the burst"
                assert all(solde >= 0 and reserve >= 0 for solde, reserve in samples)
                assert all(solde + reserve <= CREDITS for solde, reserve in samples)

                async def final(ref: str) -> dict[str, Any]:
                    return await eventually(
                        lambda: _json(client, f"/api/V1/sms/{ref}", headers),
                        lambda s: s["statut"] != "EN_ATTENTE",
                    )

                statuses: dict[str, str] = {}

                async def check(ref: str) -> None:
                    async with wire:
                        statuses[ref] = (await final(ref))["statut"]

                async with trio.open_nursery() as checks:
                    for a in accepted + refused[::20]:
                        checks.start_soon(check, a["ref"])
                assert sorted(statuses[a["ref"]] for a in accepted) == ["ENVOYE"] * CREDITS
                assert {statuses[a["ref"]] for a in refused[::20]} == {"ECHEC"}
                for a in refused[:5]:
                    page = await client.get(f"/api/V1/sms/{a['ref']}/messages", headers=headers)
                    if page.status_code == 200:
                        assert [m["raison"] for m in page.json()["messages"]] == ["SOLDE_INSUFFISANT"]

                def reasons(conn: Connection) -> dict[tuple[str, str | None], int]:
                    rows = conn.execute(
                        "SELECT statut, raison, COUNT(*) FROM messages WHERE account_id = ?"
                        " GROUP BY statut, raison",
                        (account_id,),
                    )
                    return {(statut, raison): n for statut, raison, n in rows}

                assert await stack.gateway.store.read(reasons) == {
                    ("ENVOYE", None): CREDITS,
                    ("ECHEC", "SOLDE_INSUFFISANT"): SENDS - CREDITS,
                }
                me = await _json(client, "/api/V1/compte", headers)
                assert (me["solde"], me["reserve"]) == (0, 0)
                audit = await _json(
                    client, f"/api/V1/admin/comptes/{account_id}/journal?limite=1000", stack.admin
                )
                assert audit["concorde"] is True
                assert audit["recalcule"]["debite"] == CREDITS
                assert stack.simulator.statistics().submit_accepted == CREDITS


async def _json(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]
