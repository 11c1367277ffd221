"""Text no database can store: a lone UTF-16 surrogate (JSON's `"\\ud800"`) or a
NUL, in any string of any body. Each is refused with 422 VALIDATION naming its
field, on every route that takes strings, and leaves nothing behind: no send, no
reservation, no account, no rebuilt account actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from tests.api.conftest import footprint
from tests.harness import PASSWORD, client_session, open_stack

KEY = "{key}"
ADMIN = {"Authorization": "Bearer jeton-admin-de-test"}
U, M, P = "/api/V1/sms/unides", "/api/V1/sms/muldes", "/api/V1/sms/muldesp"
UNIDES = '{"emetteur": "ION-Networking", "destinataire": "+24106123456", "corps": %s}'
MULDES = '{"emetteur": "ION-Networking", "numeros": ["+24106123456", %s], "corps": "Bonjour"}'
MULDESP = ('{"emetteur": "ION-Networking", "numeros": ["+24106123456"], "corps": "Bonjour",'
           ' "dateDebut": "2099-10-10", "dateFin": "2099-10-15", "nbParJour": 10,'
           ' "intervalleMinutes": 15, "emetteurX": %s}')

# (name, method, path, raw JSON body, headers, the fields the refusal names)
JSON_CASES: list[tuple[str, str, str, str, dict[str, str], tuple[str, ...]]] = [
    ("UNIDES corps, surrogate haut", "POST", U, UNIDES % '"a\\ud800b"', {"X-API-Key": KEY},
     ("corps",)),
    ("UNIDES corps, surrogate bas", "POST", U, UNIDES % '"\\udc00"', {"X-API-Key": KEY}, ("corps",)),
    ("UNIDES corps, NUL", "POST", U, UNIDES % '"a\\u0000b"', {"X-API-Key": KEY}, ("corps",)),
    ("UNIDES numéro", "POST", U,
     '{"emetteur": "ION", "destinataire": "+241\\udc00", "corps": "x"}', {"X-API-Key": KEY},
     ("destinataire",)),
    ("UNIDES émetteur NUL", "POST", U,
     '{"emetteur": "I\\u0000N", "destinataire": "+24106123456", "corps": "x"}', {"X-API-Key": KEY},
     ("emetteur",)),
    ("UNIDES avec Idempotency-Key", "POST", U, UNIDES % '"\\ud800"',
     {"X-API-Key": KEY, "Idempotency-Key": "cle-1"}, ("corps",)),
    ("UNIDES champ inconnu avec Idempotency-Key", "POST", U,
     '{"emetteur": "ION", "destinataire": "+24106123456", "corps": "x", "note": "\\ud800"}',
     {"X-API-Key": KEY, "Idempotency-Key": "cle-2"}, ("note",)),
    ("UNIDES nom de champ", "POST", U,
     '{"emetteur": "ION", "destinataire": "+24106123456", "corps": "x", "\\ud800": 1}',
     {"X-API-Key": KEY}, ("corps de la requête",)),
    ("MULDES numéro", "POST", M, MULDES % '"\\ud83d"', {"X-API-Key": KEY}, ("numeros[1]",)),
    ("MULDES numéro NUL", "POST", M, MULDES % '"\\u0000"', {"X-API-Key": KEY}, ("numeros[1]",)),
    ("MULDESP", "POST", P, MULDESP % '"\\udfff"', {"X-API-Key": KEY}, ("emetteurX",)),
    ("création de compte, nom", "POST", "/api/V1/admin/comptes",
     '{"nom": "Banque \\ud800", "type": "PREPAYE"}', ADMIN, ("nom",)),
    ("création de compte, e-mail NUL", "POST", "/api/V1/admin/comptes",
     '{"nom": "Banque", "type": "PREPAYE", "email": "a\\u0000@b.ga"}', ADMIN, ("email",)),
    ("création de compte, mot de passe", "POST", "/api/V1/admin/comptes",
     '{"nom": "Banque", "type": "PREPAYE", "motDePasse": "motdepasse\\udc00"}', ADMIN,
     ("motDePasse",)),
    ("modification de compte, nom", "PATCH", "/api/V1/admin/comptes/{account}",
     '{"nom": "\\ud800"}', ADMIN, ("nom",)),
    ("modification de compte, URL NUL", "PATCH", "/api/V1/admin/comptes/{account}",
     '{"urlRappel": "https://exemple.ga/\\u0000"}', ADMIN, ("urlRappel",)),
    ("crédit", "POST", "/api/V1/admin/comptes/{account}/credit",
     '{"montant": 10, "motif": "\\ud800"}', ADMIN, ("motif",)),
]


def _refusal(r: httpx.Response, champs: tuple[str, ...]) -> str | None:
    if r.status_code != 422:
        return f"status {r.status_code}: {r.text[:200]}"
    error = r.json()["erreur"]
    if error["code"] != "VALIDATION":
        return f"code {error['code']}"
    named = tuple(d["champ"] for d in error["details"])
    if sorted(named) != sorted(champs) or not all(d["message"] for d in error["details"]):
        return f"details {error['details']} do not name {champs}"
    return None


async def test_unstorable_strings_are_refused_on_every_route_and_leave_nothing(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            account, key = await stack.new_account(
                solde=100, email="compta@banque.ga", motDePasse=PASSWORD
            )
            values = {"key": key, "account": str(account)}
            async with client_session(stack, "compta@banque.ga") as (space, csrf):
                before = await footprint(stack)
                actors_before = stack.gateway.actors()["comptes"]
                failures = []
                for name, method, path, raw, headers, champs in JSON_CASES:
                    r = await stack.client.request(
                        method,
                        path.format(**values),
                        content=raw.encode(),
                        headers={"Content-Type": "application/json",
                                 **{k: v.format(**values) for k, v in headers.items()}},
                    )
                    problem = _refusal(r, champs)
                    if problem:
                        failures.append(f"{name}: {problem}")

                form_cases: list[tuple[str, httpx.AsyncClient, str, dict[str, Any],
                                       tuple[str, ...]]] = [
                    ("connexion, identifiant NUL", stack.client, "/espace/connexion",
                     {"identifiant": "compta@banque.ga\x00", "motDePasse": PASSWORD, "csrf": "x"},
                     ("identifiant",)),
                    ("envoi de l'espace, corps NUL", space, "/espace/envois",
                     {"csrf": csrf, "type": "UNIDES", "emetteur": "ION",
                      "destinataire": "+24106123456", "corps": "a\x00b"}, ("corps",)),
                    ("envoi de l'espace, numéros NUL", space, "/espace/envois",
                     {"csrf": csrf, "type": "MULDES", "emetteur": "ION",
                      "numeros": "+24106123456\n+2410\x0061", "corps": "x"}, ("numeros",)),
                    ("console opérateur, jeton NUL", stack.client, "/operateur/connexion",
                     {"jeton": "jeton\x00", "csrf": "x"}, ("jeton",)),
                ]
                for name, client, path, form, champs in form_cases:
                    problem = _refusal(await client.post(path, data=form), champs)
                    if problem:
                        failures.append(f"{name}: {problem}")
                csv = await space.post(
                    "/espace/envois",
                    data={"csrf": csrf, "type": "MULDES", "emetteur": "ION", "corps": "x"},
                    files={"fichier": ("numeros.csv", b"numero\n+24106123456\n+241\x0006\n")},
                )
                problem = _refusal(csv, ("fichier[1]",))
                if problem:
                    failures.append(f"fichier CSV avec NUL: {problem}")
                not_utf8 = await stack.client.post(
                    "/espace/connexion", content=b"identifiant=\xff\xfe&motDePasse=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                if not_utf8.status_code != 400 or (
                    not_utf8.json()["erreur"]["code"] != "FORMULAIRE_INVALIDE"
                ):
                    failures.append(f"formulaire non UTF-8: {not_utf8.status_code} {not_utf8.text}")

                assert not failures, "\n".join(failures)
                assert await footprint(stack) == before, "a refused request left something behind"
                assert stack.gateway.registry.restarts == 0
                assert stack.gateway.actors()["comptes"] == actors_before
                balance = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                assert (balance.json()["solde"], balance.json()["reserve"]) == (100, 0)
                # the same account still sends, and its session still works
                ok = await stack.client.post(
                    U, json={"emetteur": "ION", "destinataire": "+24106123456", "corps": "é\u00e9"},
                    headers={"X-API-Key": key})
                assert ok.status_code == 202, ok.text
                assert (await space.get("/espace")).status_code == 200
