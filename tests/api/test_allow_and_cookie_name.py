"""What the server says about itself matches what it does: a 405's Allow lists
the methods of the route at that path (not those of `/sms/{ref}`, which the path
also matches), and the OpenAPI document names the session cookie the pages set."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.harness import PASSWORD, client_session, open_stack


async def test_allow_lists_the_methods_of_the_route_itself(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            for method, path, allowed in (
                ("PUT", "/api/V1/sms/unides", {"POST", "OPTIONS"}),
                ("GET", "/api/V1/sms/unides", {"POST", "OPTIONS"}),  # not a ref
                ("DELETE", "/api/V1/sms/muldesp", {"POST", "OPTIONS"}),
                ("PATCH", "/api/V1/sms/muldes", {"POST", "OPTIONS"}),
                ("PUT", "/api/V1/sms/muldesp", {"POST", "OPTIONS"}),
                ("PUT", "/api/V1/sms/000001", {"GET", "HEAD", "DELETE", "OPTIONS"}),
                ("DELETE", "/api/V1/compte/cle", {"POST", "OPTIONS"}),
            ):
                r = await stack.client.request(method, path)
                assert r.status_code == 405, (method, path)
                assert r.json()["erreur"]["code"] == "METHODE_NON_AUTORISEE"
                listed = {m.strip() for m in r.headers["Allow"].split(",")}
                assert listed == allowed, (path, listed)
                for other in listed - {"OPTIONS", "HEAD"}:
                    answer = await stack.client.request(other, path)
                    assert answer.status_code != 405, (other, path)
                options = await stack.client.request("OPTIONS", path)
                assert {m.strip() for m in options.headers["Allow"].split(",")} == allowed, path


async def test_the_document_names_the_cookie_the_pages_set(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            document = (await stack.client.get("/api/V1/openapi.json")).json()
            scheme = document["components"]["securitySchemes"]["session"]
            assert scheme["in"] == "cookie"
            await stack.new_account(email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (client, _):
                assert list(client.cookies.keys()) == [scheme["name"]]
