"""`smsgw charge` against a real gateway: every send accepted over the connections
asked for, every message ended, and the closing table or JSON saying so."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.runner import smsgw
from tests.harness import open_stack


async def test_charge_reaches_its_connections_and_counts_every_message_sent(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        _, key = await stack.new_account(type="POSTPAYE")
        ran = await smsgw(stack.running.http_url, "charge", "--n", "40", "--connexions", "8", "--json",
                          key=key)
        assert ran.code == 0, ran.err
        report = ran.json()
        assert (report["envois"], report["acceptes"], report["erreurs"]) == (40, 40, {})
        assert report["simultanesMax"] == 8
        assert report["connexionsOuvertes"] >= 8
        ended = (report["messages"], report["envoyes"], report["echecs"], report["enAttente"])
        assert ended == (40, 40, 0, 0)
        assert report["termine"] is True
        assert 0 < report["latenceMs"]["p50"] <= report["latenceMs"]["p99"] <= report["latenceMs"]["max"]
        assert report["acceptesParS"] > 0 and report["envoyesParS"] > 0
        sends = await stack.client.get("/api/V1/sms", params={"limite": 100}, headers={"X-API-Key": key})
        assert [s["statut"] for s in sends.json()["envois"]] == ["ENVOYE"] * 40


async def test_charge_in_muldes_prints_its_closing_table(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        _, key = await stack.new_account(type="POSTPAYE")
        ran = await smsgw(stack.running.http_url, "charge", "--n", "6", "--connexions", "3",
                          "--mode", "muldes", "--destinataires", "5", key=key)
        assert ran.code == 0, ran.err
        rows = dict(re.findall(r"│ (\S.*?) +│ (.*?) +│", ran.out))
        assert rows["Envois demandés"] == "6 (MULDES × 5 destinataires)"
        assert rows["Acceptés (202)"] == "6"
        assert rows["Erreurs"] == "aucune"
        assert rows["Messages acceptés"] == "30"
        assert rows["ENVOYE / ECHEC / EN_ATTENTE"] == "30 / 0 / 0"
        assert rows["Connexions"].startswith("3 demandées")
        assert re.fullmatch(r"[\d.]+ / [\d.]+ / [\d.]+ ms", rows["Latence p50 / p99 / max"])


async def test_a_prepaid_account_short_of_credit_shows_sends_accepted_in_echec(tmp_path: Path) -> None:
    async with open_stack(tmp_path) as stack:
        _, key = await stack.new_account(solde=3)
        ran = await smsgw(stack.running.http_url, "charge", "--n", "5", "--connexions", "1", "--json",
                          key=key)
        assert ran.code == 0, ran.err
        report = ran.json()
        assert (report["acceptes"], report["acceptesEnEchec"]) == (5, 2)
        assert (report["envoyes"], report["echecs"]) == (3, 2)
