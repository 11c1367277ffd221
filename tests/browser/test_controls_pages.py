"""The account controls' pages in a real headless Chromium, against a whole
gateway on port 0: a client's second API key made, used, revoked and refused; an
operator suspending an account and the client's next send refused; the opt-out
list filled from a CSV file. Each page saved at 1280 and 390 pixels wide."""

from __future__ import annotations

from pathlib import Path

import trio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Browser
from tests.browser.test_administration_pages import both_widths, click
from tests.browser.test_pages import PASSWORD, fill, log_in, new_client, text_of
from tests.harness import open_stack


async def test_a_client_makes_a_second_key_uses_it_revokes_it_and_the_api_refuses_it(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            _, first_key = await new_client(stack, solde=10)
            await log_in(browser, base, "compta@banque.ga", PASSWORD)
            await browser.wait_for(lambda d: d.find_elements(By.ID, "nav-cles"))
            await browser.run(click("nav-cles"))
            await browser.wait_for(lambda d: d.find_elements(By.ID, "form-cle"))

            def create(d: WebDriver) -> None:
                fill(d, **{"nom-cle": "Serveur B", "expiration-jours": "20"})
                d.find_element(By.ID, "btn-creer-cle").click()

            await browser.run(create)
            second_key = await browser.wait_for(text_of("nouvelle-cle"), message="the key, once")
            assert second_key and second_key != first_key
            # 20 days: inside the 30-day notice
            notice = await browser.wait_for(
                lambda d: d.find_element(By.CSS_SELECTOR, "[data-expire]").text,
                message="the expiry notice",
            )
            assert "« Serveur B »" in notice and "expire le" in notice
            await both_widths(browser, "espace-cles")

            used = await stack.client.get("/api/V1/compte", headers={"X-API-Key": second_key})
            assert used.status_code == 200
            assert "X-Cle-Expiration" in used.headers
            listed = (await stack.client.get("/api/V1/compte/cles",
                                             headers={"X-API-Key": first_key})).json()["cles"]
            second = next(k for k in listed if k["nom"] == "Serveur B")
            assert second_key.startswith(second["prefixe"])

            await browser.run(lambda d: d.get(base + "/espace/cles"))
            row = f'tr[data-cle="{second["id"]}"]'
            await browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, row))

            def revoke(d: WebDriver) -> None:
                row = d.find_element(By.CSS_SELECTOR, f'tr[data-cle="{second["id"]}"]')
                row.find_element(By.CSS_SELECTOR, "summary").click()
                d.find_element(By.ID, f"btn-revoquer-{second['id']}").click()

            await browser.run(revoke)
            await browser.wait_for(lambda d: "révoquée" in d.find_element(By.ID, "fait").text)
            assert not await browser.run(
                lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-cle="{second["id"]}"]'))
            refused = await stack.client.get("/api/V1/compte", headers={"X-API-Key": second_key})
            assert refused.status_code == 401
            assert refused.json()["erreur"]["code"] == "CLE_API_INVALIDE"
            still = await stack.client.get("/api/V1/compte", headers={"X-API-Key": first_key})
            assert still.status_code == 200


async def test_a_client_fills_its_opt_out_list_from_a_csv_file(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            _, key = await new_client(stack, solde=10)
            upload = tmp_path / "desinscrits.csv"
            upload.write_text("numero;nom\n+24106000001;Awa\n+24106000002;Paul\n", encoding="utf-8")
            await log_in(browser, base, "compta@banque.ga", PASSWORD)
            await browser.wait_for(lambda d: d.find_elements(By.ID, "nav-desinscrits"))
            await browser.run(click("nav-desinscrits"))
            await browser.wait_for(lambda d: d.find_elements(By.ID, "form-desinscrits"))

            def add(d: WebDriver) -> None:
                fill(d, **{"numeros-desinscrits": "+24106000003"})
                d.find_element(By.ID, "fichier-desinscrits").send_keys(str(upload))
                d.find_element(By.ID, "btn-ajouter-desinscrits").click()

            await browser.run(add)
            await browser.wait_for(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-numero]")) == 3,
                                   message="three numbers listed")
            await both_widths(browser, "espace-desinscrits")
            await browser.run(lambda d: d.find_element(
                By.CSS_SELECTOR, 'button[data-retirer="+24106000003"]').click())
            await browser.wait_for(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-numero]")) == 2)

            sent = await stack.client.post("/api/V1/sms/muldes", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "numeros": ["+24106000001", "+24106000003"], "corps": "Bonjour"})
            assert sent.status_code == 202
            ref = sent.json()["ref"]
            messages = (await stack.client.get(f"/api/V1/sms/{ref}/messages",
                                               headers={"X-API-Key": key})).json()["messages"]
            reasons = {m["destinataire"]: (m["statut"], m["raison"]) for m in messages}
            assert reasons["+24106000001"] == ("ECHEC", "DESINSCRIT")
            assert reasons["+24106000003"][1] != "DESINSCRIT"


async def test_an_operator_names_the_senders_and_reactivates_a_suspended_account(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            account_id, key = await new_client(stack, solde=10)
            suspended = await stack.client.patch(f"/api/V1/admin/comptes/{account_id}",
                                                 headers=stack.admin, json={"actif": False})
            assert suspended.status_code == 200

            def log_in_operator(d: WebDriver) -> None:
                d.get(base + "/operateur")
                fill(d, jeton=stack.running.admin_token, **{"nom-operateur": "Awa Mba"})
                d.find_element(By.ID, "btn-connexion").click()

            await browser.run(log_in_operator)
            # The console is shown once the token is accepted; only then is the account's page opened.
            await browser.wait_for(lambda d: d.find_elements(By.ID, "nav-comptes"))
            await browser.run(lambda d: d.get(f"{base}/operateur/comptes/{account_id}"))
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-actif").text == "Suspendu")

            def senders(d: WebDriver) -> None:
                fill(d, emetteurs="BANQUE\nAGENCE")
                d.find_element(By.ID, "btn-emetteurs").click()

            await browser.run(senders)
            await browser.wait_for(lambda d: "Émetteurs" in d.find_element(By.ID, "fait").text)
            await browser.run(click("btn-reactiver"))
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-actif").text == "Actif")
            journal = await browser.run(text_of("t-journal"))
            assert "« Awa Mba » depuis 127.0.0.1 : compte réactivé" in journal
            assert "émetteurs autorisés : BANQUE, AGENCE" in journal

            wrong = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key}, json={
                "emetteur": "AUTRE", "destinataire": "+24106123456", "corps": "Bonjour"})
            assert wrong.status_code == 422
            assert wrong.json()["erreur"]["code"] == "EMETTEUR_NON_AUTORISE"
            right = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "destinataire": "+24106123456", "corps": "Bonjour"})
            assert right.status_code == 202
