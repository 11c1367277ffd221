"""The registry: actors on demand, idle stop and transparent restart, crash
isolation and rebuild from the store, 10,000 live accounts."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio

from engine.accounts import actor as actor_module
from engine.accounts.commands import GetSnapshot, Submit, TopUp
from engine.actor import ActorStopped, Reply
from engine.model import AccountId, MessageStatus
from tests.accounts.support import assert_books_balance, audit, create_accounts, draft, open_engine
from tests.harness import eventually


async def test_ten_thousand_accounts_live_at_once(tmp_path: Path) -> None:
    """First commands to 10,000 accounts from 100 concurrent callers: every
    account gets its own actor, started from its stored balance."""
    with trio.fail_after(30):
        async with open_engine(tmp_path) as engine:
            ids = await create_accounts(engine.store, 10_000, solde=3)
            snaps: dict[int, object] = {}

            async def caller(mine: list[AccountId]) -> None:
                for account_id in mine:
                    snaps[account_id] = await engine.ask(account_id, GetSnapshot)

            async with trio.open_nursery() as nursery:
                for n in range(100):
                    nursery.start_soon(caller, ids[n::100])
            assert engine.registry.live == 10_000
            assert {s.solde for s in snaps.values()} == {3}  # type: ignore[attr-defined]
            assert sorted(s.account_id for s in snaps.values()) == ids  # type: ignore[attr-defined]


async def _live(engine, account_id: int) -> bool:  # type: ignore[no-untyped-def]
    return any(s.account_id == account_id for s in engine.registry.snapshots())


async def test_idle_actor_stops_and_comes_back_with_its_balance(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_engine(tmp_path, idle_s=0.2) as engine:
            (account_id,) = await create_accounts(engine.store, 1, solde=5)
            assert await engine.ask(account_id, TopUp, 4) == 9
            assert engine.registry.live == 1
            await eventually(lambda: _live(engine, account_id), lambda live: not live)
            snap = await engine.ask(account_id, GetSnapshot)
            assert (snap.solde, engine.registry.live) == (9, 1)


async def test_actor_with_messages_in_flight_is_not_stopped(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_engine(tmp_path, idle_s=0.2) as engine:
            busy, idle = await create_accounts(engine.store, 2, solde=5)
            accepted = await engine.ask(busy, Submit, draft(1), None)
            assert accepted.statut is MessageStatus.EN_ATTENTE
            await engine.ask(idle, GetSnapshot)
            await eventually(lambda: _live(engine, idle), lambda live: not live)
            assert await _live(engine, busy), "its message is not ended yet"


async def test_crashed_actor_is_rebuilt_from_the_store_and_others_are_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A top-up of 13 credits on the victim crashes its actor (an injected bug)."""
    real_decide = actor_module.AccountActor._decide

    def flaky(self, cmd, *args):  # type: ignore[no-untyped-def]
        if isinstance(cmd, TopUp) and cmd.amount == 13:
            raise RuntimeError("injected failure")
        return real_decide(self, cmd, *args)

    monkeypatch.setattr(actor_module.AccountActor, "_decide", flaky)
    with trio.fail_after(20):
        async with open_engine(tmp_path) as engine:
            victim, bystander = await create_accounts(engine.store, 2, solde=10)
            await engine.ask(victim, Submit, draft(2), None)
            await engine.ask(bystander, Submit, draft(3), None)
            before = await engine.ask(bystander, GetSnapshot)

            # Queue, in one go, a good top-up, the poisoned one, another good one:
            # they land in the same batch; only the poisoned one may fail.
            replies: list[Reply[int]] = [Reply(), Reply(), Reply()]
            for reply, amount in zip(replies, (1, 13, 2), strict=True):
                await engine.tell(victim, TopUp(amount, reply))
            assert await replies[0].wait() == 9
            with pytest.raises(ActorStopped):
                await replies[1].wait()
            assert await replies[2].wait() == 11
            # once for the batch, once more when the poisoned command ran alone
            assert engine.registry.restarts == 2

            snap = await engine.ask(victim, GetSnapshot)
            assert (snap.solde, snap.reserve, snap.in_flight) == (11, 2, 2)
            after = await engine.ask(bystander, GetSnapshot)
            assert after == before
            for account_id in (victim, bystander):
                books = await engine.store.read(partial(audit, account_id=account_id))
                assert_books_balance(books)
            accepted = await engine.ask(victim, Submit, draft(1), None)
            assert accepted.statut is MessageStatus.EN_ATTENTE


async def test_failed_store_write_is_not_half_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses one batch: its reservation is neither committed nor kept
    in memory, and the send is answered after the rebuilt actor retries it."""
    from engine.store import accounts as q_accounts

    real_save = q_accounts.save_ledger
    failures = {"left": 1}

    def failing_save(conn, *args, **kwargs):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("disk full")
        return real_save(conn, *args, **kwargs)

    with trio.fail_after(20):
        async with open_engine(tmp_path) as engine:
            (account_id,) = await create_accounts(engine.store, 1, solde=4)
            monkeypatch.setattr(q_accounts, "save_ledger", failing_save)
            accepted = await engine.ask(account_id, Submit, draft(3), None)
            assert accepted.statut is MessageStatus.EN_ATTENTE
            assert engine.registry.restarts == 1
            snap = await engine.ask(account_id, GetSnapshot)
            assert (snap.solde, snap.reserve) == (1, 3)
            books = await engine.store.read(lambda conn: audit(conn, account_id))
            assert_books_balance(books)
            assert books.pending == 3
