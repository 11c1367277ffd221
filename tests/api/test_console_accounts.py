"""The operator console's account administration over HTTP (form posts with the
session's CSRF token), against a whole gateway on port 0: every action does what
the admin API does and leaves a line in the account's journal naming the operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from tests.harness import PASSWORD, Stack, client_session, csrf_of, eventually, open_stack


@asynccontextmanager
async def operator_session(stack: Stack, name: str = "Awa") -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=30) as client:
        login = await client.get("/operateur")
        answer = await client.post("/operateur/connexion", data={
            "csrf": csrf_of(login.text), "jeton": stack.running.admin_token, "nom": name})
        assert answer.status_code == 303, answer.text
        listing = await client.get("/operateur/comptes")
        assert listing.status_code == 200
        yield client, csrf_of(listing.text)


async def journal(stack: Stack, account_id: int) -> list[dict[str, object]]:
    r = await stack.client.get(f"/api/V1/admin/comptes/{account_id}/journal", headers=stack.admin)
    assert r.status_code == 200
    return r.json()["ecritures"]  # type: ignore[no-any-return]


async def test_an_operator_creates_tops_up_and_amends_an_account_each_action_signed(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack, operator_session(stack) as (console, csrf):
            created = await console.post("/operateur/comptes", data={
                "csrf": csrf, "nom": "Pharmacie du Port", "type": "PREPAYE", "solde": "25",
                "email": "caisse@pharmacie.ga", "motDePasse": PASSWORD, "debitMax": "40"})
            assert created.status_code == 201, created.text
            key = created.text.split('id="nouvelle-cle">')[1].split("<")[0]
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.status_code == 200
            account_id = me.json()["id"]
            assert (me.json()["solde"], me.json()["debitMax"]) == (25, 40)
            # the key is shown on that answer only
            detail = await console.get(f"/operateur/comptes/{account_id}")
            assert key not in detail.text and "Pharmacie du Port" in detail.text

            found = await console.get("/operateur/comptes", params={"q": "PHARMA"})
            assert f'data-compte="{account_id}"' in found.text
            missing = await console.get("/operateur/comptes", params={"q": "introuvable"})
            assert "data-compte=" not in missing.text

            topped = await console.post(f"/operateur/comptes/{account_id}/credit",
                                        data={"csrf": csrf, "montant": "500"})
            assert topped.status_code == 303
            assert topped.headers["location"].endswith(f"/operateur/comptes/{account_id}?fait=credit")
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.json()["solde"] == 525

            rate = await console.post(f"/operateur/comptes/{account_id}/debit",
                                      data={"csrf": csrf, "debitMax": "12.5"})
            assert rate.status_code == 303
            typed = await console.post(f"/operateur/comptes/{account_id}/type",
                                       data={"csrf": csrf, "type": "POSTPAYE"})
            assert typed.status_code == 303
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert (me.json()["type"], me.json()["debitMax"]) == ("POSTPAYE", 12.5)

            # a postpaid account is not topped up: the page says why, nothing changes
            refused = await console.post(f"/operateur/comptes/{account_id}/credit",
                                         data={"csrf": csrf, "montant": "10"})
            assert refused.status_code == 409
            assert 'id="erreur"' in refused.text
            bad = await console.post(f"/operateur/comptes/{account_id}/credit",
                                     data={"csrf": csrf, "montant": "-3"})
            assert bad.status_code == 422 and 'data-champ="montant"' in bad.text

            actions = [e for e in await journal(stack, account_id) if e["nature"] == "ADMIN"]
            assert {a["montant"] for a in actions} == {0}
            signed = "administration (console) « Awa » depuis 127.0.0.1 : "
            assert [str(a["detail"]) for a in actions] == [
                signed + "compte créé (PREPAYE)",
                signed + "crédit de 500",
                signed + "débit fixé à 12.5 SMS/s",
                signed + "type changé en POSTPAYE",
            ]
            # the journal still adds up to the balances
            audit = await stack.client.get(f"/api/V1/admin/comptes/{account_id}/journal",
                                           headers=stack.admin)
            assert audit.json()["concorde"] is True


async def test_invoices_close_and_settle_from_the_console(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack, operator_session(stack) as (console, csrf):
            account_id, key = await stack.new_account(type="POSTPAYE")
            sent = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key}, json={
                "emetteur": "PHARMA", "destinataire": "+24106123456", "corps": "Bonjour"})
            assert sent.status_code == 202

            async def consumed() -> int:
                r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                return int(r.json()["consommation"])

            await eventually(consumed, lambda n: n == 1)
            closed = await console.post(f"/operateur/comptes/{account_id}/factures",
                                        data={"csrf": csrf})
            assert closed.status_code == 303
            invoices = (await stack.client.get(f"/api/V1/admin/comptes/{account_id}/factures",
                                               headers=stack.admin)).json()["factures"]
            assert [(i["montant"], i["reglee"]) for i in invoices] == [(1, False)]
            invoice_id = invoices[0]["id"]

            other, _ = await stack.new_account(type="POSTPAYE", nom="Autre")
            wrong = await console.post(f"/operateur/comptes/{other}/factures/{invoice_id}/reglement",
                                       data={"csrf": csrf})
            assert wrong.status_code == 422
            settled = await console.post(
                f"/operateur/comptes/{account_id}/factures/{invoice_id}/reglement", data={"csrf": csrf})
            assert settled.status_code == 303
            page = await console.get(settled.headers["location"])
            assert "Facture réglée." in page.text and "Réglée le" in page.text
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.json()["du"] == 0
            details = [str(e["detail"]) for e in await journal(stack, account_id)
                       if e["nature"] == "ADMIN" and "console" in str(e["detail"])]
            assert details == [
                f"administration (console) « Awa » depuis 127.0.0.1 : facture {invoice_id} émise",
                f"administration (console) « Awa » depuis 127.0.0.1 : facture {invoice_id} réglée",
            ]


async def test_the_password_reset_ends_the_clients_sessions_and_the_new_one_logs_in(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack, operator_session(stack) as (console, csrf):
            account_id, _ = await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (space, _):
                reset = await console.post(f"/operateur/comptes/{account_id}/mot-de-passe",
                                           data={"csrf": csrf, "motDePasse": "un-autre-secret-9"})
                assert reset.status_code == 303
                assert (await space.get("/espace")).status_code == 302
            async with client_session(stack, "a@banque.ga", "un-autre-secret-9"):
                pass


async def test_no_action_without_the_operator_session_or_its_csrf_token(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=5, email="a@banque.ga",
                                                      motDePasse=PASSWORD)
            anonymous = await stack.client.get("/operateur/comptes")
            assert anonymous.status_code == 302
            nobody = await stack.client.post(f"/operateur/comptes/{account_id}/credit",
                                             data={"csrf": "x", "montant": "100"})
            assert nobody.status_code == 401
            async with client_session(stack, "a@banque.ga") as (space, space_csrf):
                assert (await space.get("/operateur/comptes")).status_code == 403
                client_try = await space.post(f"/operateur/comptes/{account_id}/credit",
                                              data={"csrf": space_csrf, "montant": "100"})
                assert client_try.status_code == 403
            async with operator_session(stack) as (console, _):
                forged = await console.post(f"/operateur/comptes/{account_id}/credit",
                                            data={"csrf": "pas-le-bon", "montant": "100"})
                assert forged.status_code == 403
                unknown = await console.get("/operateur/comptes/999999")
                assert unknown.status_code == 404
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.json()["solde"] == 5
            assert not [e for e in await journal(stack, account_id)
                        if e["nature"] == "ADMIN" and "console" in str(e["detail"])]
