"""The client space's own pages over HTTP (session cookie and CSRF token):
a campaign previewed, confirmed and cancelled from the form, a send's recipients
exported as CSV, the postpaid consumption per day drawn on the dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import trio

from tests.harness import PASSWORD, Stack, client_session, eventually, open_stack


def days_ahead(n: int) -> str:
    return (datetime.now(ZoneInfo("Africa/Libreville")).date() + timedelta(days=n)).isoformat()


def campaign_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {"csrf": csrf, "emetteur": "BANQUE", "corps": "Votre relevé est disponible",
            "numeros": "+24106000001\n+24106000002\n+24106000003", "dateDebut": days_ahead(1),
            "dateFin": days_ahead(2), "nbParJour": "2", "intervalleMinutes": "60"}
    form.update(changes)
    return form


async def sends(stack: Stack, key: str) -> list[dict[str, object]]:
    r = await stack.client.get("/api/V1/sms", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()["envois"]  # type: ignore[no-any-return]


async def test_a_campaign_is_previewed_then_confirmed_then_cancelled(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=50, email="a@banque.ga", motDePasse=PASSWORD)
            async with client_session(stack, "a@banque.ga") as (space, csrf):
                preview = await space.post("/espace/campagnes/apercu", data=campaign_form(csrf))
                assert preview.status_code == 200, preview.text
                assert re.search(r'id="apercu-destinataires">3<', preview.text)
                # 3 recipients at 2 a day: day one's quota in its slots, the rest on day two
                assert re.search(r'id="apercu-creneaux">3<', preview.text)
                assert 'id="btn-confirmer"' in preview.text
                assert await sends(stack, key) == []  # a preview records nothing

                refused = await space.post("/espace/campagnes/apercu", data=campaign_form(
                    csrf, dateFin=days_ahead(0), nbParJour="zéro"))
                assert refused.status_code == 422
                assert 'data-champ="nbParJour"' in refused.text

                confirmed = await space.post("/espace/campagnes", data=campaign_form(csrf))
                assert confirmed.status_code == 303
                ref = confirmed.headers["location"].split("/")[-1].split("?")[0]
                shown = await space.get(confirmed.headers["location"])
                assert "Campagne enregistrée." in shown.text
                assert 'id="etat-campagne">PLANIFIEE<' in shown.text
                plan = await stack.client.get(f"/api/V1/sms/{ref}/plan", headers={"X-API-Key": key})
                assert plan.json()["nbCreneauxPrevus"] == 3

                forged = await space.post(f"/espace/campagnes/{ref}/annulation", data={"csrf": "x"})
                assert forged.status_code == 403
                cancelled = await space.post(f"/espace/campagnes/{ref}/annulation",
                                             data={"csrf": csrf})
                assert cancelled.status_code == 303
                after = await space.get(cancelled.headers["location"])
                assert 'id="etat-campagne">ANNULEE<' in after.text
                assert 'id="btn-annuler-campagne"' not in after.text
                state = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})
                assert state.json()["etatCampagne"] == "ANNULEE"
                assert state.json()["compteurs"]["ECHEC"] == 3
                me = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                assert (me.json()["solde"], me.json()["reserve"]) == (50, 0)


async def test_a_sends_recipients_export_as_csv_for_its_account_only(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=50, email="a@banque.ga", motDePasse=PASSWORD)
            await stack.new_account(solde=50, email="b@banque.ga", motDePasse=PASSWORD)
            sent = await stack.client.post("/api/V1/sms/muldes", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "numeros": ["+24106000001", "+24106000002", "12"],
                "corps": "Bonjour"})
            assert sent.status_code == 202
            ref = sent.json()["ref"]

            async def state() -> str:
                r = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})
                return str(r.json()["statut"])

            await eventually(state, lambda s: s != "EN_ATTENTE")
            async with client_session(stack, "a@banque.ga") as (space, _):
                export = await space.get(f"/espace/envois/{ref}/export.csv")
                assert export.status_code == 200
                assert export.headers["content-type"].startswith("text/csv")
                assert f'filename="envoi-{ref}.csv"' in export.headers["content-disposition"]
                rows = list(csv.DictReader(io.StringIO(export.text)))
                assert list(rows[0]) == ["destinataire", "statut", "raison", "codeSmsc",
                                         "envoyeLe", "livraison", "livreLe", "reference", "smsc"]
                assert [(r["destinataire"], r["statut"]) for r in rows] == [
                    ("+24106000001", "ENVOYE"), ("+24106000002", "ENVOYE"), ("12", "ECHEC")]
                assert rows[2]["raison"] == "NUMERO_INVALIDE" and rows[0]["envoyeLe"]
            async with client_session(stack, "b@banque.ga") as (other, _):
                assert (await other.get(f"/espace/envois/{ref}/export.csv")).status_code == 404
            assert (await stack.client.get(f"/espace/envois/{ref}/export.csv")).status_code == 401


async def test_the_postpaid_dashboard_draws_todays_consumption(tmp_path: Path) -> None:
    with trio.fail_after(40):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(type="POSTPAYE", email="a@banque.ga",
                                             motDePasse=PASSWORD)
            sent = await stack.client.post("/api/V1/sms/muldes", headers={"X-API-Key": key}, json={
                "emetteur": "BANQUE", "numeros": ["+24106000001", "+24106000002"],
                "corps": "Bonjour"})
            assert sent.status_code == 202

            async def consumed() -> int:
                r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                return int(r.json()["consommation"])

            await eventually(consumed, lambda n: n == 2)
            async with client_session(stack, "a@banque.ga") as (space, _):
                home = await space.get("/espace")
                bars = re.findall(r'data-jour="([0-9/]+)" data-sms="(\d+)"', home.text)
                assert len(bars) == 30
                today = datetime.now(ZoneInfo("Africa/Libreville")).strftime("%d/%m")
                assert bars[-1] == (today, "2")
                assert all(sms == "0" for _, sms in bars[:-1])
