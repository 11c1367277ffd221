"""MULDESP over HTTP: the seed's example accepted and its plan shown, the calendar
rules answered 422 with the field named, ownership and cancel rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio

from tests.harness import open_stack

ZONE = ZoneInfo("Africa/Libreville")

SEED_MULDESP = {
    "emetteur": "ION-Networking",
    "numeros": ["+24106123456", "+24107456789"],
    "corps": "Campagne d'information SMS Gateway",
    "dateDebut": "2025-10-10",
    "dateFin": "2025-10-15",
    "nbParJour": 100,
    "intervalleMinutes": 15,
}


def today() -> date:
    return datetime.now(ZONE).date()


def moved(days_ahead: int = 1, **changes: Any) -> dict[str, Any]:
    """The seed's example with its six days moved to start `days_ahead` from today."""
    start = today() + timedelta(days=days_ahead)
    body = {
        **SEED_MULDESP,
        "dateDebut": start.isoformat(),
        "dateFin": (start + timedelta(days=5)).isoformat(),
    }
    body.update(changes)
    return body


async def test_seed_example_is_accepted_and_its_plan_shown(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            body = moved()
            r = await stack.client.post("/api/V1/sms/muldesp", json=body, headers=headers)
            assert r.status_code == 202, r.text
            accepted = r.json()
            assert accepted["type"] == "MULDESP"
            assert accepted["statut"] == "EN_ATTENTE"
            assert accepted["dateDebut"] == body["dateDebut"]
            assert accepted["dateFin"] == body["dateFin"]
            assert accepted["nbDestinataires"] == 2
            assert accepted["doublonsIgnores"] == 0
            assert accepted["ref"].isdigit() and len(accepted["ref"]) >= 6
            ref = accepted["ref"]

            plan = (await stack.client.get(f"/api/V1/sms/{ref}/plan", headers=headers)).json()
            assert plan["etatCampagne"] == "PLANIFIEE"
            assert plan["fuseauHoraire"] == "Africa/Libreville"
            assert plan["fenetre"] == {"debut": "08:00", "fin": "20:00"}
            # 100 a day over 48 slots: ceil(100/48) = 3 fit in the first slot, two numbers
            first_day = body["dateDebut"]
            assert plan["creneaux"] == [
                {
                    "heure": f"{first_day}T07:00:00.000Z",
                    "heureLocale": f"{first_day}T08:00+01:00",
                    "nombre": 2,
                    "etat": "PREVU",
                }
            ]
            assert plan["nbNonPlanifies"] == 0

            send = (await stack.client.get(f"/api/V1/sms/{ref}", headers=headers)).json()
            assert send["type"] == "MULDESP"
            assert send["statut"] == "EN_ATTENTE"
            assert send["etatCampagne"] == "PLANIFIEE"
            assert send["prochainCreneau"] == f"{first_day}T07:00:00.000Z"
            assert send["progression"] == {"total": 2, "lances": 0, "restants": 2}
            account = (await stack.client.get("/api/V1/compte", headers=headers)).json()
            assert (account["solde"], account["reserve"]) == (10, 0), "nothing reserved before a slot"
            assert stack.simulator.statistics().submit_accepted == 0


async def test_plan_spreads_a_day_quota_evenly_and_counts_what_cannot_fit(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            numbers = [f"+2410612{n:04d}" for n in range(30)]
            start = today() + timedelta(days=2)
            body = moved(2, numeros=numbers, nbParJour=10, intervalleMinutes=240,
                         dateFin=(start + timedelta(days=1)).isoformat())
            r = await stack.client.post("/api/V1/sms/muldesp", json=body, headers=headers)
            assert r.status_code == 202, r.text
            assert any("CAMPAGNE_EXPIREE" in w for w in r.json()["avertissements"])
            plan = (
                await stack.client.get(f"/api/V1/sms/{r.json()['ref']}/plan", headers=headers)
            ).json()
            # slots 08:00, 12:00, 16:00 (20:00 is the window's end, outside it): 4, 3, 3 a day
            assert [(c["heureLocale"][11:16], c["nombre"]) for c in plan["creneaux"]] == [
                ("08:00", 4), ("12:00", 3), ("16:00", 3)
            ] * 2
            assert plan["nbNonPlanifies"] == 10


async def test_calendar_rules_answer_422_naming_the_field(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            yesterday = (today() - timedelta(days=1)).isoformat()
            start = today() + timedelta(days=3)
            cases = [
                (moved(dateDebut=yesterday), "dateDebut"),
                (moved(dateFin=(start - timedelta(days=10)).isoformat()), "dateFin"),
                (moved(3, dateFin=(start + timedelta(days=366)).isoformat()), "dateFin"),
                (moved(nbParJour=0), "nbParJour"),
                (moved(intervalleMinutes=0), "intervalleMinutes"),
                (moved(dateDebut="10/10/2025"), "dateDebut"),
                (moved(nbParJour="100"), "nbParJour"),
                ({k: v for k, v in moved().items() if k != "dateFin"}, "dateFin"),
                (moved(numeros=[]), "numeros"),
                (moved(corps=""), "corps"),
            ]
            for body, field in cases:
                r = await stack.client.post("/api/V1/sms/muldesp", json=body, headers=headers)
                assert r.status_code == 422, (field, r.text)
                error = r.json()["erreur"]
                assert error["code"] == "VALIDATION"
                assert field in [d["champ"] for d in error["details"]], (field, error)
            # a span of exactly 366 days is accepted
            longest = moved(3, dateFin=(start + timedelta(days=365)).isoformat())
            r = await stack.client.post("/api/V1/sms/muldesp", json=longest, headers=headers)
            assert r.status_code == 202, r.text
            sends = (await stack.client.get("/api/V1/sms", headers=headers)).json()["envois"]
            assert len(sends) == 1, "refused requests leave nothing behind"
            account = (await stack.client.get("/api/V1/compte", headers=headers)).json()
            assert (account["solde"], account["reserve"]) == (10, 0)


async def test_other_accounts_and_other_send_types(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            _, other = await stack.new_account(solde=10)
            mine = {"X-API-Key": key}
            r = await stack.client.post("/api/V1/sms/muldesp", json=moved(), headers=mine)
            ref = r.json()["ref"]
            for method, path in (("GET", f"/api/V1/sms/{ref}/plan"), ("DELETE", f"/api/V1/sms/{ref}")):
                answer = await stack.client.request(method, path, headers={"X-API-Key": other})
                assert answer.status_code == 404, answer.text
                assert answer.json()["erreur"]["code"] == "REF_INCONNUE"
            single = await stack.client.post(
                "/api/V1/sms/unides",
                json={"emetteur": "ION", "destinataire": "+24106123456", "corps": "Bonjour"},
                headers=mine,
            )
            single_ref = single.json()["ref"]
            cancel = await stack.client.delete(f"/api/V1/sms/{single_ref}", headers=mine)
            assert cancel.status_code == 409
            assert cancel.json()["erreur"]["code"] == "NON_ANNULABLE"
            no_plan = await stack.client.get(f"/api/V1/sms/{single_ref}/plan", headers=mine)
            assert no_plan.status_code == 404
            # cancelling twice: the second finds it ended
            first = await stack.client.delete(f"/api/V1/sms/{ref}", headers=mine)
            assert first.status_code == 200, first.text
            assert first.json()["etatCampagne"] == "ANNULEE"
            assert first.json()["annules"] == 2
            again = await stack.client.delete(f"/api/V1/sms/{ref}", headers=mine)
            assert again.status_code == 409
            assert again.json()["erreur"]["code"] == "CAMPAGNE_TERMINEE"
            messages = (
                await stack.client.get(f"/api/V1/sms/{ref}/messages", headers=mine)
            ).json()["messages"]
            assert [(m["statut"], m["raison"]) for m in messages] == [("ECHEC", "ANNULE")] * 2


async def test_campaign_answer_matches_the_published_document(tmp_path: Path) -> None:
    import jsonschema_rs

    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            headers = {"X-API-Key": stack.running.demo_key or ""}
            r = await stack.client.post("/api/V1/sms/muldesp", json=moved(), headers=headers)
            assert r.status_code == 202, r.text
            send = (await stack.client.get(f"/api/V1/sms/{r.json()['ref']}", headers=headers)).json()
            assert send["etatCampagne"] == "PLANIFIEE"
            document = (await stack.client.get("/api/V1/openapi.json")).json()
            operation = document["paths"]["/api/V1/sms/{ref}"]["get"]
            envoi = operation["responses"]["200"]["content"]["application/json"]["schema"]
            for field in ("dateDebut", "dateFin", "nbParJour", "intervalleMinutes",
                          "etatCampagne", "progression", "prochainCreneau"):
                assert field in envoi["properties"], field
            jsonschema_rs.validate(envoi, send)
