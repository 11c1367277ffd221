"""A month-long campaign through the whole stack (HTTP, account actor, scheduler,
dispatcher, a real SMPP session to the simulator) on trio's mock clock."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import trio
import trio.testing

from tests.campaigns.conftest import FIRST_DAY, ZONE, Wall
from tests.campaigns.pacing import paced
from tests.campaigns.support import LONG_RUN_ENV, all_messages, get_json, instant, no_client_timeout
from tests.harness import eventually, open_stack

RECIPIENTS = 3000
DAYS = 30


async def test_thirty_days_of_3000_recipients_all_sent_at_their_slots(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    with trio.fail_after(40 * 86400):  # mock time: leaps never exceed a second while busy
        async with paced() as pacer, open_stack(tmp_path, **LONG_RUN_ENV) as stack:
            no_client_timeout(stack)
            _, key = await stack.new_account(solde=RECIPIENTS)
            headers = {"X-API-Key": key}
            numbers = [f"+2410600{n:04d}" for n in range(RECIPIENTS)]
            body = {
                "emetteur": "ION-Networking",
                "numeros": numbers,
                "corps": "Rappel : votre rendez-vous mensuel",
                "dateDebut": FIRST_DAY.isoformat(),
                "dateFin": (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat(),
                "nbParJour": 100,
                "intervalleMinutes": 60,
            }
            r = await stack.client.post("/api/V1/sms/muldesp", json=body, headers=headers)
            assert r.status_code == 202, r.text
            ref = r.json()["ref"]
            plan = await get_json(stack, f"/api/V1/sms/{ref}/plan", headers)

            slots = plan["creneaux"]
            # 08:00 to 19:00, twelve slots a day: 9, 9, 9, 9, then 8 (100 a day)
            assert len(slots) == 12 * DAYS
            assert sum(s["nombre"] for s in slots) == RECIPIENTS
            per_day = Counter(s["heureLocale"][:10] for s in slots for _ in range(s["nombre"]))
            assert set(per_day.values()) == {100} and len(per_day) == DAYS

            wall_clock = stack.gateway.clock
            await pacer.slots(
                [(wall_clock.trio_time_of(instant(s["heure"])), s["nombre"]) for s in slots],
                lambda: stack.simulator.statistics().submit_accepted,
            )

            # the SMSC has accepted every message; the gateway records the last
            # answers in its next commit
            send = await eventually(
                lambda: get_json(stack, f"/api/V1/sms/{ref}", headers),
                lambda s: s["statut"] != "EN_ATTENTE",
            )
            messages = await all_messages(stack, ref, headers)
            account = await get_json(stack, "/api/V1/compte", headers)
            assert send["statut"] == "ENVOYE"
            assert send["etatCampagne"] == "TERMINEE"
            assert send["compteurs"]["ENVOYE"] == RECIPIENTS
            assert [m["destinataire"] for m in messages] == numbers
            assert all(m["statut"] == "ENVOYE" for m in messages)
            # each recipient left in its planned slot, in list order, within two minutes
            position = 0
            for slot in slots:
                planned = instant(slot["heure"])
                for m in messages[position : position + slot["nombre"]]:
                    late = instant(m["envoyeLe"]) - planned
                    assert timedelta(0) <= late < timedelta(minutes=2), (slot, m)
                position += slot["nombre"]
            sent_per_day = Counter(instant(m["envoyeLe"]).astimezone(ZONE).date() for m in messages)
            assert max(sent_per_day.values()) == 100
            assert (account["solde"], account["reserve"]) == (0, 0)
            assert stack.simulator.statistics().submit_accepted == RECIPIENTS
