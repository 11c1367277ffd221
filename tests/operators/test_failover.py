"""One operator's SMSC goes away: with failover its recipients leave through the
other connection; without, they wait EN_ATTENTE and leave once it is back. None
fails for that alone."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.harness import eventually
from tests.operators.support import messages, muldes, numbers, open_operators, until_settled


async def test_with_failover_a_dead_operators_recipients_leave_through_the_other(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path, failover=True) as ops:
            stack = ops.stack
            ops.moov.kill()
            seen = await eventually(ops.connections, lambda cs: cs["moov"]["hors_ligne"])
            assert seen["moov"]["bascule_vers"] == "airtel"
            _, key = await stack.new_account(solde=100)
            moov_numbers = numbers("24106", 10)
            ref = await muldes(stack, key, moov_numbers + ["+24107000001"])
            ended = await until_settled(stack, key, ref)

            assert {m["statut"] for m in ended} == {"ENVOYE"}
            assert {m["smsc"] for m in ended} == {"airtel"}
            assert sorted(ops.airtel.destinations()) == sorted(moov_numbers + ["+24107000001"])
            assert (await ops.connections())["moov"]["bascules"] >= 10


async def test_with_failover_what_waits_for_a_connection_that_drops_moves_over(
    tmp_path: Path,
) -> None:
    """Messages already queued for a connection when it goes down move to another."""
    with trio.fail_after(60):
        async with open_operators(tmp_path, failover=True) as ops:
            stack = ops.stack
            ops.moov.sim.stall(True)  # moov takes submits and never answers
            _, key = await stack.new_account(solde=2000, debitMax=5000)
            moov_numbers = numbers("24106", 1000)
            ref = await muldes(stack, key, moov_numbers)
            await eventually(ops.connections, lambda cs: cs["moov"]["en_attente"] > 0)
            ops.moov.kill()
            ended = await until_settled(stack, key, ref, within_s=30)

            assert {m["statut"] for m in ended} == {"ENVOYE"}
            assert {m["smsc"] for m in ended} == {"airtel"}
            assert set(ops.airtel.destinations()) == set(moov_numbers)


async def test_without_failover_they_wait_and_leave_once_it_is_back(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path, failover=False) as ops:
            stack = ops.stack
            ops.moov.kill()
            await eventually(ops.connections, lambda cs: cs["moov"]["hors_ligne"])
            _, key = await stack.new_account(solde=100)
            moov_numbers = numbers("24106", 10)
            ref = await muldes(stack, key, moov_numbers + ["+24107000001"])
            airtel_done = await eventually(
                lambda: messages(stack, key, ref),
                lambda ms: any(m["statut"] == "ENVOYE" for m in ms),
            )
            # moov refuses connections again and again: its recipients still wait
            before = (await ops.connections())["moov"]["erreurs"]
            await eventually(ops.connections, lambda cs: cs["moov"]["erreurs"] >= before + 3)
            waiting = await messages(stack, key, ref)
            assert {m["destinataire"] for m in waiting if m["statut"] == "EN_ATTENTE"} == set(
                moov_numbers
            )
            assert [m["smsc"] for m in airtel_done if m["statut"] == "ENVOYE"] == ["airtel"]

            await ops.moov.start()  # the same port: moov is back
            ended = await until_settled(stack, key, ref)
            assert {m["statut"] for m in ended} == {"ENVOYE"}
            assert {m["destinataire"]: m["smsc"] for m in ended} == {
                **dict.fromkeys(moov_numbers, "moov"), "+24107000001": "airtel",
            }
            assert sorted(ops.moov.destinations()) == sorted(moov_numbers)
