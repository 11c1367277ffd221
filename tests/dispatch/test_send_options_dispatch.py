"""What the send options do at the SMSC side: a validity that passes while the
SMSC is stalled ends the recipients EXPIRE, uncharged; HAUTE recipients of an
account reach the SMSC before its waiting NORMALE ones, and another account keeps
its share."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from tests.dispatch.support import BODY, numbers, until_ended
from tests.harness import Stack, eventually, open_stack

SMALL = {"SMSGW_SMSC_WINDOW": "20", "SMSGW_SMSC_BINDS": "2", "SMSGW_ENGINE_DISPATCH_QUEUE": "64",
         "SMSGW_SMSC_PROBE_SUBMITS": "0", "SMSGW_SMSC_RESPONSE_TIMEOUT_S": "1"}


async def _send(stack: Stack, key: str, route: str, body: dict[str, Any]) -> str:
    r = await stack.client.post(f"/api/V1/sms/{route}", json={"emetteur": "BANQUE", "corps": BODY,
                                **body}, headers={"X-API-Key": key})
    assert r.status_code == 202, r.text
    return str(r.json()["ref"])


async def _account(stack: Stack, key: str) -> Any:
    r = await stack.client.get("/api/V1/compte", headers={"X-API-Key": key})
    return r.json()


async def test_a_validity_passed_against_a_stalled_smsc_ends_expire_uncharged(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path, **SMALL) as stack:
            _, key = await stack.new_account(solde=100, debitMax=100_000)
            stack.simulator.stall()
            ref = await _send(stack, key, "muldes", {"numeros": numbers("+24106", 60),
                                                     "validite": 1})
            assert (await _account(stack, key))["reserve"] == 60
            stack.gateway.clock.shift(timedelta(minutes=1, seconds=1))  # the minute passes
            final = await until_ended(stack, key, ref, within_s=30)
            assert final["compteurs"]["ECHEC"] == 60 and final["statut"] == "ECHEC"
            page = await stack.client.get(f"/api/V1/sms/{ref}/messages",
                                          headers={"X-API-Key": key})
            assert {(m["statut"], m["raison"]) for m in page.json()["messages"]} == {
                ("ECHEC", "EXPIRE")}
            books = await _account(stack, key)
            assert (books["solde"], books["reserve"]) == (100, 0), "nothing charged"
            stack.simulator.resume()
            assert stack.simulator.statistics().submit_accepted == 0


async def test_haute_goes_ahead_of_its_account_normale_without_starving_another_account(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_stack(tmp_path, **SMALL) as stack:
            _, key_a = await stack.new_account(solde=1000, debitMax=100_000)
            _, key_b = await stack.new_account(solde=1000, debitMax=100_000)
            stack.simulator.stall()
            bulk = numbers("+24106", 400)
            urgent = numbers("+24107", 10)
            other = numbers("+24105", 40)
            refs = [
                await _send(stack, key_a, "muldes", {"numeros": bulk}),
                await _send(stack, key_a, "muldes", {"numeros": urgent, "priorite": "HAUTE"}),
                await _send(stack, key_b, "muldes", {"numeros": other}),
            ]
            stack.simulator.resume()
            for ref, key in zip(refs, (key_a, key_a, key_b), strict=True):
                await until_ended(stack, key, ref, within_s=40)
            order = [f"+{m.destination}" for m in stack.simulator.submitted]
            at = {number: i for i, number in enumerate(order)}
            # before the stall, at most one window and one bind queue of bulk were handed out
            ahead = 20 + 64
            assert max(at[n] for n in urgent) < ahead + len(urgent) + len(other), (
                "HAUTE reaches the SMSC before the account's waiting NORMALE recipients")
            assert max(at[n] for n in other) < at[bulk[-1]], "the other account keeps its share"


async def test_validity_reaches_the_smsc(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            _, key = await stack.new_account(solde=10)
            ref = await _send(stack, key, "unides", {"destinataire": "+24106123456",
                                                     "validite": 90})
            await until_ended(stack, key, ref, within_s=20)

            async def seen() -> int:
                return len(stack.simulator.submitted)

            await eventually(seen, lambda n: n == 1)
            (submitted,) = stack.simulator.submitted
            sent = await stack.client.get(f"/api/V1/sms/{ref}", headers={"X-API-Key": key})
            accepted_at = datetime.fromisoformat(sent.json()["creeLe"])
            expected = (accepted_at + timedelta(minutes=90)).strftime("%y%m%d%H%M%S")
            assert submitted.validity_period == expected + "000+", "absolute, in UTC"
            plain = await _send(stack, key, "unides", {"destinataire": "+24106123457"})
            await until_ended(stack, key, plain, within_s=20)
            await eventually(seen, lambda n: n == 2)
            assert stack.simulator.submitted[1].validity_period == ""
