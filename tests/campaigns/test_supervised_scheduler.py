"""A campaign scheduler that fails is restarted by its supervisor, rebuilds the live
campaigns from the store and sends every slot once, on trio's mock clock with the
real stack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from engine.model import CampaignRow, SendRef
from tests.campaigns.conftest import FIRST_DAY, Wall, local
from tests.campaigns.pacing import paced
from tests.campaigns.support import LONG_RUN_ENV, all_messages, get_json, no_client_timeout
from tests.harness import open_stack

BODY = {"emetteur": "ION-Networking", "corps": "Campagne d'information SMS Gateway"}


async def test_a_scheduler_failing_on_a_new_campaign_is_restarted_and_sends_each_slot_once(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipients = [f"+2410700{i:04d}" for i in range(6)]
    with trio.fail_after(3 * 86400):
        async with paced() as pacer, open_stack(tmp_path, **LONG_RUN_ENV) as stack:
            no_client_timeout(stack)
            campaigns = stack.gateway.runtime.store.campaigns
            real_get: Callable[[SendRef], Awaitable[CampaignRow | None]] = campaigns.get
            failed: list[SendRef] = []

            async def fail_once(ref: SendRef) -> CampaignRow | None:
                if not failed:
                    failed.append(ref)
                    raise OSError("database is locked (injected)")
                return await real_get(ref)

            monkeypatch.setattr(campaigns, "get", fail_once)
            _, key = await stack.new_account(solde=100)
            headers = {"X-API-Key": key}
            r = await stack.client.post("/api/V1/sms/muldesp", headers=headers, json={
                **BODY, "numeros": recipients, "dateDebut": FIRST_DAY.isoformat(),
                "dateFin": FIRST_DAY.isoformat(), "nbParJour": 6, "intervalleMinutes": 60,
            })
            assert r.status_code == 202, r.text
            ref = r.json()["ref"]

            def accepted() -> int:
                return stack.simulator.statistics().submit_accepted  # type: ignore[no-any-return]

            slots = [
                (stack.gateway.clock.trio_time_of(local(FIRST_DAY, f"{h:02d}:00")), 1)
                for h in range(8, 14)
            ]
            await pacer.slots(slots, accepted)
            plan: dict[str, Any] = await get_json(stack, f"/api/V1/sms/{ref}/plan", headers)
            messages = await all_messages(stack, ref, headers)
            actors = await get_json(stack, "/api/V1/admin/acteurs", stack.admin)
            submitted = [p.destination for p in stack.simulator.submitted]
    assert failed, "the fault was injected"
    tasks = {t["name"]: t for t in actors["taches"]}
    assert tasks["campagnes"]["restarts"] == 1
    assert tasks["campagnes"]["last_error"] == "OSError: database is locked (injected)"
    assert [(c["heureLocale"][11:16], c["lances"]) for c in plan["creneaux"]] == [
        (f"{h:02d}:00", 1) for h in range(8, 14)
    ]
    assert plan["etatCampagne"] == "TERMINEE"
    assert submitted == [n.lstrip("+") for n in recipients], "every recipient once, in order"
    assert [m["statut"] for m in messages] == ["ENVOYE"] * 6
