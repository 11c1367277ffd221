"""/docs in a real headless Chromium: Swagger UI, served by the gateway itself,
renders the document's markdown and an operation's schema, and its "Try it out"
calls the API with the reader's key."""

from __future__ import annotations

from pathlib import Path

import trio
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import DESKTOP, Browser
from tests.harness import open_stack


def operation(d: WebDriver, method: str, path: str) -> WebElement:
    """The block of one operation (its summary line carries its path)."""
    for block in d.find_elements(By.CSS_SELECTOR, f".opblock.opblock-{method}"):
        shown = block.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        if shown and shown[0].get_attribute("data-path") == path:
            return block
    raise LookupError(f"{method} {path} is not on the page")


async def test_docs_render_markdown_schemas_and_try_it_out_with_a_key(
    tmp_path: Path, browser: Browser
) -> None:
    with trio.fail_after(90):
        async with open_stack(tmp_path) as stack:
            base = stack.running.http_url
            _, key = await stack.new_account(nom="Banque de Libreville", solde=42)
            await browser.run(lambda d: d.get(base + "/docs"))

            # the description's markdown is rendered: bold text, no asterisks
            strong = await browser.wait_for(
                lambda d: [s.text for s in d.find_elements(By.CSS_SELECTOR, ".info .description strong")],
                within_s=30, message="the description is rendered",
            )
            assert "Authentification." in strong
            info = await browser.run(lambda d: d.find_element(By.CSS_SELECTOR, ".info").text)
            assert "**" not in info and "X-API-Key" in info

            # an operation's request body schema: UNIDES and its three fields
            def open_unides_schema(d: WebDriver) -> None:
                block = operation(d, "post", "/api/V1/sms/unides")
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()

            await browser.run(open_unides_schema)
            await browser.wait_for(
                lambda d: operation(d, "post", "/api/V1/sms/unides").find_elements(
                    By.CSS_SELECTOR, ".opblock-section-request-body button[data-name=model]"),
                message="the request body's schema tab")
            await browser.run(lambda d: operation(d, "post", "/api/V1/sms/unides").find_element(
                By.CSS_SELECTOR, ".opblock-section-request-body button[data-name=model]").click())
            schema = await browser.wait_for(
                lambda d: operation(d, "post", "/api/V1/sms/unides").find_element(
                    By.CSS_SELECTOR, ".opblock-section-request-body .model-box").text,
                message="the schema is shown")
            for field in ("emetteur", "destinataire", "corps"):
                assert field in schema, schema

            # Authorize with the account's key, then try GET /api/V1/compte
            def authorize(d: WebDriver) -> None:
                d.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()

            await browser.run(authorize)
            key_input = await browser.wait_for(
                lambda d: [c.find_element(By.CSS_SELECTOR, "input") for c in
                           d.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container")
                           if "cleApi" in c.text],
                message="the API key form")

            def submit_key(d: WebDriver) -> None:
                key_input[0].send_keys(key)
                container = key_input[0].find_element(
                    By.XPATH, "ancestor::div[contains(@class, 'auth-container')]")
                container.find_element(By.CSS_SELECTOR, "button.authorize").click()
                d.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()

            await browser.run(submit_key)

            def try_compte(d: WebDriver) -> None:
                block = operation(d, "get", "/api/V1/compte")
                block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()

            await browser.run(try_compte)
            await browser.wait_for(
                lambda d: operation(d, "get", "/api/V1/compte").find_elements(
                    By.CSS_SELECTOR, ".try-out__btn"), message="Try it out")
            await browser.run(lambda d: operation(d, "get", "/api/V1/compte").find_element(
                By.CSS_SELECTOR, ".try-out__btn").click())
            await browser.wait_for(
                lambda d: operation(d, "get", "/api/V1/compte").find_elements(
                    By.CSS_SELECTOR, ".execute"), message="Execute")
            await browser.run(lambda d: operation(d, "get", "/api/V1/compte").find_element(
                By.CSS_SELECTOR, ".execute").click())
            status = await browser.wait_for(
                lambda d: operation(d, "get", "/api/V1/compte").find_element(
                    By.CSS_SELECTOR, ".live-responses-table .response .response-col_status").text,
                within_s=20, message="the live answer")
            assert status.strip().startswith("200"), status
            answer = await browser.run(lambda d: operation(d, "get", "/api/V1/compte").find_element(
                By.CSS_SELECTOR, ".live-responses-table").text)
            assert "Banque de Libreville" in answer and '"solde": 42' in answer, answer
            await browser.screenshot("docs-try-it-out", DESKTOP)
