"""Cursors, refs and ids past what a database stores (a signed 64-bit integer),
or thousands of digits long, on every route that takes one from its path or its
query: each is answered in the contract's error envelope (422 naming the query
parameter, 404 for a path that names nothing), never 500."""

from __future__ import annotations

import base64
from pathlib import Path

import trio

from tests.api.conftest import UNIDES_BODY
from tests.harness import PASSWORD, client_session, open_stack

OVER_64_BITS = str(2**63)
TWENTY_NINES = "9" * 20
THOUSANDS = "7" * 5000
ADMIN = {"Authorization": "Bearer jeton-admin-de-test"}


def cursor(prefix: str, digits: str) -> str:
    return base64.urlsafe_b64encode(f"{prefix}{digits}".encode()).decode().rstrip("=")


def query_cases(ref: str) -> list[tuple[str, str, str]]:
    """(method, path, the query parameter the 422 names)"""
    cases = []
    for digits in (OVER_64_BITS, TWENTY_NINES, THOUSANDS):
        cases += [
            ("GET", f"/api/V1/sms?curseur={cursor('e', digits)}", "curseur"),
            ("GET", f"/api/V1/sms/{ref}/messages?curseur={cursor('m', digits)}", "curseur"),
            ("GET", f"/api/V1/sms?limite={digits}", "limite"),
            ("GET", f"/api/V1/sms/{ref}/messages?limite={digits}", "limite"),
            ("GET", f"/api/V1/admin/comptes?curseur={digits}", "curseur"),
            ("GET", f"/api/V1/admin/comptes?limite={digits}", "limite"),
            ("GET", f"/api/V1/admin/comptes/1/journal?curseur={digits}", "curseur"),
            ("GET", f"/espace/donnees/envois?avant={digits}", "avant"),
            ("GET", f"/espace/donnees/envois?limite={digits}", "limite"),
            ("GET", f"/espace/donnees/envois/{ref}/messages?apres={digits}", "apres"),
        ]
    return cases


def path_cases() -> list[tuple[str, str]]:
    cases = []
    for digits in (OVER_64_BITS, TWENTY_NINES, THOUSANDS):
        cases += [
            ("GET", f"/api/V1/sms/{digits}"),
            ("GET", f"/api/V1/sms/{digits}/messages"),
            ("GET", f"/api/V1/sms/{digits}/plan"),
            ("DELETE", f"/api/V1/sms/{digits}"),
            ("GET", f"/api/V1/admin/comptes/{digits}"),
            ("PATCH", f"/api/V1/admin/comptes/{digits}"),
            ("GET", f"/api/V1/admin/comptes/{digits}/journal"),
            ("POST", f"/api/V1/admin/comptes/{digits}/credit"),
            ("POST", f"/api/V1/admin/comptes/{digits}/factures"),
            ("GET", f"/api/V1/admin/comptes/{digits}/factures"),
            ("POST", f"/api/V1/admin/factures/{digits}/reglement"),
            ("GET", f"/espace/donnees/envois/{digits}/messages"),
        ]
    return cases


async def test_huge_cursors_refs_and_ids_never_reach_the_store(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10, email="a@banque.ga", motDePasse=PASSWORD)
            headers = {"X-API-Key": key, **ADMIN}
            sent = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert sent.status_code == 202
            ref = sent.json()["ref"]
            failures = []
            async with client_session(stack, "a@banque.ga") as (space, _csrf):
                for method, path, champ in query_cases(ref):
                    client = space if path.startswith("/espace") else stack.client
                    r = await client.request(method, path, headers=headers)
                    if r.status_code != 422 or [d["champ"] for d in r.json()["erreur"]["details"]] != [
                        champ
                    ]:
                        failures.append(f"{method} {path[:80]}: {r.status_code} {r.text[:200]}")
                for method, path in path_cases():
                    client = space if path.startswith("/espace") else stack.client
                    body = {"montant": 1} if path.endswith("/credit") else (
                        {"nom": "x"} if method == "PATCH" else None)
                    r = await client.request(method, path, headers=headers, json=body)
                    if r.status_code != 404 or "erreur" not in r.json():
                        failures.append(f"{method} {path[:80]}: {r.status_code} {r.text[:200]}")
            assert not failures, "\n".join(failures)
            assert stack.gateway.registry.restarts == 0
