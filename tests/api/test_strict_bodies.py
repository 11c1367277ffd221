"""Bodies are strict (contract section 10): a field the contract does not name is
refused, named, and nothing is sent; a MULDES or MULDESP may give its recipients
as `destinataire` in a list (the seed's MULDES table names them so), never as
both `destinataire` and `numeros`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY, footprint
from tests.harness import eventually, open_stack

U, M, P = "/api/V1/sms/unides", "/api/V1/sms/muldes", "/api/V1/sms/muldesp"
CAMPAIGN = {"dateDebut": "2099-10-10", "dateFin": "2099-10-15", "nbParJour": 100,
            "intervalleMinutes": 15}


def _champs(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    error = r.json()["erreur"]
    assert error["code"] == "VALIDATION"
    assert all(d["message"] for d in error["details"])
    return sorted(d["champ"] for d in error["details"])


async def test_an_unknown_field_is_refused_by_name_and_nothing_leaves(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=100)
            headers = {"X-API-Key": key}
            before = await footprint(stack)
            mistyped = {**UNIDES_BODY, "dateEnvoie": "2099-01-01T08:00:00Z"}
            r = await stack.client.post(U, json=mistyped, headers=headers)
            assert _champs(r) == ["dateEnvoie"]
            r = await stack.client.post(M, json={**MULDES_BODY, "Numeros": ["+24106123456"]},
                                        headers=headers)
            assert _champs(r) == ["Numeros"]
            r = await stack.client.post(P, json={**MULDES_BODY, **CAMPAGN_TYPO}, headers=headers)
            assert _champs(r) == ["nbParJour", "nbParjour"]
            # every fault at once: a wrong field and an unknown one
            r = await stack.client.post(U, json={**UNIDES_BODY, "corps": "", "prorite": "HAUTE"},
                                        headers=headers)
            assert _champs(r) == ["corps", "prorite"]
            r = await stack.client.post("/api/V1/admin/comptes/1/credit",
                                        json={"montant": 10, "motif": "x"}, headers=stack.admin)
            assert _champs(r) == ["motif"]
            assert await footprint(stack) == before


CAMPAGN_TYPO = {k: v for k, v in CAMPAIGN.items() if k != "nbParJour"} | {"nbParjour": 100}


async def test_destinataire_given_as_a_list_is_the_recipients_list(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=100)
            headers = {"X-API-Key": key}
            numbers = ["+24106123456", "+24107456789"]
            seed_style = {"emetteur": "ION", "destinataire": numbers, "corps": "Bonjour"}
            r = await stack.client.post(M, json=seed_style, headers=headers)
            assert r.status_code == 202, r.text
            assert r.json()["nbDestinataires"] == 2
            sent = r.json()["ref"]
            shown = await stack.client.get(f"/api/V1/sms/{r.json()['ref']}/messages",
                                           headers=headers)
            assert sorted(m["destinataire"] for m in shown.json()["messages"]) == sorted(numbers)
            r = await stack.client.post(P, json={**seed_style, **CAMPAIGN}, headers=headers)
            assert r.status_code == 202, r.text
            assert r.json()["nbDestinataires"] == 2
            await eventually(  # the MULDES's reservation settled: the footprint holds still
                partial(stack.client.get, f"/api/V1/sms/{sent}", headers=headers),
                lambda g: g.json()["statut"] != "EN_ATTENTE",
            )

            before = await footprint(stack)
            both = {**MULDES_BODY, "destinataire": numbers}
            r = await stack.client.post(M, json=both, headers=headers)
            assert _champs(r) == ["destinataire"]
            r = await stack.client.post(P, json={**both, **CAMPAIGN}, headers=headers)
            assert _champs(r) == ["destinataire"]
            # a single number is the UNIDES field: the list is what a MULDES lacks
            r = await stack.client.post(M, json={**seed_style, "destinataire": numbers[0]},
                                        headers=headers)
            assert _champs(r) == ["numeros"]
            # a UNIDES takes no list
            r = await stack.client.post(U, json=seed_style, headers=headers)
            assert _champs(r) == ["destinataire"]
            assert await footprint(stack) == before
