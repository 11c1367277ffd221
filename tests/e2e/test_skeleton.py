"""One UNIDES through every layer, over real sockets: HTTP in, SMPP out."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import trio

from tests.harness import eventually, open_stack

SEED_BODY = {
    "emetteur": "ION-Networking",
    "destinataire": "+24106123456",
    "corps": "Bienvenue sur SMS Gateway !",
}


async def test_seed_unides_is_accepted_then_sent_and_reaches_the_smsc(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            key = stack.running.demo_key
            assert key, "a fresh data folder gets a demo account"
            r = await stack.client.post(
                "/api/V1/sms/unides", json=SEED_BODY, headers={"X-API-Key": key}
            )
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["type"] == "UNIDES"
            assert body["statut"] == "EN_ATTENTE"
            assert body["ref"].isdigit() and len(body["ref"]) >= 6
            assert body["segments"] == 1 and body["encodage"] == "GSM7"

            async def status() -> dict[str, Any]:
                got = await stack.client.get(
                    f"/api/V1/sms/{body['ref']}", headers={"X-API-Key": key}
                )
                assert got.status_code == 200
                answer: dict[str, Any] = got.json()
                return answer

            final = await eventually(status, lambda s: s["statut"] != "EN_ATTENTE", within_s=5)
            assert final["statut"] == "ENVOYE"
            assert final["compteurs"]["ENVOYE"] == 1
            stats = stack.simulator.statistics()
            assert stats.submit_accepted == 1
            submitted = list(stack.simulator.submitted)
            assert submitted[-1].destination == "24106123456"


async def test_balance_of_two_lets_two_of_three_through(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=2)
            headers = {"X-API-Key": key}
            refs = []
            for n in range(3):
                r = await stack.client.post(
                    "/api/V1/sms/unides",
                    json={**SEED_BODY, "destinataire": f"+2410612345{n}"},
                    headers=headers,
                )
                assert r.status_code == 202, r.text
                refs.append(r.json())
            assert [a["statut"] for a in refs] == ["EN_ATTENTE", "EN_ATTENTE", "ECHEC"]

            async def outcome(ref: str) -> dict[str, Any]:
                got = await stack.client.get(f"/api/V1/sms/{ref}", headers=headers)
                answer: dict[str, Any] = got.json()
                return answer

            finals = [
                await eventually(partial(outcome, a["ref"]), lambda s: s["statut"] != "EN_ATTENTE")
                for a in refs
            ]
            assert [f["statut"] for f in finals] == ["ENVOYE", "ENVOYE", "ECHEC"]
            messages = await stack.client.get(
                f"/api/V1/sms/{refs[2]['ref']}/messages", headers=headers
            )
            if messages.status_code == 200:
                assert messages.json()["messages"][0]["raison"] == "SOLDE_INSUFFISANT"
            account = (await stack.client.get("/api/V1/compte", headers=headers)).json()
            assert account["solde"] == 0
            assert account["reserve"] == 0
            assert stack.simulator.statistics().submit_accepted == 2


async def test_restart_keeps_account_balance_and_history(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            r = await stack.client.post("/api/V1/sms/unides", json=SEED_BODY, headers=headers)
            ref = r.json()["ref"]
            await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers=headers),
                lambda g: g.json()["statut"] == "ENVOYE",
            )
        async with open_stack(tmp_path) as stack:
            assert stack.running.demo_key is None, "no second demo account on a used folder"
            account = (await stack.client.get("/api/V1/compte", headers=headers)).json()
            assert account["id"] == account_id
            assert account["solde"] == 9
            assert account["reserve"] == 0
            again = (await stack.client.get(f"/api/V1/sms/{ref}", headers=headers)).json()
            assert again["statut"] == "ENVOYE"
            assert again["corps"] == SEED_BODY["corps"]
