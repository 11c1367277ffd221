"""A long-lived task that fails does not end the gateway: its supervisor restarts
it, the operator snapshot counts the restart, and sends go on being billed once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

from engine.accounts.actor import AccountActor
from engine.accounts.commands import AccountSnapshot
from engine.model import AccountId, Outcome
from tests.dispatch.support import account, muldes, numbers, unides, until_ended
from tests.harness import eventually, open_stack


async def test_a_failing_router_is_restarted_and_every_send_still_ends_billed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            runtime = stack.gateway.runtime
            registry = runtime.registry
            real_settle = registry.settle
            failures: list[tuple[Outcome, ...]] = []

            async def settle_then_fail(account_id: AccountId, outcomes: tuple[Outcome, ...]) -> Any:
                # the outcomes reach the account's actor, then the router fails: its
                # restart hands them over again, and the ledger must not bill twice
                await real_settle(account_id, outcomes)
                if not failures:
                    failures.append(outcomes)
                    raise RuntimeError("router fault injected after a settle")

            monkeypatch.setattr(registry, "settle", settle_then_fail)
            _, key = await stack.new_account(solde=10)

            first = await unides(stack, key, "+24106000001")
            ended = await until_ended(stack, key, first["ref"], within_s=10)
            assert ended["compteurs"]["ENVOYE"] == 1
            assert failures, "the fault was injected"

            actors = await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)
            assert actors.status_code == 200
            tasks = {t["name"]: t for t in actors.json()["taches"]}
            assert tasks["routeur"]["restarts"] == 1
            assert tasks["routeur"]["last_error"] == "RuntimeError: router fault injected after a settle"
            assert all(t["restarts"] == 0 for name, t in tasks.items() if name != "routeur")
            assert {"rappels", "registre", "repartiteur", "campagnes", "liaison-0"} <= set(tasks)

            second = await unides(stack, key, "+24106000002")
            ended = await until_ended(stack, key, second["ref"], within_s=10)
            assert ended["compteurs"]["ENVOYE"] == 1

            actors = await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)
            router = next(t for t in actors.json()["taches"] if t["name"] == "routeur")
            assert (router["restarts"], router["running"]) == (1, True)

            balance = await account(stack, key)
            assert (balance["solde"], balance["reserve"]) == (8, 0), "each SMS debited once"


async def test_a_dispatcher_failing_while_recording_an_attempt_is_restarted_and_loses_no_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path) as stack:
            runtime = stack.gateway.runtime
            messages = runtime.store.messages
            real_mark = messages.mark_attempt
            failed: list[Sequence[int]] = []

            async def fail_once(
                message_ids: Sequence[int], smsc: str = "defaut", accounts: Sequence[int] = ()
            ) -> set[int]:
                if not failed:
                    failed.append(message_ids)
                    raise OSError("disk I/O error injected")
                refused: set[int] = await real_mark(message_ids, smsc, accounts)
                return refused

            monkeypatch.setattr(messages, "mark_attempt", fail_once)
            _, key = await stack.new_account(solde=10)
            send = await muldes(stack, key, numbers("+24106", 5))
            ended = await until_ended(stack, key, send["ref"], within_s=10)
            assert failed, "the fault was injected"
            assert ended["compteurs"]["ENVOYE"] == 5, "the batch in hand was handed out again"
            assert stack.simulator.statistics().submit_accepted == 5, "each sent once"

            actors = (await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)).json()
            tasks = {t["name"]: t for t in actors["taches"]}
            assert tasks["repartiteur"]["restarts"] == 1
            assert tasks["repartiteur"]["last_error"] == "OSError: disk I/O error injected"
            assert actors["repartiteur"]["backlog"] == 0
            balance = await account(stack, key)
            assert (balance["solde"], balance["reserve"]) == (5, 0)


async def test_a_failing_account_registry_is_restarted_and_its_accounts_rebuilt_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(30):
        async with open_stack(tmp_path, SMSGW_ENGINE_ACCOUNT_IDLE_S="0.4") as stack:
            registry = stack.gateway.runtime.registry
            _, key = await stack.new_account(solde=10)
            first = await unides(stack, key, "+24106000001")
            await until_ended(stack, key, first["ref"], within_s=10)

            real_snapshot = AccountActor.snapshot
            failures: list[int] = []

            def fail_once(actor: AccountActor) -> AccountSnapshot:
                # the registry's idle sweep reads every actor's snapshot: the first
                # read fails, and with it the task hosting every account's actor
                if not failures:
                    failures.append(actor.account_id)
                    raise RuntimeError("snapshot fault injected")
                return real_snapshot(actor)

            monkeypatch.setattr(AccountActor, "snapshot", fail_once)
            supervisor = stack.gateway.runtime.supervisor

            async def registry_restarts() -> int:
                return supervisor.restarts("registre")  # type: ignore[no-any-return]

            await eventually(registry_restarts, lambda n: n == 1)
            assert failures, "the fault was injected"
            assert registry.live == 0, "its actors ended with it"
            assert await _restarts(stack, "registre") == 1

            second = await unides(stack, key, "+24106000002")
            ended = await until_ended(stack, key, second["ref"], within_s=10)
            assert ended["compteurs"]["ENVOYE"] == 1
            balance = await account(stack, key)
            assert (balance["solde"], balance["reserve"]) == (8, 0), "rebuilt from the store"


async def _restarts(stack: Any, name: str) -> int:
    actors = (await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)).json()
    return next(t["restarts"] for t in actors["taches"] if t["name"] == name)  # type: ignore[no-any-return]
