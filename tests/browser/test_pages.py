"""The client space and the operator console in a real headless Chromium, against
a whole gateway on port 0 (HTTP and SMPP over real sockets)."""

from __future__ import annotations

import re
from pathlib import Path

import trio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import DESKTOP, PHONE, Browser
from tests.harness import Stack, client_session, open_stack

PASSWORD = "motdepasse-solide-42"


async def new_client(stack: Stack, **body: object) -> tuple[int, str]:
    return await stack.new_account(
        nom="Banque de Libreville", email="compta@banque.ga", motDePasse=PASSWORD, **body
    )


def text_of(element_id: str):  # type: ignore[no-untyped-def]
    return lambda d: d.find_element(By.ID, element_id).text


def fill(driver: WebDriver, **fields: str) -> None:
    for element_id, value in fields.items():
        field = driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)


async def log_in(browser: Browser, base: str, identifiant: str, password: str) -> None:
    def go(d: WebDriver) -> None:
        d.get(base + "/espace")
        fill(d, identifiant=identifiant, motDePasse=password)
        d.find_element(By.ID, "btn-connexion").click()

    await browser.run(go)


async def test_client_space_login_balance_key_send_and_live_top_up(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(45):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            account_id, old_key = await new_client(stack, solde=20)

            await log_in(browser, base, "compta@banque.ga", "pas-le-bon")
            refusal = await browser.wait_for(text_of("erreur"))
            assert "Identifiant ou mot de passe incorrect" in refusal

            await log_in(browser, base, "compta@banque.ga", PASSWORD)
            await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "20",
                                   message="the balance shows 20")
            assert await browser.run(text_of("type-compte")) == "Prépayé"
            assert "2027" in await browser.run(text_of("cle-expiration")) or await browser.run(
                text_of("cle-expiration")
            )
            # A mark that a reload would erase: every later check proves "without reloading".
            await browser.run(lambda d: d.execute_script("window.pageMark = 'intact'"))

            def regenerate(d: WebDriver) -> None:
                d.find_element(By.ID, "btn-regenerer").click()
                d.find_element(By.ID, "btn-confirmer").click()

            await browser.run(regenerate)
            new_key = await browser.wait_for(text_of("nouvelle-cle"))
            assert new_key and new_key != old_key
            old = await stack.client.get("/api/V1/compte", headers={"X-API-Key": old_key})
            assert old.status_code == 401
            assert old.json()["erreur"]["code"] == "CLE_API_INVALIDE"
            fresh = await stack.client.get("/api/V1/compte", headers={"X-API-Key": new_key})
            assert fresh.status_code == 200 and fresh.json()["id"] == account_id

            def send(d: WebDriver) -> None:
                fill(d, emetteur="ION-Networking", destinataire="+24106123456",
                     corps="Bienvenue sur SMS Gateway !")
                d.find_element(By.ID, "btn-envoyer").click()

            await browser.run(send)
            accepted = await browser.wait_for(text_of("resultat-envoi"))
            ref = accepted.split("Envoi ")[1].split(" ")[0]
            assert ref.isdigit(), accepted
            row = f'#historique tr[data-ref="{ref}"]'
            # The history re-renders its rows live: each probe reads one row element whole,
            # and a probe that meets a replaced row is asked again.
            await browser.wait_for(
                lambda d: d.find_element(By.CSS_SELECTOR, row).get_attribute("data-statut") == "ENVOYE",
                message="the send turns ENVOYE in the history",
            )
            assert "Envoyé" in await browser.wait_for(
                lambda d: d.find_element(By.CSS_SELECTOR, row).text
            )
            await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "19")

            credit = await stack.client.post(
                f"/api/V1/admin/comptes/{account_id}/credit", json={"montant": 100}, headers=stack.admin
            )
            assert credit.status_code == 200
            await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "119",
                                   message="the top-up shows on the open page")

            def open_detail(d: WebDriver) -> bool:
                d.find_element(By.CSS_SELECTOR, row + " button.link").click()
                return True

            await browser.wait_for(open_detail)
            detail = await browser.wait_for(
                lambda d: d.find_element(By.CSS_SELECTOR, f'tr[data-detail="{ref}"]').text
            )
            assert "+24106123456" in detail and "Envoyé" in detail
            assert await browser.run(lambda d: d.execute_script("return window.pageMark")) == "intact"

            await browser.screenshot("espace", DESKTOP)
            await browser.screenshot("espace", PHONE)
            await browser.run(lambda d: d.get("about:blank"))


async def test_operator_console_follows_a_muldes_live(tmp_path: Path, browser: Browser) -> None:
    with trio.fail_after(45):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            account_id, key = await new_client(stack, solde=5000, debitMax=2000)

            def log_in_operator(d: WebDriver) -> None:
                d.get(base + "/operateur")
                fill(d, jeton=stack.running.admin_token)
                d.find_element(By.ID, "btn-connexion").click()

            await browser.run(log_in_operator)
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-flux").text == "En direct",
                                   message="the stream is live")
            numbers = [f"+2410{6000000 + n}" for n in range(3000)]
            sent = await stack.client.post(
                "/api/V1/sms/muldes",
                json={"emetteur": "ION-Networking", "numeros": numbers, "corps": "Offre du jour"},
                headers={"X-API-Key": key},
            )
            assert sent.status_code == 202, sent.text
            await browser.wait_for(
                lambda d: d.find_elements(By.CSS_SELECTOR, f'#t-comptes tr[data-compte="{account_id}"]'),
                message="the account's actor is listed",
            )
            await browser.wait_for(
                lambda d: float(d.find_element(By.ID, "graphe-debit").get_attribute("data-max") or "0") > 0,
                message="the throughput chart moves",
            )
            await browser.wait_for(
                lambda d: "Soumissionsacceptées3000"
                in re.sub(r"\s", "", d.find_element(By.ID, "kv-simulateur").text),
                message="the simulator counted the 3,000 submits",
            )
            row = await browser.run(
                lambda d: d.find_element(By.CSS_SELECTOR, f'#t-comptes tr[data-compte="{account_id}"]').text
            )
            assert row.startswith(f"#{account_id}") and "PREPAYE" in row
            # which database holds the data, and how long its commits take
            store = stack.gateway.store
            await browser.wait_for(
                lambda d: f"Stockage{store.backend.name}({store.where}),synchronisationfull"
                in re.sub(r"\s", "", d.find_element(By.ID, "kv-moteur").get_attribute("textContent") or ""),
                message="the console names the store",
            )
            engine = await browser.run(
                lambda d: d.find_element(By.ID, "kv-moteur").get_attribute("textContent") or "")
            tasks = re.search(r"Tâches supervisées\s*(\d+) tâches, (\d+) redémarrage", engine)
            assert tasks and int(tasks.group(1)) >= 5 and tasks.group(2) == "0", engine
            commit = await browser.run(
                lambda d: d.find_element(By.ID, "k-commit").get_attribute("textContent") or "")
            assert float(re.sub(r"\s", "", commit).replace(",", ".")) >= 0

            await browser.screenshot("operateur", DESKTOP)
            await browser.screenshot("operateur", PHONE)
            await browser.run(lambda d: d.get("about:blank"))


async def test_operator_console_shows_reconnecting_while_the_gateway_restarts(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(45):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            port = base.rsplit(":", 1)[1]

            def log_in_operator(d: WebDriver) -> None:
                d.get(base + "/operateur")
                fill(d, jeton=stack.running.admin_token)
                d.find_element(By.ID, "btn-connexion").click()

            await browser.run(log_in_operator)
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-flux").text == "En direct")
        # The gateway is down: the page says so instead of showing stale figures as live.
        await browser.wait_for(lambda d: d.find_element(By.ID, "etat-flux").text == "Reconnexion…",
                               message="the stream drop is visible")
        assert await browser.run(lambda d: d.find_element(By.ID, "bandeau-reconnexion").is_displayed())
        async with open_stack(tmp_path, SMSGW_HTTP_PORT=port):
            await browser.wait_for(lambda d: d.find_element(By.ID, "etat-flux").text == "En direct",
                                   within_s=15, message="the page recovers by itself")
            assert not await browser.run(
                lambda d: d.find_element(By.ID, "bandeau-reconnexion").is_displayed()
            )
            await browser.run(lambda d: d.get("about:blank"))


async def test_client_space_password_change_closes_the_other_sessions(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(45):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            await new_client(stack, solde=1)
            async with client_session(stack, "compta@banque.ga") as (other, _):
                await log_in(browser, base, "compta@banque.ga", PASSWORD)
                await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "1")

                def change(d: WebDriver) -> None:
                    d.find_element(By.CSS_SELECTOR, "#bloc-mot-de-passe summary").click()
                    fill(d, **{"mdp-actuel": PASSWORD, "mdp-nouveau": "nouveau-secret-9"})
                    d.find_element(By.ID, "btn-mot-de-passe").click()

                await browser.run(change)
                done = await browser.wait_for(text_of("resultat-mot-de-passe"))
                assert "Mot de passe changé" in done
                assert (await other.get("/espace")).status_code == 302, "the other session ended"
                await browser.run(lambda d: d.refresh())
                await browser.wait_for(lambda d: d.find_element(By.ID, "solde").text == "1",
                                       message="the session that changed it goes on")
            async with client_session(stack, "compta@banque.ga", "nouveau-secret-9"):
                pass
            await browser.run(lambda d: d.get("about:blank"))
