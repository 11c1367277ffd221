"""Bad inputs across the endpoints: each gets its status and code in the contract's
error envelope, and none leaves anything behind (no send, no message, no
idempotency record, no journal entry, no change to any balance or reservation,
no crashed actor)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY, footprint
from tests.harness import eventually, open_stack

KEY = "{key}"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    code: str | None
    body: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=lambda: {"X-API-Key": KEY})
    champs: tuple[str, ...] = ()
    requires: str | None = None  # a route another part of the API adds


def _unides(**changes: Any) -> dict[str, Any]:
    body = {**UNIDES_BODY, **changes}
    return {k: v for k, v in body.items() if v is not _DROP}


def _muldes(**changes: Any) -> dict[str, Any]:
    body = {**MULDES_BODY, **changes}
    return {k: v for k, v in body.items() if v is not _DROP}


def _muldesp(**changes: Any) -> dict[str, Any]:
    body = {**MULDES_BODY, "dateDebut": "2099-10-10", "dateFin": "2099-10-15", "nbParJour": 100,
            "intervalleMinutes": 15, **changes}
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()
U, M, P = "/api/V1/sms/unides", "/api/V1/sms/muldes", "/api/V1/sms/muldesp"
ADMIN = {"Authorization": "Bearer jeton-admin-de-test"}
V = "VALIDATION"

CASES = [
    # -- UNIDES body -----------------------------------------------------------------
    Case("JSON coupé", "POST", U, 400, "JSON_INVALIDE", raw=b'{"emetteur": "ION"'),
    Case("octets non UTF-8", "POST", U, 400, "JSON_INVALIDE", raw=b'{"corps": "\xff\xfe"}'),
    Case("UTF-16", "POST", U, 400, "JSON_INVALIDE", raw=json.dumps(UNIDES_BODY).encode("utf-16")),
    Case("NaN", "POST", U, 400, "JSON_INVALIDE", raw=b'{"emetteur": NaN}'),
    Case("déchets après le JSON", "POST", U, 400, "JSON_INVALIDE", raw=b"{}x"),
    Case("corps vide", "POST", U, 400, "JSON_INVALIDE", raw=b""),
    Case("text/plain", "POST", U, 415, "TYPE_NON_SUPPORTE", raw=json.dumps(UNIDES_BODY).encode(),
         content_type="text/plain"),
    Case("formulaire", "POST", U, 415, "TYPE_NON_SUPPORTE", raw=b"emetteur=ION",
         content_type="application/x-www-form-urlencoded"),
    Case("liste au lieu d'objet", "POST", U, 422, V, body=[UNIDES_BODY]),
    Case("null", "POST", U, 422, V, body=None, raw=b"null"),
    Case("tout manque", "POST", U, 422, V, body={}, champs=("emetteur", "destinataire", "corps")),
    Case("emetteur manquant", "POST", U, 422, V, body=_unides(emetteur=_DROP), champs=("emetteur",)),
    Case("emetteur entier", "POST", U, 422, V, body=_unides(emetteur=241), champs=("emetteur",)),
    Case("emetteur vide", "POST", U, 422, V, body=_unides(emetteur=""), champs=("emetteur",)),
    Case("emetteur 21 caractères", "POST", U, 422, V, body=_unides(emetteur="A" * 21),
         champs=("emetteur",)),
    Case("emetteur avec @", "POST", U, 422, V, body=_unides(emetteur="ION@Net"), champs=("emetteur",)),
    Case("destinataire liste", "POST", U, 422, V, body=_unides(destinataire=["+24106123456"]),
         champs=("destinataire",)),
    Case("destinataire vide", "POST", U, 422, V, body=_unides(destinataire=""),
         champs=("destinataire",)),
    Case("corps vide", "POST", U, 422, V, body=_unides(corps=""), champs=("corps",)),
    Case("corps 161 caractères", "POST", U, 422, V, body=_unides(corps="x" * 161), champs=("corps",)),
    Case("corps null", "POST", U, 422, V, body=_unides(corps=None), champs=("corps",)),
    Case("deux champs faux", "POST", U, 422, V, body=_unides(emetteur="", corps=7),
         champs=("emetteur", "corps")),
    Case("Idempotency-Key de 129", "POST", U, 422, V, body=UNIDES_BODY,
         headers={"X-API-Key": KEY, "Idempotency-Key": "k" * 129}, champs=("Idempotency-Key",)),
    Case("sans clé API", "POST", U, 401, "CLE_API_MANQUANTE", body=UNIDES_BODY, headers={}),
    Case("clé API inconnue", "POST", U, 401, "CLE_API_INVALIDE", body=UNIDES_BODY,
         headers={"X-API-Key": "5ac1a3d4-92b8-4f5e-993c-19b41c2f8e31"}),
    Case("corps de 17 Mo", "POST", U, 413, "REQUETE_TROP_VOLUMINEUSE",
         raw=b'{"corps": "' + b"x" * (17 * 1024 * 1024) + b'"}'),
    # -- MULDES body -----------------------------------------------------------------
    Case("destinataire au lieu de numeros", "POST", M, 422, V,
         body=_muldes(numeros=_DROP, destinataire="+24106123456"), champs=("numeros",)),
    Case("numeros vide", "POST", M, 422, V, body=_muldes(numeros=[]), champs=("numeros",)),
    Case("numeros chaîne", "POST", M, 422, V, body=_muldes(numeros="+24106123456"),
         champs=("numeros",)),
    Case("numeros entiers", "POST", M, 422, V, body=_muldes(numeros=[24106123456]),
         champs=("numeros[0]",)),
    Case("numero de 33 caractères", "POST", M, 422, V, body=_muldes(numeros=["1" * 33]),
         champs=("numeros[0]",)),
    Case("100 001 numéros", "POST", M, 413, "TROP_DE_DESTINATAIRES",
         body=_muldes(numeros=[f"+2410{n:07d}" for n in range(100_001)])),
    Case("corps objet", "POST", M, 422, V, body=_muldes(corps={"texte": "x"}), champs=("corps",)),
    # -- MULDESP (scheduled campaigns) ---------------------------------------------------
    Case("quota nul", "POST", P, 422, V, body=_muldesp(nbParJour=0), champs=("nbParJour",),
         requires=P),
    Case("intervalle négatif", "POST", P, 422, V, body=_muldesp(intervalleMinutes=-15),
         champs=("intervalleMinutes",), requires=P),
    Case("dates inversées (MULDESP)", "POST", P, 422, V,
         body=_muldesp(dateDebut="2099-10-15", dateFin="2099-10-10"), champs=("dateFin",), requires=P),
    Case("date mal écrite", "POST", P, 422, V, body=_muldesp(dateDebut="10/10/2099"),
         champs=("dateDebut",), requires=P),
    Case("MULDESP sans dates", "POST", P, 422, V, body=_muldesp(dateDebut=_DROP, dateFin=_DROP),
         champs=("dateDebut", "dateFin"), requires=P),
    # -- tracking ---------------------------------------------------------------------
    Case("ref non numérique", "GET", "/api/V1/sms/abc", 404, "REF_INCONNUE"),
    Case("ref inconnue", "GET", "/api/V1/sms/999999", 404, "REF_INCONNUE"),
    Case("ref d'un autre compte", "GET", "/api/V1/sms/{other_ref}", 404, "REF_INCONNUE"),
    Case("messages d'un autre compte", "GET", "/api/V1/sms/{other_ref}/messages", 404,
         "REF_INCONNUE"),
    Case("limite 0", "GET", "/api/V1/sms?limite=0", 422, V, champs=("limite",)),
    Case("limite 1001", "GET", "/api/V1/sms?limite=1001", 422, V, champs=("limite",)),
    Case("limite texte", "GET", "/api/V1/sms?limite=dix", 422, V, champs=("limite",)),
    Case("statut inconnu", "GET", "/api/V1/sms?statut=LIVRE", 422, V, champs=("statut",)),
    Case("type inconnu", "GET", "/api/V1/sms?type=SMS", 422, V, champs=("type",)),
    Case("date impossible", "GET", "/api/V1/sms?depuis=2025-13-01", 422, V, champs=("depuis",)),
    Case("dates inversées", "GET", "/api/V1/sms?depuis=2025-10-15&jusqua=2025-10-10", 422, V,
         champs=("jusqua",)),
    Case("curseur forgé", "GET", "/api/V1/sms/{own_ref}/messages?curseur=ZZZ", 422, V,
         champs=("curseur",)),
    Case("curseur d'une autre liste", "GET", "/api/V1/sms?curseur=bTE", 422, V, champs=("curseur",)),
    # -- routing ----------------------------------------------------------------------
    Case("route inconnue", "GET", "/api/V1/inconnu", 404, "INTROUVABLE"),
    Case("mauvaise méthode", "PUT", M, 405, "METHODE_NON_AUTORISEE"),
    # -- administration ---------------------------------------------------------------
    Case("crédit nul", "POST", "/api/V1/admin/comptes/{own_account}/credit", 422, V,
         body={"montant": 0}, headers=ADMIN, champs=("montant",)),
    Case("crédit en texte", "POST", "/api/V1/admin/comptes/{own_account}/credit", 422, V,
         body={"montant": "10"}, headers=ADMIN, champs=("montant",)),
    Case("crédit sans jeton", "POST", "/api/V1/admin/comptes/{own_account}/credit", 401,
         "JETON_ADMIN_MANQUANT", body={"montant": 10}, headers={}),
    Case("crédit compte inconnu", "POST", "/api/V1/admin/comptes/424242/credit", 404,
         "COMPTE_INCONNU", body={"montant": 10}, headers=ADMIN),
]


async def test_every_bad_input_gets_its_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            served = {r.rule for r in _app_rules(stack)}
            cases = [c for c in CASES if c.requires is None or c.requires in served]
            assert len(cases) >= 40
            own_account, key = await stack.new_account(solde=100)
            _, other_key = await stack.new_account(solde=100)
            own = await stack.client.post(U, json=UNIDES_BODY, headers={"X-API-Key": key})
            other = await stack.client.post(U, json=UNIDES_BODY, headers={"X-API-Key": other_key})
            assert own.status_code == other.status_code == 202
            for ref, k in ((own.json()["ref"], key), (other.json()["ref"], other_key)):
                await eventually(
                    partial(stack.client.get, f"/api/V1/sms/{ref}", headers={"X-API-Key": k}),
                    lambda r: r.json()["statut"] != "EN_ATTENTE",
                )
            values = {
                "key": key,
                "other_ref": other.json()["ref"],
                "own_ref": own.json()["ref"],
                "own_account": str(own_account),
            }
            before = await footprint(stack)
            failures = []
            for case in cases:
                headers = {k: v.format(**values) for k, v in case.headers.items()}
                if case.raw is not None or case.body is not None:
                    headers["Content-Type"] = case.content_type
                content = case.raw
                if content is None and case.body is not None:
                    content = json.dumps(case.body).encode()
                r = await stack.client.request(
                    case.method, case.path.format(**values), content=content, headers=headers
                )
                problem = _judge(case, r)
                if problem:
                    failures.append(f"{case.name}: {problem}")
            after = await footprint(stack)
            assert not failures, "\n".join(failures)
            assert after == before, "a refused request left something behind"
            assert stack.gateway.registry.restarts == 0


def _app_rules(stack: Any) -> list[Any]:
    from api.app import create_app

    app = create_app(stack.gateway, stack.settings, stack.running.admin_token)
    return list(app.url_map.iter_rules())


def _judge(case: Case, r: Any) -> str | None:
    if r.status_code != case.status:
        return f"status {r.status_code} != {case.status}: {r.text[:300]}"
    try:
        error = r.json()["erreur"]
    except (ValueError, KeyError):
        return f"not the error envelope: {r.text[:200]}"
    if case.code and error["code"] != case.code:
        return f"code {error['code']} != {case.code}"
    if not error["message"] or not isinstance(error["details"], list):
        return "message or details missing"
    champs = tuple(d["champ"] for d in error["details"])
    if case.champs and sorted(champs) != sorted(case.champs):
        return f"details {error['details']} do not name exactly {case.champs}"
    if any(not d.get("message") for d in error["details"]):
        return "a detail has no message"
    if case.status == 405 and "POST" not in r.headers.get("Allow", ""):
        return "405 without Allow"
    return None
