"""Cursor pagination of a send's recipients stays exact while the send is under
way: every recipient of a 10,000-number MULDES comes back exactly once, even as
statuses change between pages."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.harness import eventually, open_stack

N = 10_000


async def test_walk_of_a_muldes_in_flight_returns_every_recipient_once(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            # 2 binds x window 100 at 40 ms a submit: ~5,000 messages/s, so sending the
            # 10,000 overlaps the walk below
            stack.simulator.configure(latency=40)
            _, key = await stack.new_account(solde=N, debitMax=100_000)
            headers = {"X-API-Key": key}
            numbers = [f"+2410{6 + n % 2}{n:06d}" for n in range(N)]
            r = await stack.client.post(
                "/api/V1/sms/muldes",
                json={"emetteur": "ION-Networking", "numeros": numbers, "corps": "Promo"},
                headers=headers,
            )
            assert r.status_code == 202, r.text
            assert r.json()["nbDestinataires"] == N
            ref = r.json()["ref"]

            seen: list[str] = []
            statuses_per_page: list[set[str]] = []
            cursor: str | None = None
            await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers=headers),
                lambda g: g.json()["compteurs"]["ENVOYE"] > 0,
            )
            while True:
                params = {"limite": "250"} | ({"curseur": cursor} if cursor else {})
                page = await stack.client.get(
                    f"/api/V1/sms/{ref}/messages", params=params, headers=headers
                )
                assert page.status_code == 200, page.text
                body = page.json()
                seen.extend(m["destinataire"] for m in body["messages"])
                statuses_per_page.append({m["statut"] for m in body["messages"]})
                cursor = body["curseurSuivant"]
                if cursor is None:
                    break
            during = (await stack.client.get(f"/api/V1/sms/{ref}", headers=headers)).json()

            assert len(seen) == N, f"{len(seen)} rows for {N} recipients"
            assert sorted(seen) == sorted(numbers), "each recipient exactly once"
            assert seen == numbers, "in the order of the list sent"
            assert any("ENVOYE" in s for s in statuses_per_page)
            assert any("EN_ATTENTE" in s for s in statuses_per_page), (
                "the walk must overlap sending to prove anything"
            )
            assert during["compteurs"]["EN_ATTENTE"] < N

            final = await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers=headers),
                lambda g: g.json()["statut"] != "EN_ATTENTE",
                within_s=30,
            )
            assert final.json()["compteurs"]["ENVOYE"] == N
            sent_only = await stack.client.get(
                f"/api/V1/sms/{ref}/messages", params={"statut": "ENVOYE", "limite": "1000"},
                headers=headers,
            )
            assert {m["statut"] for m in sent_only.json()["messages"]} == {"ENVOYE"}
            assert len(sent_only.json()["messages"]) == 1000
