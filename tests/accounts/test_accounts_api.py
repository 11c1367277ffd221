"""The accounts API as an operator and an integrator use it: amend, top up,
invoice, settle, audit the journal, regenerate and expire keys."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from engine.store.sql import Connection
from tests.harness import Stack, eventually, open_stack

SEND = {"emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": "Bonjour"}


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()["erreur"]
    assert body["code"] == code, body
    assert body["message"] and isinstance(body["details"], list)
    return body


async def _sent(stack: Stack, key: str, count: int) -> None:
    """Send `count` single messages and wait until each has ended."""
    headers = {"X-API-Key": key}
    refs = []
    for n in range(count):
        r = await stack.client.post(
            "/api/V1/sms/unides", json={**SEND, "destinataire": f"+2410612300{n}"}, headers=headers
        )
        assert r.status_code == 202, r.text
        refs.append(r.json()["ref"])
    for ref in refs:
        await eventually(
            partial(stack.client.get, f"/api/V1/sms/{ref}", headers=headers),
            lambda g: g.json()["statut"] != "EN_ATTENTE",
        )


async def test_postpaid_life_cycle_invoice_and_settlement(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            admin = stack.admin
            account_id, key = await stack.new_account(type="POSTPAYE")
            await _sent(stack, key, 3)
            me = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert (me["type"], me["consommation"], me["du"], me["solde"]) == ("POSTPAYE", 3, 0, 0)

            r = await stack.client.post(f"/api/V1/admin/comptes/{account_id}/factures", headers=admin)
            assert r.status_code == 201, r.text
            invoice = r.json()
            assert invoice["nbSms"] == 3 and invoice["montant"] == 3
            assert invoice["debut"] <= invoice["fin"] and invoice["id"]
            me = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert (me["consommation"], me["du"]) == (0, 3)

            listed = await stack.client.get(f"/api/V1/admin/comptes/{account_id}/factures", headers=admin)
            assert [i["id"] for i in listed.json()["factures"]] == [invoice["id"]]

            paid = await stack.client.post(
                f"/api/V1/admin/factures/{invoice['id']}/reglement", headers=admin
            )
            assert paid.status_code == 200, paid.text
            assert paid.json()["reglee"] is True and paid.json()["du"] == 0
            again = await stack.client.post(
                f"/api/V1/admin/factures/{invoice['id']}/reglement", headers=admin
            )
            _error(again, 409, "FACTURE_DEJA_REGLEE")
            _error(
                await stack.client.post("/api/V1/admin/factures/999999/reglement", headers=admin),
                404,
                "FACTURE_INCONNUE",
            )
            top_up = await stack.client.post(
                f"/api/V1/admin/comptes/{account_id}/credit", json={"montant": 10}, headers=admin
            )
            _error(top_up, 409, "COMPTE_POSTPAYE")

            journal = await stack.client.get(f"/api/V1/admin/comptes/{account_id}/journal", headers=admin)
            assert journal.status_code == 200, journal.text
            body = journal.json()
            money = [e["nature"] for e in body["ecritures"] if e["nature"] != "ADMIN"]
            assert money == [
                "CONSOMMATION", "CONSOMMATION", "CONSOMMATION", "FACTURE", "REGLEMENT"
            ] or sorted(money) == sorted(["CONSOMMATION"] * 3 + ["FACTURE", "REGLEMENT"])
            said = [e["detail"] for e in body["ecritures"] if e["nature"] == "ADMIN"]
            assert said == [
                "administration (API) : compte créé (POSTPAYE)",
                f"administration (API) : facture {invoice['id']} émise",
                f"administration (API) : facture {invoice['id']} réglée",
            ], "every admin action is journalled with who made it"
            assert all(e["montant"] == 0 for e in body["ecritures"] if e["nature"] == "ADMIN")
            assert body["concorde"] is True
            assert body["recalcule"]["du"] == 0 and body["recalcule"]["consommation"] == 0


async def test_prepaid_account_refusals_and_type_changes(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            admin = stack.admin
            account_id, key = await stack.new_account(solde=5)
            base = f"/api/V1/admin/comptes/{account_id}"
            _error(await stack.client.post(f"{base}/factures", headers=admin), 409, "COMPTE_PREPAYE")
            for amount in (0, -4):
                body = _error(
                    await stack.client.post(f"{base}/credit", json={"montant": amount}, headers=admin),
                    422,
                    "VALIDATION",
                )
                assert [d["champ"] for d in body["details"]] == ["montant"]
            _error(
                await stack.client.patch(base, json={"type": "PREPAYE"}, headers=admin),
                409,
                "TYPE_INCHANGE",
            )
            for unknown in ("/api/V1/admin/comptes/424242", "/api/V1/admin/comptes/424242/journal",
                            "/api/V1/admin/comptes/424242/factures"):
                _error(await stack.client.get(unknown, headers=admin), 404, "COMPTE_INCONNU")
            _error(
                await stack.client.post("/api/V1/admin/comptes/424242/credit", json={"montant": 3},
                                        headers=admin),
                404,
                "COMPTE_INCONNU",
            )
            _error(
                await stack.client.patch("/api/V1/admin/comptes/424242", json={"nom": "X"},
                                         headers=admin),
                404,
                "COMPTE_INCONNU",
            )
            bad = _error(
                await stack.client.patch(base, json={"solde": 100, "debitMax": 0}, headers=admin),
                422,
                "VALIDATION",
            )
            assert {d["champ"] for d in bad["details"]} == {"solde", "debitMax"}
            _error(await stack.client.patch(base, json={}, headers=admin), 422, "VALIDATION")

            await _sent(stack, key, 2)  # prepaid: 5 - 2 = 3 left
            r = await stack.client.patch(
                base,
                json={"type": "POSTPAYE", "debitMax": 25, "nom": "Banque du Sud",
                      "urlRappel": "https://exemple.ga/statuts"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            shown = r.json()
            assert (shown["type"], shown["solde"], shown["debitMax"], shown["nom"]) == (
                "POSTPAYE", 3, 25, "Banque du Sud"
            ), "a prepaid balance left over is kept and shown"
            assert shown["urlRappel"] == "https://exemple.ga/statuts"
            await _sent(stack, key, 4)  # postpaid: counted, balance untouched
            me = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
            assert (me["solde"], me["consommation"], me["debitMax"]) == (3, 4, 25)

            back = await stack.client.patch(base, json={"type": "PREPAYE", "urlRappel": None},
                                            headers=admin)
            assert back.status_code == 200 and back.json()["urlRappel"] is None
            # consumption left from the postpaid period can still be invoiced
            final = await stack.client.post(f"{base}/factures", headers=admin)
            assert final.status_code == 201 and final.json()["montant"] == 4
            credited = await stack.client.post(f"{base}/credit", json={"montant": 7}, headers=admin)
            assert credited.json()["solde"] == 10
            audit = (await stack.client.get(f"{base}/journal", headers=admin)).json()
            assert audit["concorde"] is True
            assert audit["recalcule"]["solde"] == 10 and audit["recalcule"]["du"] == 4
            assert audit["recalcule"]["debite"] == 2


async def test_postpaid_account_cannot_be_created_with_a_balance(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with open_stack(tmp_path) as stack:
            r = await stack.client.post(
                "/api/V1/admin/comptes", json={"nom": "X", "type": "POSTPAYE", "solde": 10},
                headers=stack.admin,
            )
            body = _error(r, 422, "VALIDATION")
            assert [d["champ"] for d in body["details"]] == ["solde"]
            listed = (await stack.client.get("/api/V1/admin/comptes", headers=stack.admin)).json()
            assert all(c["nom"] != "X" for c in listed["comptes"]), "nothing left behind"


async def test_regenerated_key_revokes_the_old_one_at_once_and_keys_never_reach_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(20):
        async with open_stack(tmp_path) as stack:
            account_id, old = await stack.new_account(solde=3)
            ok = await stack.client.get("/api/V1/compte", headers={"X-API-Key": old})
            assert ok.status_code == 200
            r = await stack.client.post("/api/V1/compte/cle", headers={"X-API-Key": old})
            assert r.status_code == 201, r.text
            new = r.json()["cleApi"]["cle"]
            assert new != old and len(new) == 36
            _error(await stack.client.get("/api/V1/compte", headers={"X-API-Key": old}),
                   401, "CLE_API_INVALIDE")
            _error(await stack.client.post("/api/V1/sms/unides", json=SEND,
                                           headers={"X-API-Key": old}), 401, "CLE_API_INVALIDE")
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": new})
            assert me.status_code == 200 and me.json()["id"] == account_id
            assert "cle" not in me.json()["cleApi"], "a key is shown only once"
            _error(await stack.client.get("/api/V1/compte"), 401, "CLE_API_MANQUANTE")
            made_up = "00000000-0000-4000-8000-000000000000"
            _error(await stack.client.get("/api/V1/compte", headers={"X-API-Key": made_up}),
                   401, "CLE_API_INVALIDE")
    logged = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_info) for record in caplog.records
    )
    for secret in (old, new, made_up):
        assert secret not in logged
    assert stack.running.admin_token not in logged


async def test_expired_key_answers_401_cle_api_expiree(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=3)

            def expire(conn: Connection) -> None:
                conn.execute(
                    "UPDATE api_keys SET expire_le = '2020-01-01T00:00:00.000Z' WHERE account_id = ?",
                    (account_id,),
                )

            await stack.gateway.store.transact(expire)
            body = _error(await stack.client.post("/api/V1/sms/unides", json=SEND,
                                                  headers={"X-API-Key": key}),
                          401, "CLE_API_EXPIREE")
            assert "2020-01-01" in body["message"]
            _error(await stack.client.get("/api/V1/compte", headers={"X-API-Key": key}),
                   401, "CLE_API_EXPIREE")
            detail = await stack.client.get(f"/api/V1/admin/comptes/{account_id}",
                                            headers=stack.admin)
            assert detail.json()["solde"] == 3, "nothing was reserved for the refused send"
