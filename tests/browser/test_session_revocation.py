"""Ended sessions stay ended: a session cookie copied before a logout, a password
change or a key regeneration is refused afterwards (on a page and on the key
action), by a restarted gateway too; the session that changed the password or
the key goes on. The same for the operator console's logout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from tests.harness import PASSWORD, Stack, client_session, csrf_of, open_stack

COOKIE = "smsgw_session"


@asynccontextmanager
async def with_cookie(stack: Stack, cookie: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=stack.running.http_url, timeout=10, cookies={COOKIE: cookie}
    ) as client:
        yield client


async def assert_refused(stack: Stack, cookie: str, csrf: str, key: str) -> None:
    """The copied cookie opens nothing, and cannot mint a key."""
    async with with_cookie(stack, cookie) as copy:
        home = await copy.get("/espace")
        assert home.status_code == 302
        assert home.headers["location"].startswith("/espace/connexion")
        data = await copy.get("/espace/donnees/compte")
        assert data.status_code == 401
        minted = await copy.post("/espace/cle", headers={"X-CSRF-Token": csrf})
        assert minted.status_code == 401, minted.text
    still = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
    assert still.status_code == 200, "the refused cookie replaced the key"


async def test_a_cookie_copied_before_logout_is_refused_even_after_a_restart(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (client, csrf):
                copied = client.cookies[COOKIE]
                async with with_cookie(stack, copied) as copy:
                    assert (await copy.get("/espace")).status_code == 200, "the copy works before"
                out = await client.post("/espace/deconnexion", data={"csrf": csrf})
                assert out.status_code == 303
            await assert_refused(stack, copied, csrf, key)
            async with client_session(stack, "a@banque.ga") as (client, _):
                kept = client.cookies[COOKIE]
        async with open_stack(tmp_path) as stack:
            await assert_refused(stack, copied, csrf, key)
            async with with_cookie(stack, kept) as client:
                assert (await client.get("/espace")).status_code == 200, (
                    "a session never ended survives the restart"
                )


async def test_a_password_change_ends_every_other_session(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with (
                client_session(stack, "a@banque.ga") as (changer, changer_csrf),
                client_session(stack, "a@banque.ga") as (other, other_csrf),
            ):
                wrong = await changer.post("/espace/mot-de-passe", data={
                    "csrf": changer_csrf, "actuel": "pas-le-bon", "nouveau": "nouveau-secret-9"})
                assert wrong.status_code == 422
                assert [d["champ"] for d in wrong.json()["erreur"]["details"]] == ["actuel"]
                assert (await other.get("/espace")).status_code == 200, "a wrong try ends nothing"
                changed = await changer.post("/espace/mot-de-passe", data={
                    "csrf": changer_csrf, "actuel": PASSWORD, "nouveau": "nouveau-secret-9"})
                assert changed.status_code == 200, changed.text
                await assert_refused(stack, other.cookies[COOKIE], other_csrf, key)
                assert (await changer.get("/espace")).status_code == 200, "the changer goes on"
            async with httpx.AsyncClient(base_url=stack.running.http_url, timeout=10) as anonymous:
                csrf = csrf_of((await anonymous.get("/espace/connexion")).text)
                old = await anonymous.post("/espace/connexion", data={
                    "csrf": csrf, "identifiant": "a@banque.ga", "motDePasse": PASSWORD})
                assert old.status_code == 401
            async with client_session(stack, "a@banque.ga", "nouveau-secret-9"):
                pass


async def test_a_new_key_ends_every_other_session(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with (
                client_session(stack, "a@banque.ga") as (regenerator, regenerator_csrf),
                client_session(stack, "a@banque.ga") as (other, other_csrf),
            ):
                minted = await regenerator.post("/espace/cle",
                                                headers={"X-CSRF-Token": regenerator_csrf})
                assert minted.status_code == 201
                key = minted.json()["cleApi"]["cle"]
                await assert_refused(stack, other.cookies[COOKIE], other_csrf, key)
                assert (await regenerator.get("/espace")).status_code == 200
                # a key replaced through the API ends the page sessions too
                by_api = await stack.client.post("/api/V1/compte/cle", headers={"X-API-Key": key})
                assert by_api.status_code == 201
                await assert_refused(stack, regenerator.cookies[COOKIE], regenerator_csrf,
                                     by_api.json()["cleApi"]["cle"])


async def test_an_operator_cookie_copied_before_logout_is_refused(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with (
            open_stack(tmp_path) as stack,
            httpx.AsyncClient(base_url=stack.running.http_url, timeout=10) as operator,
        ):
            csrf = csrf_of((await operator.get("/operateur")).text)
            login = await operator.post("/operateur/connexion", data={
                "csrf": csrf, "jeton": stack.running.admin_token})
            assert login.status_code == 303
            csrf = csrf_of((await operator.get("/operateur")).text)
            copied = operator.cookies[COOKIE]
            async with with_cookie(stack, copied) as copy:
                assert (await copy.get("/operateur/instantane")).status_code == 200
            assert (await operator.post("/operateur/deconnexion", data={"csrf": csrf})).status_code == 303
            async with with_cookie(stack, copied) as copy:
                assert (await copy.get("/operateur/instantane")).status_code == 401
                page = await copy.get("/operateur")
                assert 'name="jeton"' in page.text, "the login form, not the console"


async def test_a_password_set_by_the_administrator_ends_every_session(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (client, csrf):
                r = await stack.client.patch(f"/api/V1/admin/comptes/{account_id}",
                                             json={"motDePasse": "choisi-par-l-admin"},
                                             headers=stack.admin)
                assert r.status_code == 200, r.text
                await assert_refused(stack, client.cookies[COOKIE], csrf, key)
            async with client_session(stack, "a@banque.ga", "choisi-par-l-admin"):
                pass
