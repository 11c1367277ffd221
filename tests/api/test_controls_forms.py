"""The client space's keys and opt-out pages and the console's suspension and
sender names over HTTP (session cookie, CSRF token), against a whole gateway on
port 0: each form does what the API does, and refuses what it refuses."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from tests.api.test_console_accounts import journal, operator_session
from tests.harness import PASSWORD, client_session, open_stack


async def test_keys_from_the_client_space_up_to_the_limit_and_revoked_at_once(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            _, first = await stack.new_account(solde=5, email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (space, csrf):
                made = []
                for n in range(9):
                    answer = await space.post("/espace/cles", data={"csrf": csrf, "nom": f"Serveur {n}"})
                    assert answer.status_code == 201, answer.text
                    made.append(re.search(r'id="nouvelle-cle">([^<]+)<', answer.text).group(1))  # type: ignore[union-attr]
                eleventh = await space.post("/espace/cles", data={"csrf": csrf, "nom": "De trop"})
                assert eleventh.status_code == 409 and "TROP_DE_CLES" not in eleventh.text
                assert 'id="erreur"' in eleventh.text
                unnamed = await space.post("/espace/cles", data={"csrf": csrf, "nom": " "})
                assert unnamed.status_code == 422 and 'data-champ="nom"' in unnamed.text
                forged = await space.post("/espace/cles", data={"csrf": "x", "nom": "Pirate"})
                assert forged.status_code == 403
                # the session that made keys goes on
                assert (await space.get("/espace/cles")).status_code == 200

                keys = (await stack.client.get("/api/V1/compte/cles",
                                               headers={"X-API-Key": first})).json()["cles"]
                assert len(keys) == 10
                target = next(k for k in keys if k["nom"] == "Serveur 0")
                revoked = await space.post(f"/espace/cles/{target['id']}/revocation",
                                           data={"csrf": csrf})
                assert revoked.status_code == 303
                refused = await stack.client.get("/api/V1/compte", headers={"X-API-Key": made[0]})
                assert refused.status_code == 401
                again = await space.post(f"/espace/cles/{target['id']}/revocation",
                                         data={"csrf": csrf})
                assert again.status_code == 404


async def test_the_opt_out_list_from_the_client_space(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=5, email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (space, csrf):
                bad = await space.post("/espace/desinscrits", data={
                    "csrf": csrf, "numeros": "+24106000001\npas-un-numero-1"})
                assert bad.status_code == 422
                listed = await stack.client.get("/api/V1/compte/desinscrits", headers={"X-API-Key": key})
                assert listed.json()["desinscrits"] == []
                upload = ("liste.csv", b"numero\n+24106000001\n+24106000002\n")
                added = await space.post("/espace/desinscrits", data={"csrf": csrf},
                                         files={"fichier": upload})
                assert added.status_code == 303
                listed = await stack.client.get("/api/V1/compte/desinscrits", headers={"X-API-Key": key})
                rows = listed.json()["desinscrits"]
                assert [(r["numero"], r["source"]) for r in rows] == [
                    ("+24106000001", "ESPACE"), ("+24106000002", "ESPACE")]
                removed = await space.post("/espace/desinscrits/%2B24106000001/retrait", data={"csrf": csrf})
                assert removed.status_code == 303
                page = await space.get("/espace/desinscrits")
                assert 'data-numero="+24106000002"' in page.text
                assert 'data-numero="+24106000001"' not in page.text


async def test_the_console_suspends_and_names_senders_and_the_journal_says_who(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack, operator_session(stack) as (console, csrf):
            account_id, key = await stack.new_account(solde=5)
            senders = await console.post(f"/operateur/comptes/{account_id}/emetteurs",
                                         data={"csrf": csrf, "emetteurs": "BANQUE\n\nAGENCE\n"})
            assert senders.status_code == 303
            detail = (await stack.client.get(f"/api/V1/admin/comptes/{account_id}",
                                             headers=stack.admin)).json()
            assert detail["emetteursAutorises"] == ["BANQUE", "AGENCE"]
            suspended = await console.post(f"/operateur/comptes/{account_id}/suspension",
                                           data={"csrf": csrf, "actif": "non"})
            assert suspended.status_code == 303
            refused = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "destinataire": "+24106123456", "corps": "Bonjour"})
            assert refused.status_code == 403
            assert refused.json()["erreur"]["code"] == "COMPTE_SUSPENDU"
            forged = await console.post(f"/operateur/comptes/{account_id}/suspension",
                                        data={"csrf": "x", "actif": "oui"})
            assert forged.status_code == 403
            back = await console.post(f"/operateur/comptes/{account_id}/suspension",
                                      data={"csrf": csrf, "actif": "oui"})
            assert back.status_code == 303
            details = [str(e["detail"]) for e in await journal(stack, account_id)
                       if e["nature"] == "ADMIN" and "Awa" in str(e["detail"])]
            assert any("BANQUE, AGENCE" in d for d in details)
            assert any("compte suspendu" in d for d in details)
            assert any("compte réactivé" in d for d in details)
