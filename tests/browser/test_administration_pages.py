"""The operator console's account and cluster pages and the client space's campaign pages in
a real headless Chromium, against a whole gateway on port 0. Each new page is
saved at desktop (1280) and phone (390) widths under test-output/screenshots/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import PHONE, Browser
from tests.browser.test_pages import PASSWORD, fill, log_in, new_client, text_of
from tests.harness import eventually, open_stack

WIDE = (1280, 900)


async def both_widths(browser: Browser, name: str) -> None:
    await browser.screenshot(name, WIDE)
    await browser.screenshot(name, PHONE)


def click(element_id: str):  # type: ignore[no-untyped-def]
    return lambda d: d.find_element(By.ID, element_id).click()


async def test_an_operator_creates_an_account_tops_it_up_suspends_it_and_its_send_is_refused(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            await new_client(stack, solde=10)

            def log_in_operator(d: WebDriver) -> None:
                d.get(base + "/operateur")
                fill(d, jeton=stack.running.admin_token, **{"nom-operateur": "Awa Mba"})
                d.find_element(By.ID, "btn-connexion").click()

            await browser.run(log_in_operator)
            await browser.wait_for(lambda d: d.find_elements(By.ID, "nav-comptes"))
            await browser.run(click("nav-comptes"))
            await browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#t-comptes tr[data-compte]"),
                                   message="the accounts are listed")
            await both_widths(browser, "operateur-comptes")

            await browser.run(click("lien-nouveau"))
            await browser.wait_for(lambda d: d.find_elements(By.ID, "form-compte"))
            await both_widths(browser, "operateur-compte-nouveau")

            def create(d: WebDriver) -> None:
                fill(d, nom="Pharmacie du Port", solde="30", email="caisse@pharmacie.ga",
                     motDePasse=PASSWORD, debitMax="50")
                d.find_element(By.ID, "btn-creer").click()

            await browser.run(create)
            key = await browser.wait_for(text_of("nouvelle-cle"), message="the key is shown once")
            account_id = int(await browser.run(text_of("compte-id")))
            await both_widths(browser, "operateur-compte-cree")
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.status_code == 200 and me.json()["id"] == account_id
            assert me.json()["solde"] == 30

            await browser.run(click("lien-compte"))
            await browser.wait_for(lambda d: d.find_elements(By.ID, "form-credit"))

            def top_up(d: WebDriver) -> None:
                fill(d, montant="470")
                d.find_element(By.ID, "btn-crediter").click()

            await browser.run(top_up)
            await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "500",
                                   message="the page shows the new balance")
            assert await browser.run(text_of("fait")) == "Compte crédité."
            journal = await browser.run(text_of("t-journal"))
            signed = "administration (console) « Awa Mba » depuis 127.0.0.1 : "
            assert signed + "crédit de 470" in journal
            assert signed + "compte créé (PREPAYE)" in journal
            await both_widths(browser, "operateur-compte")

            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert me.json()["solde"] == 500

            await browser.run(click("btn-suspendre"))
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-actif").text == "Suspendu",
                                   message="the page shows the account suspended")
            assert signed + "compte suspendu" in await browser.run(text_of("t-journal"))
            await both_widths(browser, "operateur-compte-suspendu")
            refused = await stack.client.post("/api/V1/sms/unides", headers={"X-API-Key": key}, json={
                "emetteur": "PHARMA", "destinataire": "+24106123456", "corps": "Bonjour"})
            assert refused.status_code == 403
            assert refused.json()["erreur"]["code"] == "COMPTE_SUSPENDU"
            me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
            assert (me.json()["solde"], me.json()["reserve"]) == (500, 0)

            await browser.run(click("nav-cluster"))
            live = await browser.wait_for(
                lambda d: d.find_elements(By.CSS_SELECTOR, '#t-noeuds tr[data-vivant="oui"]'),
                message="the cluster page lists this gateway, live")
            node = (await stack.client.get("/api/V1/sante")).json()["noeud"]
            row = await browser.run(lambda d: live[0].text)
            assert node in row and "0-63" in row and "VIVANT" in row
            await both_widths(browser, "operateur-cluster")


async def test_a_client_plans_a_campaign_sees_its_plan_and_cancels_it(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            _, key = await new_client(stack, solde=100)
            await log_in(browser, base, "compta@banque.ga", PASSWORD)
            await browser.wait_for(lambda d: d.find_elements(By.ID, "nav-campagnes"))
            await browser.run(click("nav-campagnes"))
            await browser.wait_for(lambda d: d.find_elements(By.ID, "form-campagne"))
            await both_widths(browser, "espace-campagnes")

            tomorrow = datetime.now(ZoneInfo("Africa/Libreville")).date() + timedelta(days=1)

            def plan(d: WebDriver) -> None:
                fill(d, emetteur="BANQUE", corps="Votre relevé est disponible",
                     numeros="+24106000001\n+24106000002\n+24106000003\n+24106000004",
                     nbParJour="3", intervalleMinutes="120")
                for field, day in (("dateDebut", tomorrow), ("dateFin", tomorrow + timedelta(days=1))):
                    d.execute_script("arguments[0].value = arguments[1]",
                                     d.find_element(By.ID, field), day.isoformat())
                d.find_element(By.ID, "btn-apercu").click()

            await browser.run(plan)
            await browser.wait_for(lambda d: d.find_elements(By.ID, "carte-apercu"),
                                   message="the plan is shown before confirming")
            assert await browser.run(text_of("apercu-destinataires")) == "4"
            slots = await browser.run(lambda d: [
                r.text for r in d.find_elements(By.CSS_SELECTOR, "#t-apercu tbody tr")])
            assert len(slots) == 4 and slots[0].startswith(tomorrow.strftime("%d/%m/%Y"))
            listed = await stack.client.get("/api/V1/sms", headers={"X-API-Key": key})
            assert listed.json()["envois"] == []
            await both_widths(browser, "espace-campagne-apercu")

            await browser.run(click("btn-confirmer"))
            state = await browser.wait_for(text_of("etat-campagne"), message="the campaign's page")
            assert state == "PLANIFIEE"
            ref = await browser.run(text_of("campagne-ref"))
            planned = await browser.run(lambda d: d.find_elements(By.CSS_SELECTOR, "#t-plan tr.prevu"))
            assert len(planned) == 4
            await both_widths(browser, "espace-campagne")

            await browser.run(click("btn-annuler-campagne"))
            await browser.run(click("btn-confirmer-annulation"))
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-campagne").text == "ANNULEE",
                                   message="the campaign shows cancelled")
            answer = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})
            assert answer.json()["etatCampagne"] == "ANNULEE"
            assert answer.json()["compteurs"]["ECHEC"] == 4


async def test_a_postpaid_client_sees_its_consumption_per_day(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            _, key = await new_client(stack, type="POSTPAYE")
            sent = await stack.client.post("/api/V1/sms/muldes", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "numeros": ["+24106000001", "+24106000002", "+24106000003"],
                "corps": "Bonjour"})
            assert sent.status_code == 202

            async def consumed() -> int:
                r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                return int(r.json()["consommation"])

            await eventually(consumed, lambda n: n == 3)
            await log_in(browser, base, "compta@banque.ga", PASSWORD)
            bars = await browser.wait_for(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#graphe-consommation rect.bar"),
                message="the chart is drawn")
            assert len(bars) == 30
            assert await browser.run(lambda d: bars[-1].get_attribute("data-sms")) == "3"
            await both_widths(browser, "espace-consommation")
