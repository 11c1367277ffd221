"""Status callbacks over HTTP: a real receiver on port 0 gets signed batches of
events from the outbox, in order per recipient, retried until it accepts them;
the secret is the account's own and replaceable; callback URLs are checked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY
from tests.callbacks.receiver import Receiver, signature_ok
from tests.harness import Stack, eventually, open_stack


async def _account_with_url(stack: Stack, url: str, **body: Any) -> tuple[int, str, str]:
    body.setdefault("nom", "Compte rappels")
    body.setdefault("type", "PREPAYE")
    r = await stack.client.post("/api/V1/admin/comptes", json=body, headers=stack.admin)
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["secretRappel"]
    assert isinstance(secret, str) and len(secret) >= 32
    r = await stack.client.patch(
        f"/api/V1/admin/comptes/{created['id']}", json={"urlRappel": url}, headers=stack.admin
    )
    assert r.status_code == 200, r.text
    shown = await stack.client.get(f"/api/V1/admin/comptes/{created['id']}", headers=stack.admin)
    assert "secretRappel" not in shown.json(), "the secret is shown once, at creation"
    return created["id"], created["cleApi"]["cle"], secret


async def test_events_are_signed_retried_in_order_and_the_secret_is_replaceable(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60), Receiver(failing=True) as receiver:
        async with open_stack(tmp_path) as stack:
            account_id, key, secret = await _account_with_url(stack, receiver.url, solde=20)
            headers = {"X-API-Key": key}
            sent = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers)
            assert sent.status_code == 202, sent.text
            ref = sent.json()["ref"]

            async def tried() -> int:
                return len(receiver.all())

            await eventually(tried, lambda n: n >= 2, within_s=15)  # refused, then retried
            receiver.failing = False

            async def delivered() -> list[dict[str, Any]]:
                return receiver.accepted_events()

            events = await eventually(
                delivered,
                lambda evs: sum(e["type"] == "LIVRAISON" for e in evs) >= 3,
                within_s=30,
            )
            for r in receiver.all():
                assert r.content_type.startswith("application/json")
                assert signature_ok(secret, r.body, r.signature), "signed with the account's secret"
            assert not signature_ok(key, receiver.all()[0].body, receiver.all()[0].signature)
            ids = [e["id"] for e in events]
            assert len(set(ids)) == len(ids) == 6, "one STATUT and one LIVRAISON per recipient"
            for number in MULDES_BODY["numeros"]:
                kinds = [e["type"] for e in events if e["destinataire"] == number]
                assert kinds == ["STATUT", "LIVRAISON"], f"{number}: in the order they happened"
            status = next(e for e in events if e["type"] == "STATUT")
            assert status["ref"] == ref and status["statut"] == "ENVOYE"
            assert set(status) >= {
                "id", "type", "ref", "destinataire", "statut", "raison", "codeSmsc", "envoyeLe",
                "livraison", "livreLe", "reference", "smsc", "doublonPossible",
            }
            assert stack.gateway.callbacks.statistics().attempts_failed >= 1

            rotated = await stack.client.post("/api/V1/compte/secret-rappel", headers=headers)
            assert rotated.status_code == 201, rotated.text
            new_secret = rotated.json()["secretRappel"]
            assert new_secret != secret
            before = len(receiver.all())
            again = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert again.status_code == 202
            await eventually(tried, lambda n: n > before, within_s=15)
            latest = receiver.all()[before:]
            assert all(signature_ok(new_secret, r.body, r.signature) for r in latest)
            assert not any(signature_ok(secret, r.body, r.signature) for r in latest)


async def test_an_account_without_url_leaves_nothing_in_the_outbox(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=5)
            sent = await stack.client.post(
                "/api/V1/sms/unides", json=UNIDES_BODY, headers={"X-API-Key": key}
            )
            ref = sent.json()["ref"]
            await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key}),
                lambda g: g.json()["compteurs"]["LIVRE"] == 1,
            )
            assert await stack.gateway.store.outbox.waiting() == 0


async def test_a_dead_url_is_dropped_after_its_age_and_counted_per_account(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path, SMSGW_CALLBACKS_MAX_AGE_S="2") as stack:
            listener = trio.socket.socket()
            await listener.bind(("127.0.0.1", 0))
            dead_port = listener.getsockname()[1]
            listener.close()  # nothing listens there: every attempt is refused
            account_id, key, _ = await _account_with_url(
                stack, f"http://127.0.0.1:{dead_port}/rappel", solde=5
            )
            sent = await stack.client.post(
                "/api/V1/sms/unides", json=UNIDES_BODY, headers={"X-API-Key": key}
            )
            ref = sent.json()["ref"]
            final = await eventually(
                lambda: stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key}),
                lambda g: g.json()["statut"] != "EN_ATTENTE",
                within_s=30,
            )
            assert final.json()["statut"] == "ENVOYE", "a dead callback URL never blocks sending"
            snapshot = await eventually(
                lambda: stack.client.get("/api/V1/admin/acteurs", headers=stack.admin),
                lambda a: a.json()["rappels"]["events_abandoned"] >= 2,
                within_s=30,
            )
            rappels = snapshot.json()["rappels"]
            assert rappels["attempts_failed"] >= 2
            mine = [a for a in rappels["par_compte"] if a["compte"] == account_id]
            assert mine and mine[0]["events_abandoned"] >= 2 and mine[0]["attempts_failed"] >= 2
            # counted when given up, then forgotten by the round's settlement
            await eventually(stack.gateway.store.outbox.waiting, lambda n: n == 0, within_s=10)
            metrics = (await stack.client.get("/metrics")).text
            assert 'smsgw_callback_events_total{issue="abandonne"}' in metrics
            assert f'smsgw_callback_account_failures_total{{compte="{account_id}",issue="echec"}}' in metrics


async def test_callback_urls_must_be_http_and_public(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path, SMSGW_CALLBACKS_ALLOW_PRIVATE="false") as stack:
            account_id, _ = await stack.new_account()
            refused: Counter[str] = Counter()
            for url in ("ftp://example.com/x", "pas une url", "http://127.0.0.1:9/x",
                        "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x",
                        "http://169.254.169.254/latest", "http://0.0.0.0/x"):
                r = await stack.client.patch(
                    f"/api/V1/admin/comptes/{account_id}", json={"urlRappel": url},
                    headers=stack.admin,
                )
                assert r.status_code == 422, (url, r.text)
                error = r.json()["erreur"]
                assert error["details"][0]["champ"] == "urlRappel"
                refused[error["code"]] += 1
            assert refused == {"VALIDATION": 2, "URL_RAPPEL_INTERDITE": 6}
            shown = await stack.client.get(f"/api/V1/admin/comptes/{account_id}",
                                           headers=stack.admin)
            assert shown.json()["urlRappel"] is None, "a refused URL is not kept"
            ok = await stack.client.patch(
                f"/api/V1/admin/comptes/{account_id}", json={"urlRappel": "https://93.184.215.14/r"},
                headers=stack.admin,
            )
            assert ok.status_code == 200, ok.text
