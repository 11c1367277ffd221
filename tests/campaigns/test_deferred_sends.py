"""A deferred send (dateEnvoi) on trio's mock clock with the real stack: days ahead,
it waits, survives a restart in between, and leaves at its time, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import trio
import trio.testing

from tests.api.conftest import MULDES_BODY
from tests.campaigns.conftest import FIRST_DAY, Wall, local
from tests.campaigns.pacing import paced
from tests.campaigns.support import LONG_RUN_ENV, get_json, instant, no_client_timeout
from tests.harness import eventually, open_stack


async def test_a_deferred_send_survives_a_restart_and_leaves_at_its_time_once(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    departure = local(FIRST_DAY + timedelta(days=2), "09:30")
    with trio.fail_after(4 * 86400):
        async with paced() as pacer:
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                _, key = await stack.new_account(solde=10)
                headers = {"X-API-Key": key}
                r = await stack.client.post(
                    "/api/V1/sms/muldes", headers=headers,
                    json={**MULDES_BODY, "dateEnvoi": departure.isoformat()},
                )
                assert r.status_code == 202, r.text
                ref = r.json()["ref"]
                account = await get_json(stack, "/api/V1/compte", headers)
                assert (account["solde"], account["reserve"]) == (7, 3)
                await pacer.until(stack.gateway.clock.trio_time_of(departure - timedelta(days=1)))
                assert not stack.simulator.submitted
            # down for a day; back two hours before the departure
            wall.start = departure - timedelta(hours=2)
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                shown = await get_json(stack, f"/api/V1/sms/{ref}", headers)
                assert shown["statut"] == "EN_ATTENTE"
                assert instant(shown["dateEnvoi"]) == departure
                await pacer.until(stack.gateway.clock.trio_time_of(departure - timedelta(seconds=1)))
                assert not stack.simulator.submitted, "not a second early"
                final = await eventually(
                    lambda: get_json(stack, f"/api/V1/sms/{ref}", headers),
                    lambda s: s["statut"] != "EN_ATTENTE",
                    within_s=3600,
                )
                assert final["compteurs"]["ENVOYE"] == 3
                page = await get_json(stack, f"/api/V1/sms/{ref}/messages", headers)
                sent_at = [instant(m["envoyeLe"]) for m in page["messages"]]
                assert all(departure <= at < departure + timedelta(minutes=1) for at in sent_at)
                destinations = sorted(p.destination for p in stack.simulator.submitted)
                assert destinations == sorted(n.lstrip("+") for n in MULDES_BODY["numeros"]), (
                    "each recipient once")
