"""Idempotency-Key: a replay answers the first answer and sends nothing; another
body with the same key is a conflict; records are forgotten after their time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY, footprint
from tests.harness import eventually, open_stack


async def test_replay_returns_the_same_ref_and_the_smsc_sees_one_submit(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key, "Idempotency-Key": "commande-2025-10-10-0001"}
            first = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert first.status_code == 202
            ref = first.json()["ref"]
            await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key}),
                lambda r: r.json()["statut"] == "ENVOYE",
            )
            before = await footprint(stack)
            again = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert again.status_code == 202
            assert again.json() == first.json()
            # concurrent replays, as a client retrying on a timeout would send them
            answers: list[dict[str, Any]] = []

            async def replay() -> None:
                r = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
                answers.append(r.json())

            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(replay)
            assert {a["ref"] for a in answers} == {ref}
            assert await footprint(stack) == before, "a replay stores and reserves nothing"
            assert stack.simulator.statistics().submit_accepted == 1
            assert len(stack.simulator.submitted) == 1

            other = await stack.client.post(
                "/api/V1/sms/unides", json={**UNIDES_BODY, "corps": "Autre texte"}, headers=headers
            )
            assert other.status_code == 409
            assert other.json()["erreur"]["code"] == "IDEMPOTENCE_CONFLIT"
            elsewhere = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers)
            assert elsewhere.status_code == 409, "the same key on another endpoint is another body"
            assert await footprint(stack) == before


async def test_records_older_than_the_ttl_are_forgotten(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            assert stack.settings.gateway.idempotency_ttl_s == 86_400
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key, "Idempotency-Key": "k-1"}
            first = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            store = stack.gateway.store
            kept = await store.idempotency.expire(time.time() - 86_400)
            assert kept == 0, "a fresh record stays"
            removed = await store.idempotency.expire(time.time() + 1)
            assert removed == 1
            later = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert later.status_code == 202
            assert later.json()["ref"] != first.json()["ref"], "an expired key sends again"


async def test_ten_simultaneous_requests_with_one_key_get_the_one_real_ref_and_one_charge(
    tmp_path: Path,
) -> None:
    """The ten land while the account's actor commits a large send, so they are
    decided together in one batch: the first is sent, the nine others answer its ref."""
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            big = [f"+2410610{i:04d}" for i in range(3000)]
            _, key = await stack.new_account(solde=len(big) + 1)
            plain = {"X-API-Key": key}
            headers = {**plain, "Idempotency-Key": "otp-2025-10-10-42"}
            answers: list[dict[str, Any]] = []

            async def bulk() -> None:
                r = await stack.client.post(
                    "/api/V1/sms/muldes", json={**MULDES_BODY, "numeros": big}, headers=plain
                )
                assert r.status_code == 202, r.text

            async def once() -> None:
                r = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
                assert r.status_code == 202, r.text
                answers.append(r.json())

            async with trio.open_nursery() as nursery:
                nursery.start_soon(bulk)
                await trio.sleep(0.005)  # let the large send reach the actor first
                for _ in range(10):
                    nursery.start_soon(once)
            refs = {a["ref"] for a in answers}
            assert len(answers) == 10 and len(refs) == 1, refs
            (ref,) = refs
            assert int(ref) > 0, "a real ref, never 000000"
            shown = await stack.client.get(f"/api/V1/sms/{ref}", headers=plain)
            assert shown.status_code == 200 and shown.json()["nbDestinataires"] == 1
            listed = await stack.client.get("/api/V1/sms?type=UNIDES", headers=plain)
            assert [s["ref"] for s in listed.json()["envois"]] == [ref], "one send recorded"
            account = await stack.client.get("/api/V1/compte", headers=plain)
            assert account.json()["solde"] + account.json()["reserve"] <= 1 + len(big)
            final = await eventually(
                lambda: stack.client.get("/api/V1/compte", headers=plain),
                lambda r: r.json()["reserve"] == 0,
                within_s=45,
            )
            assert final.json()["solde"] == 0, "charged once: the large send and one SMS"
