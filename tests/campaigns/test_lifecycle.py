"""A campaign's life through the API on the mock clock: suspended on an empty
prepaid balance and resumed after a top-up, cancelled, carried over a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import trio
import trio.testing

from tests.campaigns.conftest import FIRST_DAY, Wall, local
from tests.campaigns.pacing import Pacer, paced
from tests.campaigns.support import LONG_RUN_ENV, all_messages, get_json, no_client_timeout
from tests.harness import Stack, eventually, open_stack

BODY = {"emetteur": "ION-Networking", "corps": "Campagne d'information SMS Gateway"}


def numbers(n: int) -> list[str]:
    return [f"+2410700{i:04d}" for i in range(n)]


async def start(stack: Stack, solde: int, **calendar: Any) -> tuple[int, dict[str, str], str]:
    no_client_timeout(stack)
    account_id, key = await stack.new_account(solde=solde)
    headers = {"X-API-Key": key}
    r = await stack.client.post(
        "/api/V1/sms/muldesp", json={**BODY, **calendar}, headers=headers
    )
    assert r.status_code == 202, r.text
    return account_id, headers, r.json()["ref"]


def accepted(stack: Stack) -> int:
    return stack.simulator.statistics().submit_accepted  # type: ignore[no-any-return]


async def wave(pacer: Pacer, stack: Stack, at: str, count: int) -> None:
    """Run the clock to today's `at` and until the SMSC accepted `count` more."""
    await pacer.slots([(stack.gateway.clock.trio_time_of(local(FIRST_DAY, at)), count)],
                      lambda: accepted(stack))


async def settled(stack: Stack, headers: dict[str, str]) -> dict[str, Any]:
    """The account once nothing is reserved (every released message ended)."""
    while True:
        account = await get_json(stack, "/api/V1/compte", headers)
        if account["reserve"] == 0:
            return account  # type: ignore[no-any-return]
        await trio.sleep(1)


async def test_empty_balance_suspends_and_a_top_up_resumes_at_the_next_slot(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    with trio.fail_after(3 * 86400):
        async with paced() as pacer, open_stack(tmp_path, **LONG_RUN_ENV) as stack:
            account_id, headers, ref = await start(
                stack, 5, numeros=numbers(20), dateDebut=FIRST_DAY.isoformat(),
                dateFin=FIRST_DAY.isoformat(), nbParJour=20, intervalleMinutes=120,
            )
            send_path = f"/api/V1/sms/{ref}"
            # slots 08, 10, 12, 14, 16, 18 with 4, 4, 3, 3, 3, 3 planned
            await wave(pacer, stack, "08:00", 4)
            view = await get_json(stack, send_path, headers)
            assert view["etatCampagne"] == "EN_COURS"
            assert view["progression"]["lances"] == 4

            await wave(pacer, stack, "10:00", 1)  # 4 asked, 1 credit left: 1 goes
            view = await get_json(stack, send_path, headers)
            assert view["etatCampagne"] == "SUSPENDUE"
            assert view["progression"] == {"total": 20, "lances": 5, "restants": 15}
            account = await settled(stack, headers)
            assert (account["solde"], account["reserve"]) == (0, 0)

            await pacer.until(stack.gateway.clock.trio_time_of(local(FIRST_DAY, "12:05")))

            def noon_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
                return [c for c in plan["creneaux"] if c["heureLocale"].endswith("T12:00+01:00")]

            # the noon slot's record is written when the slot passes; the clock may
            # leap past it while that commit is on its way
            plan = await eventually(
                lambda: get_json(stack, f"{send_path}/plan", headers),
                lambda p: noon_of(p)[0]["etat"] != "PREVU",
            )
            assert accepted(stack) == 5, "nothing goes while the balance is empty"
            noon = noon_of(plan)
            assert noon == [{**noon[0], "etat": "EFFECTUE", "lances": 0}]
            credit = await stack.client.post(
                f"/api/V1/admin/comptes/{account_id}/credit", json={"montant": 100},
                headers=stack.admin,
            )
            assert credit.status_code == 200, credit.text
            view = await get_json(stack, send_path, headers)
            assert view["etatCampagne"] == "SUSPENDUE", "it resumes at the next slot"

            await wave(pacer, stack, "14:00", 5)  # ceil(15 left today / 3 slots)
            assert (await get_json(stack, send_path, headers))["etatCampagne"] == "EN_COURS"
            await wave(pacer, stack, "16:00", 5)
            await wave(pacer, stack, "18:00", 5)
            view = await get_json(stack, send_path, headers)
            assert view["etatCampagne"] == "TERMINEE"
            messages = await all_messages(stack, ref, headers)
            assert [m["statut"] for m in messages] == ["ENVOYE"] * 20
            account = await settled(stack, headers)
            assert (account["solde"], account["reserve"]) == (100 + 5 - 20, 0)


async def test_cancel_releases_everything_and_stops_every_later_send(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    with trio.fail_after(10 * 86400):
        async with paced() as pacer, open_stack(tmp_path, **LONG_RUN_ENV) as stack:
            _, headers, ref = await start(
                stack, 50, numeros=numbers(10), dateDebut=FIRST_DAY.isoformat(),
                dateFin=(FIRST_DAY + timedelta(days=4)).isoformat(), nbParJour=2,
                intervalleMinutes=600,
            )
            await wave(pacer, stack, "08:00", 1)
            r = await stack.client.delete(f"/api/V1/sms/{ref}", headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["etatCampagne"] == "ANNULEE"
            assert r.json()["annules"] == 9

            after_end = local(FIRST_DAY + timedelta(days=5), "12:00")
            await pacer.until(stack.gateway.clock.trio_time_of(after_end))
            assert accepted(stack) == 1, "nothing leaves after the cancel"
            messages = await all_messages(stack, ref, headers)
            assert messages[0]["statut"] == "ENVOYE"
            assert [(m["statut"], m["raison"]) for m in messages[1:]] == [("ECHEC", "ANNULE")] * 9
            view = await get_json(stack, f"/api/V1/sms/{ref}", headers)
            assert view["etatCampagne"] == "ANNULEE"
            assert view["compteurs"]["EN_ATTENTE"] == 0
            account = await settled(stack, headers)
            assert (account["solde"], account["reserve"]) == (49, 0)


async def test_restart_sends_no_slot_twice_and_sends_the_missed_slot_on_return(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    recipients = numbers(12)
    with trio.fail_after(3 * 86400):
        async with paced() as pacer:
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                _, headers, ref = await start(
                    stack, 100, numeros=recipients, dateDebut=FIRST_DAY.isoformat(),
                    dateFin=FIRST_DAY.isoformat(), nbParJour=12, intervalleMinutes=60,
                )
                for hour in ("08:00", "09:00", "10:00"):  # one recipient a slot
                    await wave(pacer, stack, hour, 1)
                before = [p.destination for p in stack.simulator.submitted]
            # down from about 10:00 to 12:30: the 11:00 and 12:00 slots are missed
            wall.start = local(FIRST_DAY, "12:30")
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                now = trio.current_time()
                # on return: the latest missed slot (12:00), ceil(9 left / 8 slots) = 2
                await pacer.slots([(now, 2)], lambda: accepted(stack))
                plan = await get_json(stack, f"/api/V1/sms/{ref}/plan", headers)
                upcoming = [
                    (stack.gateway.clock.trio_time_of(local(FIRST_DAY, c["heureLocale"][11:16])),
                     c["nombre"])
                    for c in plan["creneaux"] if c["etat"] == "PREVU"
                ]
                assert [n for _, n in upcoming] == [1] * 7  # 13:00 to 19:00
                await pacer.slots(upcoming, lambda: accepted(stack))
                after = [p.destination for p in stack.simulator.submitted]
                plan = await get_json(stack, f"/api/V1/sms/{ref}/plan", headers)
                messages = await all_messages(stack, ref, headers)
    done = [(c["heureLocale"][11:16], c["lances"]) for c in plan["creneaux"]]
    assert done == [("08:00", 1), ("09:00", 1), ("10:00", 1), ("12:00", 2)] + [
        (f"{h}:00", 1) for h in range(13, 20)
    ]
    assert plan["etatCampagne"] == "TERMINEE"
    expected = [n.lstrip("+") for n in recipients]
    # every recipient once, slot after slot in list order; the two of the 12:00 slot
    # leave together over two binds, so the SMSC may see them in either order
    assert before == expected[:3]
    assert sorted(after[:2]) == expected[3:5]
    assert after[2:] == expected[5:]
    assert [m["statut"] for m in messages] == ["ENVOYE"] * 12


async def test_cancel_takes_back_released_recipients_still_queued(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    # a small pool: while the SMSC is stalled, at most 2 binds x (a window of 5 and
    # one taken in hand) and 8 in the channel leave the dispatcher; the rest of the
    # wave waits in its queue
    env = {**LONG_RUN_ENV, "SMSGW_SMSC_WINDOW": "5", "SMSGW_ENGINE_DISPATCH_QUEUE": "8"}
    with trio.fail_after(3 * 86400):
        async with paced() as pacer, open_stack(tmp_path, **env) as stack:
            _, headers, ref = await start(
                stack, 500, numeros=numbers(200), dateDebut=FIRST_DAY.isoformat(),
                dateFin=FIRST_DAY.isoformat(), nbParJour=200, intervalleMinutes=360,
            )
            stack.simulator.stall(True)  # slots 08:00 and 14:00, 100 recipients each
            await pacer.until(stack.gateway.clock.trio_time_of(local(FIRST_DAY, "08:00")))
            # mock time runs in half-second steps until the wave has left and the channel is full
            while stack.gateway.campaigns.statistics().released < 100:  # noqa: ASYNC110
                await trio.sleep(0.5)
            while stack.gateway.dispatcher.statistics().channel_used < 8:  # noqa: ASYNC110
                await trio.sleep(0.5)
            queued = stack.gateway.dispatcher.backlog
            assert queued >= 100 - 2 * (5 + 1) - 8
            r = await stack.client.delete(f"/api/V1/sms/{ref}", headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["annules"] == queued + 100
            assert stack.gateway.dispatcher.backlog == 0
            stack.simulator.resume()
            account = await settled(stack, headers)
            messages = await all_messages(stack, ref, headers)
            sent = [m for m in messages if m["statut"] == "ENVOYE"]
            cancelled = [m for m in messages if m["raison"] == "ANNULE"]
            assert len(sent) + len(cancelled) == 200
            assert len(cancelled) == queued + 100
            assert len(sent) == accepted(stack) <= 2 * (5 + 1) + 8
            assert (account["solde"], account["reserve"]) == (500 - len(sent), 0)
