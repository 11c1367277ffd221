"""Account controls as a client and an operator use them (contract section 12):
several named keys, sender names, the opt-out list and suspension, each refusal
leaving nothing behind, on every send door (API, client-space form, campaigns)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import trio

from engine.model import CampaignRequest, SendType
from tests.api.conftest import MULDES_BODY, UNIDES_BODY, footprint
from tests.harness import PASSWORD, Stack, client_session, eventually, open_stack

CALENDAR = {"dateDebut": "2099-10-10", "dateFin": "2099-10-15", "nbParJour": 100,
            "intervalleMinutes": 15}


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()["erreur"]
    assert body["code"] == code, body
    return body


async def _patch(stack: Stack, account_id: int, **body: Any) -> dict[str, Any]:
    r = await stack.client.patch(f"/api/V1/admin/comptes/{account_id}", json=body,
                                 headers=stack.admin)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def _me(stack: Stack, key: str) -> dict[str, Any]:
    r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_several_named_keys_each_used_revoked_at_once_and_at_most_ten(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, first = await stack.new_account(solde=10)
            mine = {"X-API-Key": first}
            listed = (await stack.client.get("/api/V1/compte/cles", headers=mine)).json()
            assert [k["nom"] for k in listed["cles"]] == ["principale"]
            assert listed["cles"][0]["prefixe"] == first[:8] and "cle" not in listed["cles"][0]

            r = await stack.client.post("/api/V1/compte/cles", headers=mine,
                                        json={"nom": "Serveur de paiement", "expirationJours": 30})
            assert r.status_code == 201, r.text
            second = r.json()
            assert second["nom"] == "Serveur de paiement" and second["prefixe"] == second["cle"][:8]
            assert second["derniereUtilisation"] is None

            other = {"X-API-Key": second["cle"]}
            sent = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=other)
            assert sent.status_code == 202, sent.text
            assert sent.headers["X-Cle-Expiration"] == second["expiration"], "the lean door"
            me = await stack.client.get("/api/V1/compte", headers=other)
            assert me.headers["X-Cle-Expiration"] == second["expiration"], "a Quart route"
            assert me.json()["cleApi"]["expiration"] == second["expiration"]
            assert (await stack.client.get("/api/V1/compte", headers=mine)).headers[
                "X-Cle-Expiration"] != second["expiration"]

            listed = (await stack.client.get("/api/V1/compte/cles", headers=mine)).json()["cles"]
            used = {k["id"]: k["derniereUtilisation"] for k in listed}
            assert used[second["id"]] is not None, "its use is shown"

            r = await stack.client.delete(f"/api/V1/compte/cles/{second['id']}", headers=mine)
            assert r.status_code == 204, r.text
            refused = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=other)
            _error(refused, 401, "CLE_API_INVALIDE")
            assert "X-Cle-Expiration" not in refused.headers
            _error(await stack.client.delete(f"/api/V1/compte/cles/{second['id']}", headers=mine),
                   404, "CLE_INCONNUE")

            made = []
            for n in range(9):
                r = await stack.client.post("/api/V1/compte/cles", json={"nom": f"système {n}"},
                                            headers=mine)
                assert r.status_code == 201, r.text
                made.append(r.json())
            before = await footprint(stack)
            _error(await stack.client.post("/api/V1/compte/cles", json={"nom": "onzième"},
                                           headers=mine), 409, "TROP_DE_CLES")
            listed = (await stack.client.get("/api/V1/compte/cles", headers=mine)).json()["cles"]
            assert len(listed) == 10 and "onzième" not in [k["nom"] for k in listed]
            assert await footprint(stack) == before

            _error(await stack.client.post("/api/V1/compte/cles", json={"nom": ""}, headers=mine),
                   422, "VALIDATION")
            _error(await stack.client.post("/api/V1/compte/cles",
                                           json={"nom": "x", "expirationJours": 0}, headers=mine),
                   422, "VALIDATION")

            # regenerating replaces the key that calls, and only that one
            third = {"X-API-Key": made[0]["cle"]}
            r = await stack.client.post("/api/V1/compte/cle", headers=third)
            assert r.status_code == 201, r.text
            renewed = {"X-API-Key": r.json()["cleApi"]["cle"]}
            _error(await stack.client.get("/api/V1/compte", headers=third), 401, "CLE_API_INVALIDE")
            assert (await stack.client.get("/api/V1/compte", headers=renewed)).status_code == 200
            assert (await stack.client.get("/api/V1/compte", headers=mine)).status_code == 200
            names = [k["nom"] for k in (await stack.client.get(
                "/api/V1/compte/cles", headers=mine)).json()["cles"]]
            assert names.count("système 0") == 1 and len(names) == 10


async def test_sender_names_refuse_every_other_sender_on_every_door(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack, AsyncExitStack() as sessions:
            account_id, key = await stack.new_account(
                solde=100, email="banque@exemple.ga", motDePasse=PASSWORD)
            headers = {"X-API-Key": key}
            shown = await _patch(stack, account_id, emetteursAutorises=["BANQUE", "+24106000000"])
            assert shown["emetteursAutorises"] == ["BANQUE", "+24106000000"]
            assert (await _me(stack, key))["emetteursAutorises"] == ["BANQUE", "+24106000000"]
            session, csrf = await sessions.enter_async_context(
                client_session(stack, "banque@exemple.ga"))

            before = await footprint(stack)
            doors = {
                "unides": stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers),
                "muldes": stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers),
                "muldesp": stack.client.post("/api/V1/sms/muldesp",
                                             json={**MULDES_BODY, **CALENDAR}, headers=headers),
                "form": session.post("/espace/envois", data={
                    "type": "UNIDES", **UNIDES_BODY, "csrf": csrf}),
            }
            for door, request in doors.items():
                body = _error(await request, 422, "EMETTEUR_NON_AUTORISE")
                assert body["details"][0]["champ"] == "emetteur", door
            assert await footprint(stack) == before, "nothing reserved, nothing recorded"

            for emetteur in ("BANQUE", "+24106000000", "24106000000"):
                r = await stack.client.post("/api/V1/sms/unides", headers=headers,
                                            json={**UNIDES_BODY, "emetteur": emetteur})
                assert r.status_code == 202, (emetteur, r.text)

            _error(await stack.client.patch(f"/api/V1/admin/comptes/{account_id}",
                                            json={"emetteursAutorises": ["é"]},
                                            headers=stack.admin), 422, "VALIDATION")
            await _patch(stack, account_id, emetteursAutorises=[])
            r = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert r.status_code == 202, "an empty list allows any valid sender"


async def test_senders_required_makes_an_empty_list_refuse_every_sender(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path, SMSGW_GATEWAY_SENDERS_REQUIRED="true") as stack:
            account_id, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            before = await footprint(stack)
            _error(await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers),
                   422, "EMETTEUR_NON_AUTORISE")
            assert await footprint(stack) == before
            await _patch(stack, account_id, emetteursAutorises=[UNIDES_BODY["emetteur"]])
            r = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert r.status_code == 202, r.text


async def test_an_opted_out_recipient_ends_desinscrit_and_is_never_charged(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            r = await stack.client.post("/api/V1/compte/desinscrits", headers=headers,
                                        json={"numeros": ["07456789", "+24106123456", "07456789"]})
            assert r.status_code == 200, r.text
            assert r.json() == {"ajoutes": 2}
            again = await stack.client.post("/api/V1/compte/desinscrits", headers=headers,
                                            json={"numeros": ["+24107456789"]})
            assert again.json() == {"ajoutes": 0}, "normalised like recipients"
            before = await footprint(stack)
            _error(await stack.client.post("/api/V1/compte/desinscrits", headers=headers,
                                           json={"numeros": ["+24106000001", "pas-un-numero"]}),
                   422, "VALIDATION")
            assert await footprint(stack) == before

            page = (await stack.client.get("/api/V1/compte/desinscrits?limite=1",
                                           headers=headers)).json()
            assert [d["numero"] for d in page["desinscrits"]] == ["+24107456789"]
            assert page["desinscrits"][0]["source"] == "API"
            rest = (await stack.client.get(
                f"/api/V1/compte/desinscrits?limite=1&curseur={page['curseurSuivant']}",
                headers=headers)).json()
            assert [d["numero"] for d in rest["desinscrits"]] == ["+24106123456"]

            sent = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers)
            assert sent.status_code == 202, sent.text
            ref = sent.json()["ref"]
            assert (await _me(stack, key))["solde"] == 9, \
                "one credit held for the one recipient not opted out"
            messages = (await stack.client.get(f"/api/V1/sms/{ref}/messages",
                                               headers=headers)).json()["messages"]
            ended = {m["destinataire"]: (m["statut"], m["raison"]) for m in messages}
            assert ended["+24106123456"] == ("ECHEC", "DESINSCRIT")
            assert ended["+24107456789"] == ("ECHEC", "DESINSCRIT")
            assert ended["+24106234567"][1] is None
            await eventually(lambda: _me(stack, key), lambda me: me["reserve"] == 0)
            assert (await _me(stack, key))["solde"] == 9, "the opted-out are never charged"

            alone = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert alone.status_code == 202 and alone.json()["statut"] == "ECHEC"

            campaign = await stack.client.post("/api/V1/sms/muldesp", headers=headers,
                                               json={**MULDES_BODY, **CALENDAR})
            assert campaign.status_code == 202, campaign.text
            assert campaign.json()["nbDestinataires"] == 3
            view = (await stack.client.get(f"/api/V1/sms/{campaign.json()['ref']}",
                                           headers=headers)).json()
            assert view["progression"]["total"] == 1, "only the one not opted out is planned"

            r = await stack.client.delete("/api/V1/compte/desinscrits/+24106123456", headers=headers)
            assert r.status_code == 204, r.text
            _error(await stack.client.delete("/api/V1/compte/desinscrits/+24106123456",
                                             headers=headers), 404, "NUMERO_NON_DESINSCRIT")
            back = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert back.json()["statut"] == "EN_ATTENTE", "off the list, the number is served"


async def test_a_suspended_account_reads_but_sends_nothing_and_its_campaigns_wait(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack, AsyncExitStack() as sessions:
            account_id, key = await stack.new_account(
                solde=100, email="suspendu@exemple.ga", motDePasse=PASSWORD)
            headers = {"X-API-Key": key}
            session, csrf = await sessions.enter_async_context(
                client_session(stack, "suspendu@exemple.ga"))
            campaign = await stack.client.post("/api/V1/sms/muldesp", headers=headers,
                                               json={**MULDES_BODY, **CALENDAR})
            assert campaign.status_code == 202, campaign.text
            path = f"/api/V1/sms/{campaign.json()['ref']}"

            shown = await _patch(stack, account_id, actif=False)
            assert shown["actif"] is False
            before = await footprint(stack)
            doors = {
                "unides": stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers),
                "muldes": stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers),
                "muldesp": stack.client.post("/api/V1/sms/muldesp",
                                             json={**MULDES_BODY, **CALENDAR}, headers=headers),
                "form": session.post("/espace/envois", data={
                    "type": "UNIDES", **UNIDES_BODY, "csrf": csrf}),
            }
            for request in doors.values():
                _error(await request, 403, "COMPTE_SUSPENDU")
            assert await footprint(stack) == before, "nothing reserved, nothing recorded"

            assert (await _me(stack, key))["actif"] is False, "reads still answer"
            detail = (await stack.client.get(f"/api/V1/admin/comptes/{account_id}",
                                              headers=stack.admin)).json()
            assert detail["actif"] is False
            assert (await stack.client.get(path, headers=headers)).json()["etatCampagne"] == \
                "SUSPENDUE"

            await _patch(stack, account_id, actif=True)
            assert (await _me(stack, key))["actif"] is True
            assert (await stack.client.get(path, headers=headers)).json()["etatCampagne"] == \
                "PLANIFIEE"
            r = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            assert r.status_code == 202, r.text
            await eventually(lambda: _me(stack, key), lambda me: me["reserve"] == 0)

            journal = (await stack.client.get(f"/api/V1/admin/comptes/{account_id}/journal",
                                              headers=stack.admin)).json()
            admin = [e["detail"] for e in journal["ecritures"] if e["nature"] == "ADMIN"]
            assert "administration (API) : compte suspendu" in admin
            assert "administration (API) : compte réactivé" in admin
            assert journal["concorde"] is True


async def test_what_the_pages_read_search_consumption_and_a_campaign_preview(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            gw = stack.gateway
            bank, key = await stack.new_account(nom="Banque 100%_Sûre", type="POSTPAYE",
                                                email="compta@banque.ga")
            other, _ = await stack.new_account(nom="Assurance")
            found = await gw.search_accounts("100%_s", 0, 10)
            assert [a.id for a in found] == [bank], "LIKE wildcards are taken as text"
            assert [a.id for a in await gw.search_accounts("BANQUE.GA", 0, 10)] == [bank]
            assert [a.id for a in await gw.search_accounts(str(other), 0, 10)] == [other]
            assert await gw.search_accounts("introuvable", 0, 10) == []

            headers = {"X-API-Key": key}
            for _ in range(2):
                r = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY, headers=headers)
                assert r.status_code == 202
            await eventually(lambda: _me(stack, key), lambda me: me["consommation"] == 6)
            days = await gw.consumption_by_day(bank, days=7)
            assert len(days) == 7 and days[-1][1] == 6 and sum(n for _, n in days) == 6

            await stack.client.post("/api/V1/compte/desinscrits", headers=headers,
                                    json={"numeros": [MULDES_BODY["numeros"][0]]})
            draft = gw.prepare(SendType.MULDESP, "BANQUE", MULDES_BODY["numeros"], "Rappel")
            request = CampaignRequest(date(2099, 10, 10), date(2099, 10, 10), 100, 60)
            before = await footprint(stack)
            plan = await gw.preview_campaign(bank, draft, request)
            assert sum(s.count for s in plan.slots) == 2, "the opted-out number is left out"
            assert plan.etat.value == "PLANIFIEE"
            assert await footprint(stack) == before, "a preview writes nothing"


async def test_a_keys_last_use_is_noted_once_a_minute_and_written_in_one_go(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=10)
            access = stack.gateway.access
            await access.write_key_uses()  # what start-up noted (the demo account's key)

            async def stored() -> list[Any]:
                rows: list[Any] = await stack.gateway.store.read(lambda conn: conn.execute(
                    "SELECT utilise_le FROM api_keys WHERE account_id = ?", (account_id,)
                ).fetchall())
                return [r[0] for r in rows]

            for _ in range(5):
                r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
                assert r.status_code == 200
            assert await stored() == [None], "a request never writes"
            listed = (await stack.client.get("/api/V1/compte/cles",
                                             headers={"X-API-Key": key})).json()["cles"]
            assert listed[0]["derniereUtilisation"] is not None, "shown before it is written"
            assert await access.write_key_uses() == 1, "five requests, one use noted"
            assert await stored() == [listed[0]["derniereUtilisation"]]
            assert await access.write_key_uses() == 0
