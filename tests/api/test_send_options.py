"""Send options over HTTP (contract section 10): reference, urlRappel, validite,
priorite and dateEnvoi on every door, each refusal, the sends found by reference
and by number, and a send's recipients as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.api.conftest import MULDES_BODY, UNIDES_BODY, footprint
from tests.callbacks.receiver import Receiver
from tests.harness import Stack, eventually, open_stack

MULDESP_BODY: dict[str, Any] = {
    **MULDES_BODY,
    "dateDebut": "2099-01-01",
    "dateFin": "2099-01-02",
    "nbParJour": 10,
    "intervalleMinutes": 60,
}
DOORS: dict[str, dict[str, Any]] = {"unides": UNIDES_BODY, "muldes": MULDES_BODY, "muldesp": MULDESP_BODY}


async def _get(stack: Stack, key: str, path: str, **params: str) -> Any:
    r = await stack.client.get(path, params=params, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


async def _ended(stack: Stack, key: str, ref: str, within_s: float = 20) -> Any:
    return await eventually(
        lambda: _get(stack, key, f"/api/V1/sms/{ref}"),
        lambda s: s["statut"] != "EN_ATTENTE",
        within_s=within_s,
    )


def _soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).astimezone().isoformat()


async def test_every_door_keeps_the_options_and_shows_the_reference(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=100)
            refs = {}
            for door, body in DOORS.items():
                options = {"reference": f"cmd-{door}", "priorite": "HAUTE", "validite": 30,
                           "urlRappel": "https://93.184.215.14/rappels"}
                r = await stack.client.post(f"/api/V1/sms/{door}", json={**body, **options},
                                            headers={"X-API-Key": key})
                assert r.status_code == 202, r.text
                refs[door] = r.json()["ref"]
                shown = await _get(stack, key, f"/api/V1/sms/{refs[door]}")
                assert shown["reference"] == f"cmd-{door}"
                assert (shown["priorite"], shown["validite"]) == ("HAUTE", 30)
                assert shown["urlRappel"] == "https://93.184.215.14/rappels"
                found = await _get(stack, key, "/api/V1/sms", reference=f"cmd-{door}")
                assert [s["ref"] for s in found["envois"]] == [refs[door]]
            page = await _get(stack, key, f"/api/V1/sms/{refs['muldes']}/messages")
            assert {m["reference"] for m in page["messages"]} == {"cmd-muldes"}
            plain = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY,
                                            headers={"X-API-Key": key})
            assert "reference" not in (await _get(stack, key, f"/api/V1/sms/{plain.json()['ref']}"))
            assert (await _get(stack, key, "/api/V1/sms", reference="inconnue"))["envois"] == []


async def test_sends_are_found_by_a_number_written_either_way(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=100)
            one = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY,
                                          headers={"X-API-Key": key})
            many = await stack.client.post("/api/V1/sms/muldes", json=MULDES_BODY,
                                           headers={"X-API-Key": key})
            other = await stack.client.post(
                "/api/V1/sms/unides", json={**UNIDES_BODY, "destinataire": "+24107999999"},
                headers={"X-API-Key": key},
            )
            assert {one.status_code, many.status_code, other.status_code} == {202}
            wanted = [many.json()["ref"], one.json()["ref"]]
            for written in ("+24106123456", "24106123456", "+241 06 12 34 56"):
                found = await _get(stack, key, "/api/V1/sms", numero=written)
                assert [s["ref"] for s in found["envois"]] == wanted, written
            assert (await _get(stack, key, "/api/V1/sms", numero="+24106000001"))["envois"] == []


@pytest.mark.parametrize(
    ("door", "field", "value", "code"),
    [
        ("unides", "reference", "x" * 65, "VALIDATION"),
        ("muldes", "reference", "", "VALIDATION"),
        ("unides", "reference", "ligne\nsuivante", "VALIDATION"),
        ("unides", "validite", 0, "VALIDATION"),
        ("muldesp", "validite", 10081, "VALIDATION"),
        ("muldes", "validite", "dix", "VALIDATION"),
        ("unides", "priorite", "URGENTE", "VALIDATION"),
        ("muldes", "urlRappel", "ftp://exemple.ga/r", "VALIDATION"),
        ("unides", "urlRappel", "http://127.0.0.1:9/r", "URL_RAPPEL_INTERDITE"),
        ("muldesp", "urlRappel", "http://10.0.0.7/r", "URL_RAPPEL_INTERDITE"),
        ("unides", "dateEnvoi", "2030-01-01T08:00:00", "VALIDATION"),
        ("muldes", "dateEnvoi", "demain matin", "VALIDATION"),
        ("unides", "dateEnvoi", "2020-01-01T08:00:00+01:00", "VALIDATION"),
        ("unides", "dateEnvoi", _soon(367 * 86400), "VALIDATION"),
        ("muldesp", "dateEnvoi", _soon(3600), "VALIDATION"),
    ],
)
async def test_each_option_is_refused_naming_it_and_leaving_nothing(
    tmp_path: Path, door: str, field: str, value: Any, code: str
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path, SMSGW_CALLBACKS_ALLOW_PRIVATE="false") as stack:
            _, key = await stack.new_account(solde=100)
            before = await footprint(stack)
            r = await stack.client.post(f"/api/V1/sms/{door}", json={**DOORS[door], field: value},
                                        headers={"X-API-Key": key})
            assert r.status_code == 422, r.text
            error = r.json()["erreur"]
            assert error["code"] == code
            assert [d["champ"] for d in error["details"]] == [field]
            assert await footprint(stack) == before, "a refusal leaves nothing behind"


async def test_a_send_callback_url_wins_over_the_account_url(tmp_path: Path) -> None:
    with trio.fail_after(60), Receiver() as account_receiver, Receiver() as send_receiver:
        async with open_stack(tmp_path) as stack:
            account_id, key = await stack.new_account(solde=10)
            r = await stack.client.patch(f"/api/V1/admin/comptes/{account_id}",
                                         json={"urlRappel": account_receiver.url},
                                         headers=stack.admin)
            assert r.status_code == 200
            own = await stack.client.post(
                "/api/V1/sms/unides",
                json={**UNIDES_BODY, "urlRappel": send_receiver.url, "reference": "otp-1"},
                headers={"X-API-Key": key},
            )
            plain = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY,
                                            headers={"X-API-Key": key})

            async def both() -> tuple[int, int]:
                return len(send_receiver.accepted_events()), len(account_receiver.accepted_events())

            await eventually(both, lambda n: n[0] >= 2 and n[1] >= 2, within_s=30)
            assert {e["ref"] for e in send_receiver.accepted_events()} == {own.json()["ref"]}
            assert {e["reference"] for e in send_receiver.accepted_events()} == {"otp-1"}
            assert {e["ref"] for e in account_receiver.accepted_events()} == {plain.json()["ref"]}


async def test_a_deferred_send_is_reserved_at_once_waits_and_leaves_at_its_time(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            departure = _soon(3)
            r = await stack.client.post("/api/V1/sms/muldes",
                                        json={**MULDES_BODY, "dateEnvoi": departure},
                                        headers={"X-API-Key": key})
            assert r.status_code == 202, r.text
            ref = r.json()["ref"]
            account = await _get(stack, key, "/api/V1/compte")
            assert (account["solde"], account["reserve"]) == (7, 3), "reserved at acceptance"
            shown = await _get(stack, key, f"/api/V1/sms/{ref}")
            assert shown["statut"] == "EN_ATTENTE" and shown["compteurs"]["EN_ATTENTE"] == 3
            when = datetime.fromisoformat(shown["dateEnvoi"])
            assert abs((when - datetime.fromisoformat(departure)).total_seconds()) < 0.01
            assert stack.simulator.statistics().submit_accepted == 0, "nothing left yet"
            final = await _ended(stack, key, ref)
            assert datetime.now(UTC) >= when
            assert final["compteurs"]["ENVOYE"] == 3
            sent = await _get(stack, key, f"/api/V1/sms/{ref}/messages")
            assert all(datetime.fromisoformat(m["envoyeLe"]) >= when for m in sent["messages"])


async def test_a_deferred_send_cancelled_before_its_time_releases_its_credits(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            headers = {"X-API-Key": key}
            r = await stack.client.post("/api/V1/sms/muldes",
                                        json={**MULDES_BODY, "dateEnvoi": _soon(3600)},
                                        headers=headers)
            ref = r.json()["ref"]
            cancelled = await stack.client.delete(f"/api/V1/sms/{ref}", headers=headers)
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["annules"] == 3
            assert cancelled.json()["compteurs"]["ECHEC"] == 3
            page = await _get(stack, key, f"/api/V1/sms/{ref}/messages")
            assert {(m["statut"], m["raison"]) for m in page["messages"]} == {("ECHEC", "ANNULE")}
            account = await _get(stack, key, "/api/V1/compte")
            assert (account["solde"], account["reserve"]) == (10, 0), "credits released"
            again = await stack.client.delete(f"/api/V1/sms/{ref}", headers=headers)
            assert again.status_code == 409 and again.json()["erreur"]["code"] == "NON_ANNULABLE"
            now = await stack.client.post("/api/V1/sms/unides", json=UNIDES_BODY, headers=headers)
            late = await stack.client.delete(f"/api/V1/sms/{now.json()['ref']}", headers=headers)
            assert late.status_code == 409 and late.json()["erreur"]["code"] == "NON_ANNULABLE"
            assert stack.simulator.statistics().submit_accepted <= 1


async def test_a_deferred_send_survives_a_restart_and_leaves_at_its_time(tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            departure = _soon(6)
            r = await stack.client.post("/api/V1/sms/unides",
                                        json={**UNIDES_BODY, "dateEnvoi": departure},
                                        headers={"X-API-Key": key})
            ref = r.json()["ref"]
        async with open_stack(tmp_path) as stack:
            shown = await _get(stack, key, f"/api/V1/sms/{ref}")
            assert shown["statut"] == "EN_ATTENTE", "still waiting for its time after the restart"
            final = await _ended(stack, key, ref, within_s=30)
            assert final["statut"] == "ENVOYE"
            sent = await _get(stack, key, f"/api/V1/sms/{ref}/messages")
            assert datetime.fromisoformat(sent["messages"][0]["envoyeLe"]) >= datetime.fromisoformat(
                departure
            )


async def test_the_recipients_export_as_streamed_csv(tmp_path: Path) -> None:
    numbers = [f"+2410620{i:04d}" for i in range(5000)]
    with trio.fail_after(90):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10_000, debitMax=100_000)
            r = await stack.client.post(
                "/api/V1/sms/muldes",
                json={**MULDES_BODY, "numeros": [*numbers, "pas-un-numero"],
                      "reference": "lot, \"42\""},
                headers={"X-API-Key": key},
            )
            ref = r.json()["ref"]
            await _ended(stack, key, ref, within_s=60)
            asks: list[tuple[dict[str, str], dict[str, str]]] = [
                ({"format": "csv"}, {}), ({}, {"Accept": "text/csv"})]
            for params, extra in asks:
                answer = await stack.client.get(f"/api/V1/sms/{ref}/messages", params=params,
                                                headers={"X-API-Key": key, **extra})
                assert answer.status_code == 200
                assert answer.headers["content-type"].startswith("text/csv")
                assert "content-length" not in answer.headers, "streamed, not built whole"
                rows = list(csv.reader(io.StringIO(answer.text)))
                assert rows[0] == ["destinataire", "statut", "raison", "codeSmsc", "envoyeLe",
                                   "livraison", "livreLe", "reference", "smsc"]
                assert [row[0] for row in rows[1:]] == [*numbers, "pas-un-numero"]
                assert rows[-1][1:3] == ["ECHEC", "NUMERO_INVALIDE"]
                assert {row[7] for row in rows[1:]} == {'lot, "42"'}
            as_json = await stack.client.get(f"/api/V1/sms/{ref}/messages",
                                             headers={"X-API-Key": key})
            assert as_json.headers["content-type"].startswith("application/json")


async def test_deferred_sends_whose_time_comes_while_they_are_accepted_all_leave(
    tmp_path: Path,
) -> None:
    """A departure a moment ahead passes while the sends are being accepted: each one
    still leaves, once."""
    with trio.fail_after(60):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=100)
            departure = _soon(0.2)
            refs: list[str] = []

            async def one(i: int) -> None:
                r = await stack.client.post(
                    "/api/V1/sms/unides",
                    json={**UNIDES_BODY, "destinataire": f"+2410630{i:04d}",
                          "dateEnvoi": departure},
                    headers={"X-API-Key": key},
                )
                assert r.status_code == 202, r.text
                refs.append(r.json()["ref"])

            async with trio.open_nursery() as nursery:
                for i in range(30):
                    nursery.start_soon(one, i)
            for ref in refs:
                assert (await _ended(stack, key, ref))["statut"] == "ENVOYE"
            assert stack.simulator.statistics().submit_accepted == 30
