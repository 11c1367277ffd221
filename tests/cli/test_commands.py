"""The `smsgw` command against a real gateway (port 0, embedded simulator): what
an operator checks after each command, read back through the API."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import trio

from tests.cli.runner import Ran, smsgw
from tests.harness import open_stack


async def test_an_account_created_and_topped_up_has_its_balance_and_a_working_key(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        url, token = stack.running.http_url, stack.running.admin_token
        created = await smsgw(url, "comptes", "creer", "--nom", "Banque de Libreville", "--type", "prepaye",
                              "--solde", "50", "--email", "banque@exemple.ga", token=token)
        assert created.code == 0, created.err
        found = re.search(r"Compte #(\d+) créé", created.out)
        key = re.search(r"Clé API : (\S+)", created.out)
        assert found and key, created.out
        account_id = int(found.group(1))
        mine = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key.group(1)})
        assert mine.status_code == 200 and mine.json()["solde"] == 50

        credited = await smsgw(url, "comptes", "crediter", str(account_id), "25", token=token)
        assert credited.code == 0, credited.err
        assert f"Compte #{account_id} crédité de 25 : solde 75." in credited.out

        shown = await smsgw(url, "comptes", "voir", str(account_id), "--json", token=token)
        assert shown.code == 0
        assert shown.json()["solde"] == 75 and shown.json()["type"] == "PREPAYE"
        listed = await smsgw(url, "comptes", "lister", token=token)
        assert listed.code == 0
        row = rf"│ +{account_id} │ Banque de Libreville +│ PREPAYE │ +75 │"
        assert re.search(row, listed.out), listed.out
        detail = await stack.client.get(f"/api/V1/admin/comptes/{account_id}", headers=stack.admin)
        assert detail.json()["solde"] == 75 and detail.json()["email"] == "banque@exemple.ga"


async def test_one_number_goes_as_unides_and_suivre_ends_with_it_sent(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        url = stack.running.http_url
        _, key = await stack.new_account(solde=10)
        sent = await smsgw(url, "envoyer", "--emetteur", "ION-Networking",
                           "--corps", "Bienvenue sur SMS Gateway !", "+24106123456", key=key)
        assert sent.code == 0, sent.err
        found = re.search(r"Envoi (\d+) accepté : UNIDES", sent.out)
        assert found, sent.out
        ref = found.group(1)

        followed = await smsgw(url, "suivre", ref, key=key)
        assert followed.code == 0, followed.err
        assert re.search(r"│ Statut +│ ENVOYE", followed.out), followed.out
        assert re.search(r"│ ENVOYE +│ 1 ", followed.out) and re.search(r"│ EN_ATTENTE +│ 0 ", followed.out)
        view = (await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})).json()
        assert view["statut"] == "ENVOYE" and view["type"] == "UNIDES"
        account = (await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})).json()
        assert account["solde"] == 9


async def test_a_csv_column_goes_as_muldes_and_is_followed_to_its_counts(tmp_path: Path) -> None:
    numbers = tmp_path / "clients.csv"
    numbers.write_text("nom;telephone\nAda;+24106123456\nBen;06234567\nAda bis;+241 06 12 34 56\n"
                       "Zoé;pas-un-numero\n", encoding="utf-8")
    async with open_stack(tmp_path / "data") as stack:
        _, key = await stack.new_account(type="POSTPAYE")
        ran = await smsgw(stack.running.http_url, "envoyer", "--emetteur", "BANQUE",
                          "--corps", "Offre du jour", "--csv", str(numbers), "--suivre", "--json", key=key)
        assert ran.code == 0, ran.err
        accepted, final = ran.json()["acceptation"], ran.json()["suivi"]
        assert accepted["type"] == "MULDES"
        assert (accepted["nbDestinataires"], accepted["doublonsIgnores"]) == (3, 1)
        assert final["compteurs"]["EN_ATTENTE"] == 0
        assert (final["compteurs"]["ENVOYE"], final["compteurs"]["ECHEC"]) == (2, 1)
        failed = await stack.client.get(f"/api/V1/sms/{accepted['ref']}/messages",
                                        params={"statut": "ECHEC"}, headers={"X-API-Key": key})
        assert [m["raison"] for m in failed.json()["messages"]] == ["NUMERO_INVALIDE"]


async def test_suivre_gives_up_at_its_timeout_while_recipients_wait(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        _, key = await stack.new_account(type="POSTPAYE")
        today = datetime.now(ZoneInfo(stack.settings.gateway.timezone)).date()
        tomorrow = (today + timedelta(days=1)).isoformat()
        campaign = await stack.client.post("/api/V1/sms/muldesp", headers={"X-API-Key": key}, json={
            "emetteur": "BANQUE", "numeros": ["+24106123456", "+24107456789"], "corps": "Demain",
            "dateDebut": tomorrow, "dateFin": tomorrow, "nbParJour": 10, "intervalleMinutes": 60})
        assert campaign.status_code == 202, campaign.text
        ran = await smsgw(stack.running.http_url, "suivre", campaign.json()["ref"], "--timeout", "0.3",
                          "--intervalle", "0.1", key=key)
        assert ran.code == 3
        assert "Délai dépassé : 2 destinataire(s) encore EN_ATTENTE après 0.3 s." in ran.err
        assert re.search(r"│ EN_ATTENTE +│ 2 ", ran.out), ran.out


async def run_all(url: str, runs: dict[str, tuple[tuple[str, ...], dict[str, str]]]) -> dict[str, Ran]:
    """Run each named command line (arguments, credentials) at once; their results by name."""
    ran: dict[str, Ran] = {}

    async def run(name: str) -> None:
        args, credentials = runs[name]
        ran[name] = await smsgw(url, *args, key=credentials.get("key"), token=credentials.get("token"))

    async with trio.open_nursery() as nursery:
        for name in runs:
            nursery.start_soon(run, name)
    return ran


async def test_a_refused_key_prints_the_api_code_on_one_line_and_exits_1(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        unknown = "00000000-0000-4000-8000-000000000000"
        ran = await run_all(stack.running.http_url, {
            "envoyer": (("envoyer", "--emetteur", "BANQUE", "--corps", "x", "+24106123456"),
                        {"key": unknown}),
            "suivre --json": (("suivre", "000001", "--json"), {"key": "mauvaise"}),
            "charge": (("charge", "--n", "3"), {"key": "mauvaise"}),
        })
    assert ran["envoyer"].code == 1
    assert ran["envoyer"].err.strip() == "Erreur 401 CLE_API_INVALIDE : La clé API est invalide."
    assert ran["suivre --json"].code == 1
    assert ran["suivre --json"].json()["erreur"]["code"] == "CLE_API_INVALIDE"
    assert ran["charge"].code == 1 and "401 CLE_API_INVALIDE" in ran["charge"].err


async def test_a_bad_token_an_invalid_body_and_a_missing_key_are_each_named(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        _, key = await stack.new_account()
        ran = await run_all(stack.running.http_url, {
            "bad token": (("comptes", "lister"), {"token": "faux"}),
            "invalid body": (("envoyer", "--emetteur", "", "--corps", "x", "+24106123456"), {"key": key}),
            "no key": (("suivre", "000001"), {}),
        })
    assert ran["bad token"].code == 1
    assert ran["bad token"].err.startswith("Erreur 403 JETON_ADMIN_INVALIDE : ")
    invalid = ran["invalid body"]
    assert invalid.code == 1 and invalid.err.strip().startswith("Erreur 422 VALIDATION : ")
    assert "(emetteur : " in invalid.err
    assert ran["no key"].code == 2 and "Clé API manquante" in ran["no key"].err


async def test_a_gateway_that_does_not_answer_is_named_with_its_address() -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        ran = await smsgw(url, "comptes", "voir", "1", token="jeton")
    assert ran.code == 1
    assert ran.err.startswith(f"Erreur PASSERELLE_INJOIGNABLE : passerelle injoignable à {url}")


async def test_a_suspended_account_is_refused_its_sends_until_reactivated(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        url, token = stack.running.http_url, stack.running.admin_token
        account_id, key = await stack.new_account(solde=10)
        send = {"emetteur": "ION", "destinataire": "+24106123456", "corps": "Bonjour"}

        suspended = await smsgw(url, "comptes", "suspendre", str(account_id), token=token)
        assert suspended.code == 0, suspended.err
        assert f"Compte #{account_id} suspendu." in suspended.out
        refused = await stack.client.post("/api/V1/sms/unides", json=send, headers={"X-API-Key": key})
        assert refused.status_code == 403 and refused.json()["erreur"]["code"] == "COMPTE_SUSPENDU"
        shown = await smsgw(url, "comptes", "voir", str(account_id), "--json", token=token)
        assert shown.json()["actif"] is False

        back = await smsgw(url, "comptes", "suspendre", str(account_id), "--reactiver", token=token)
        assert back.code == 0 and f"Compte #{account_id} réactivé." in back.out
        sent = await stack.client.post("/api/V1/sms/unides", json=send, headers={"X-API-Key": key})
        assert sent.status_code == 202, sent.text

        await smsgw(url, "comptes", "suspendre", str(account_id), token=token)
        again = await smsgw(url, "comptes", "reactiver", str(account_id), token=token)
        assert again.code == 0 and f"Compte #{account_id} réactivé." in again.out
        unknown = await smsgw(url, "comptes", "suspendre", "999999", token=token)
        assert unknown.code == 1 and "404 COMPTE_INCONNU" in unknown.err
