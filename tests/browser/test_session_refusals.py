"""Client space and operator console refusals, over plain HTTP against a whole
gateway: wrong password, rate limit, expired or forged session, missing CSRF
token, a client at the operator console, another account's data."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from quart.sessions import SecureCookieSessionInterface
from quart_trio import QuartTrio

from api.routes.espace import IDLE_S, MAX_S, session_secret
from tests.harness import PASSWORD, Stack, client_session, csrf_of, eventually, open_stack

UNIDES = {"type": "UNIDES", "emetteur": "ION-Networking", "destinataire": "+24106123456",
          "corps": "Bienvenue sur SMS Gateway !"}


async def new_client(stack: Stack, email: str, **body: object) -> tuple[int, str]:
    return await stack.new_account(nom=email.split("@")[0], email=email, motDePasse=PASSWORD, **body)


def forged_cookie(admin_token: str, **data: object) -> str:
    """A correctly signed session cookie with chosen contents (as the server would sign it)."""
    app = QuartTrio(__name__)
    app.secret_key = session_secret(admin_token)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return serializer.dumps(data)


async def test_wrong_password_is_refused_and_attempts_are_rate_limited(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            await new_client(stack, "compta@banque.ga")
            async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10) as client:
                token = csrf_of((await client.get("/espace/connexion")).text)
                for _ in range(5):
                    r = await client.post("/espace/connexion", data={
                        "csrf": token, "identifiant": "compta@banque.ga", "motDePasse": "faux"})
                    assert r.status_code == 401
                    assert "Identifiant ou mot de passe incorrect." in r.text
                    assert (await client.get("/espace")).status_code == 302, "still logged out"
                r = await client.post("/espace/connexion", data={
                    "csrf": token, "identifiant": "compta@banque.ga", "motDePasse": PASSWORD})
                assert r.status_code == 429, "even the right password waits once the limit is reached"
                assert "Trop de tentatives de connexion" in r.text
                unknown = await client.post("/espace/connexion", data={
                    "csrf": token, "identifiant": "personne@nulle.part", "motDePasse": "x"})
                assert unknown.status_code == 401
                assert "Identifiant ou mot de passe incorrect." in unknown.text


async def test_expired_or_forged_session_goes_back_to_login(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            account_id, _ = await new_client(stack, "compta@banque.ga")
            now = int(time.time())
            token = stack.running.admin_token
            cases = {
                "too old": forged_cookie(token, role="client", compte=account_id, debut=now - MAX_S - 5,
                                         vu=now, csrf="x"),
                "idle": forged_cookie(token, role="client", compte=account_id, debut=now - 60,
                                      vu=now - IDLE_S - 5, csrf="x"),
            }
            for case, cookie in cases.items():
                async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10,
                                             cookies={"smsgw_session": cookie}) as client:
                    home = await client.get("/espace")
                    assert home.status_code == 302, case
                    assert home.headers["location"] == "/espace/connexion?expiree=1", case
                    login = await client.get(home.headers["location"])
                    assert "Votre session a expiré" in login.text, case
                async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10,
                                             cookies={"smsgw_session": cookie}) as client:
                    data = await client.get("/espace/donnees/compte")
                    assert data.status_code == 401, case
                    assert data.json()["erreur"]["code"] == "SESSION_EXPIREE", case
            fresh = forged_cookie(token, role="client", compte=account_id, debut=now, vu=now, csrf="x")
            tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
            async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10,
                                         cookies={"smsgw_session": tampered}) as client:
                data = await client.get("/espace/donnees/compte")
                assert data.status_code == 401
                assert data.json()["erreur"]["code"] == "NON_CONNECTE"


async def test_posts_without_csrf_token_are_refused_and_change_nothing(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            account_id, key = await new_client(stack, "compta@banque.ga", solde=10)
            async with client_session(stack, "compta@banque.ga") as (client, token):
                for path, data in (("/espace/envois", UNIDES), ("/espace/cle", {})):
                    for headers, body in (({}, data), ({"X-CSRF-Token": "faux"}, data),
                                          ({}, {**data, "csrf": "faux"})):
                        r = await client.post(path, data=body, headers=headers)
                        assert r.status_code == 403, (path, headers, body)
                        assert r.json()["erreur"]["code"] == "CSRF_INVALIDE"
                        assert "CSRF" in r.json()["erreur"]["message"]
                assert (await client.get("/espace/donnees/envois")).json()["envois"] == []
                still = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                assert still.status_code == 200, "the key was not regenerated"
                assert still.json()["solde"] == 10 and still.json()["reserve"] == 0
                logout = await client.post("/espace/deconnexion")
                assert logout.status_code == 403
                assert (await client.get("/espace")).status_code == 200, "still logged in"
                ok = await client.post("/espace/deconnexion", data={"csrf": token})
                assert ok.status_code == 303
                assert (await client.get("/espace")).status_code == 302
            async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10) as anonymous:
                await anonymous.get("/espace/connexion")
                r = await anonymous.post("/espace/connexion", data={
                    "identifiant": "compta@banque.ga", "motDePasse": PASSWORD})
                assert r.status_code == 403 and "CSRF" in r.text
                assert (await anonymous.get("/espace")).status_code == 302


async def test_client_session_is_refused_at_the_operator_console(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            await new_client(stack, "compta@banque.ga")
            async with client_session(stack, "compta@banque.ga") as (client, token):
                page = await client.get("/operateur")
                assert page.status_code == 403
                assert "réservée aux opérateurs" in page.text
                for path in ("/operateur/flux", "/operateur/instantane"):
                    r = await client.get(path)
                    assert r.status_code == 403
                    assert r.json()["erreur"]["code"] == "RESERVE_OPERATEURS"
            async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10) as visitor:
                assert (await visitor.get("/operateur/flux")).status_code == 401
                token = csrf_of((await visitor.get("/operateur")).text)
                wrong = await visitor.post("/operateur/connexion", data={"csrf": token, "jeton": "devine"})
                assert wrong.status_code == 401
                assert "Jeton d'administration invalide." in html.unescape(wrong.text)
                right = await visitor.post("/operateur/connexion", data={
                    "csrf": token, "jeton": stack.running.admin_token})
                assert right.status_code == 303
                snap = (await visitor.get("/operateur/instantane")).json()
                assert {"acteurs", "debit", "simulateur", "sante"} <= snap.keys()
                assert (await visitor.get("/espace")).status_code == 302, "an operator is not a client"


async def test_a_client_sees_only_its_own_sends(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            await new_client(stack, "a@banque.ga", solde=5)
            _, key_b = await new_client(stack, "b@assurance.ga", solde=5)
            other = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key_b}, json={
                "emetteur": "Assurance", "destinataire": "+24107000001", "corps": "Confidentiel B"})
            other_ref = other.json()["ref"]
            async with client_session(stack, "a@banque.ga") as (client, token):
                mine = await client.post("/espace/envois", data={**UNIDES, "csrf": token})
                assert mine.status_code == 202
                listing = (await client.get("/espace/donnees/envois")).json()["envois"]
                assert [s["ref"] for s in listing] == [mine.json()["ref"]]
                leak = await client.get(f"/espace/donnees/envois/{other_ref}/messages")
                assert leak.status_code == 404
                assert leak.json()["erreur"]["code"] == "REF_INCONNUE"
                home = await client.get("/espace")
                assert "Confidentiel B" not in home.text and "b@assurance.ga" not in home.text


async def test_send_form_takes_pasted_numbers_and_csv_and_refuses_bad_input(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await new_client(stack, "compta@banque.ga", solde=10)
            async with client_session(stack, "compta@banque.ga") as (client, token):
                csv = "nom;numero\nJean;+24106000001\n\"Paul\";\"+24106000002\"\n\nAnne;+24106000001\n"
                r = await client.post(
                    "/espace/envois",
                    data={"type": "MULDES", "emetteur": "ION", "corps": "Promo",
                          "numeros": "+24107000001\n+24107000002\n", "csrf": token},
                    files={"fichier": ("clients.csv", csv.encode(), "text/csv")},
                )
                assert r.status_code == 202, r.text
                assert r.json()["nbDestinataires"] == 4 and r.json()["doublonsIgnores"] == 1
                for bad, champ in (({"corps": ""}, "corps"), ({"emetteur": ""}, "emetteur"),
                                   ({"type": "MULDES", "numeros": ""}, "numeros"),
                                   ({"type": "AUTRE"}, "type")):
                    r = await client.post("/espace/envois", data={**UNIDES, **bad, "csrf": token})
                    assert r.status_code == 422, (bad, r.text)
                    error = r.json()["erreur"]
                    assert error["code"] == "VALIDATION"
                    assert champ in [d["champ"] for d in error["details"]], error
                assert len((await client.get("/espace/donnees/envois")).json()["envois"]) == 1
                account = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
                assert account["solde"] + account["reserve"] <= 6


async def test_postpaid_client_sees_consumption_amount_due_and_its_invoices(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            account_id, _ = await new_client(stack, "compta@etat.ga", type="POSTPAYE")
            async with client_session(stack, "compta@etat.ga") as (client, token):
                sent = await client.post("/espace/envois", data={**UNIDES, "csrf": token})
                assert sent.status_code == 202

                async def account() -> dict[str, Any]:
                    answer: dict[str, Any] = (await client.get("/espace/donnees/compte")).json()
                    return answer

                await eventually(account, lambda a: a["consommation"] == 1)
                closed = await stack.client.post(
                    f"/api/V1/admin/comptes/{account_id}/factures", headers=stack.admin
                )
                assert closed.status_code in (200, 201), closed.text
                invoices = (await client.get("/espace/donnees/factures")).json()["factures"]
                assert [(f["nbSms"], f["montant"], f["reglee"]) for f in invoices] == [(1, 1, False)]
                now = await account()
                assert now["type"] == "POSTPAYE" and now["du"] == 1 and now["consommation"] == 0
                home = await client.get("/espace")
                assert "Montant dû" in home.text and "Factures" in home.text
