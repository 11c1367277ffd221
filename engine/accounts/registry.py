"""The registry: one live `AccountActor` per account, spawned on first use.

It owns the actors' nursery. An actor is started from the store's copy of its
account, stopped when it has been idle for `idle_s` with nothing in flight (its
mailbox is closed, it drains what is queued, then ends), and restarted on the
next command. An actor is a task, a bounded channel and a few fields, about 7 KB
(10,000 live accounts: ~70 MB, bench/bench_accounts.py). First commands to many
accounts at once share their store reads.

Supervision: when an actor crashes, a new one is built from what the store
committed, around the same mailbox (nothing queued is lost) and with the
interrupted batch to handle again (`AccountActor.salvage`). Only that account
waits during the rebuild; no other account is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from engine.accounts.actor import AccountActor, Mailbox, Observer, Outlet
from engine.accounts.commands import AccountSnapshot, Command, GetSnapshot, Settle
from engine.accounts.controls import AccountControls
from engine.actor import ActorStopped, NotHeld, Reply
from engine.clock import WallClock
from engine.model import AccountId, AccountRow, Outcome
from engine.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class UnknownAccount(LookupError):
    """No account has this id."""


class Registry:
    def __init__(
        self,
        store: Store,
        outlet: Outlet,
        clock: WallClock,
        *,
        inbox_size: int = 1024,
        idle_s: float = 300.0,
        observer: Observer | None = None,
        senders_required: bool = False,
        may_host: Callable[[AccountId], bool] | None = None,
    ) -> None:
        """`may_host` (a node of a cluster) says whether an account's actor may run
        here; a command for another account raises `NotHeld`."""
        self._store = store
        self._may_host = may_host
        self._senders_required = senders_required
        self._outlet = outlet
        self._clock = clock
        self._observer = observer
        self._inbox_size = inbox_size
        self._idle_s = idle_s
        self._actors: dict[AccountId, AccountActor] = {}
        self._starting: dict[AccountId, trio.Event] = {}
        self._nursery: trio.Nursery | None = None
        self._serving = trio.Event()
        """Set while `serve` hosts the actors; replaced by a new one while it is down."""
        self._loads: dict[AccountId, list[Reply[tuple[AccountRow, int]]]] = {}
        self._loading = False
        self.restarts = 0

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Host the actors until cancelled. Should this task fail, its actors end with
        it, as at shutdown (what they committed stays; each is rebuilt from the store
        on its account's next command). A command that needs an actor started waits
        for the restart (its supervisor's), which serves the loads asked meanwhile; a
        load cancelled half-way fails its askers with `ActorStopped`."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._serving.set()
                nursery.start_soon(self._reap_idle)
                if self._loads and not self._loading:
                    self._loading = True
                    nursery.start_soon(self._load_waiting)
                task_status.started(self)
                await trio.sleep_forever()
        finally:
            self._nursery = None

    def _live_nursery(self) -> trio.Nursery | None:
        """The nursery the actors run in; None while the registry is down (between
        a failure of `serve` and its restart, or once stopped)."""
        nursery = self._nursery
        if nursery is None or nursery.cancel_scope.cancel_called:
            if self._serving.is_set():
                self._serving = trio.Event()
            return None
        return nursery

    async def _host(self) -> trio.Nursery:
        """The nursery the actors run in, waiting while the registry is down."""
        while (nursery := self._live_nursery()) is None:
            await self._serving.wait()
        return nursery

    @property
    def live(self) -> int:
        return len(self._actors)

    def snapshots(self) -> list[AccountSnapshot]:
        return [a.snapshot() for a in self._actors.values()]

    async def tell(self, account_id: AccountId, command: Command) -> None:
        """Deliver a command to the account's actor, starting it if needed.

        Waits while the mailbox is full. Raises `UnknownAccount`."""
        while True:
            actor = await self._get(account_id)
            try:
                await actor.tell(command)
                return
            except trio.ClosedResourceError:
                # stopping for idleness: let it drain and end, then start anew
                await actor.stopped.wait()

    async def ask(self, account_id: AccountId, command: Command, reply: Reply[T]) -> T:
        await self.tell(account_id, command)
        return await reply.wait()

    async def settle(self, account_id: AccountId, outcomes: tuple[Outcome, ...]) -> None:
        """Hand final outcomes to the account's actor (no answer)."""
        await self.tell(account_id, Settle(outcomes))

    async def wake(self, account_id: AccountId) -> None:
        """Start the account's actor if it is not running (it then hands the
        dispatcher its rate bucket); waits while its mailbox is full."""
        await self.tell(account_id, GetSnapshot(Reply()))

    async def quiesce(self) -> None:
        """Wait until every actor has handled what its mailbox holds."""
        for actor in list(self._actors.values()):
            reply: Reply[AccountSnapshot] = Reply()
            try:
                await actor.tell(GetSnapshot(reply))
            except trio.ClosedResourceError:
                continue
            await reply.wait()

    def may_host(self, account_id: AccountId) -> bool:
        return self._may_host is None or self._may_host(account_id)

    async def close(self, owned: Callable[[AccountId], bool], *, wait: bool) -> int:
        """Stop the actors of the accounts `owned` names (their shard moves to
        another node): each handles what its mailbox holds, then ends; with
        `wait`, until they have. Returns how many were stopped."""
        actors = [a for a in self._actors.values() if owned(a.account_id)]
        for actor in actors:
            actor.close()
        if wait:
            for actor in actors:
                await actor.stopped.wait()
        return len(actors)

    async def _get(self, account_id: AccountId) -> AccountActor:
        while True:
            actor = self._actors.get(account_id)
            if actor is not None:
                return actor
            if not self.may_host(account_id):
                raise NotHeld(account_id)
            starting = self._starting.get(account_id)
            if starting is not None:
                await starting.wait()
                continue
            event = self._starting[account_id] = trio.Event()
            try:
                actor = await self._start(account_id)
            finally:
                del self._starting[account_id]
                event.set()
            return actor

    async def _load(self, account_id: AccountId) -> tuple[AccountRow, int]:
        """The account's row and pending count. Loads asked for at the same time
        share one read (a burst of first commands to many accounts stays cheap)."""
        reply: Reply[tuple[AccountRow, int]] = Reply()
        self._loads.setdefault(account_id, []).append(reply)
        nursery = self._live_nursery()
        if not self._loading and nursery is not None:  # else `serve` starts it on return
            self._loading = True
            nursery.start_soon(self._load_waiting)
        return await reply.wait()

    async def _load_waiting(self) -> None:
        wanted: dict[AccountId, list[Reply[tuple[AccountRow, int]]]] = {}
        try:
            while self._loads:
                wanted, self._loads = self._loads, {}
                ids = list(wanted)
                try:
                    found = await self._store.accounts.for_actors(ids)
                except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                    for replies in wanted.values():
                        for reply in replies:
                            reply.fail(exc)
                    wanted = {}
                    continue
                for account_id, replies in wanted.items():
                    for reply in replies:
                        if account_id in found:
                            reply.set(found[account_id])
                        else:
                            reply.fail(UnknownAccount(account_id))
                wanted = {}
        finally:
            self._loading = False
            for replies in wanted.values():  # cancelled while loading: nobody waits forever
                for reply in replies:
                    reply.fail(ActorStopped("the account registry stopped"))

    def _actor(
        self,
        row: AccountRow,
        pending: int,
        mailbox: Mailbox | None = None,
        retry: list[Command] | None = None,
    ) -> AccountActor:
        return AccountActor(
            row.id,
            row.ledger,
            row.debit_max,
            store=self._store,
            outlet=self._outlet,
            clock=self._clock,
            observer=self._observer,
            inbox_size=self._inbox_size,
            in_flight=pending,
            mailbox=mailbox,
            retry=retry or (),
            controls=AccountControls(row.actif, row.emetteurs, self._senders_required),
        )

    async def _start(self, account_id: AccountId) -> AccountActor:
        row, pending = await self._load(account_id)
        actor = self._actor(row, pending)
        nursery = await self._host()
        # its mailbox exists already: commands queue until the task first runs
        self._actors[account_id] = actor
        nursery.start_soon(self._supervise, actor)
        return actor

    async def _supervise(self, actor: AccountActor) -> None:
        """Run the account's actor; rebuild it from the store each time it crashes."""
        account_id = actor.account_id
        try:
            while True:
                try:
                    await actor.run()
                    return  # mailbox closed and drained
                except Exception:
                    if not self.may_host(account_id):
                        log.info("account %s: its shard moved to another node; actor stopped",
                                 account_id)
                        actor.abandon()
                        return
                    self.restarts += 1
                    log.exception("account actor %s crashed; rebuilt from the store", account_id)
                    retry = actor.salvage()
                    try:
                        row, pending = await self._load(account_id)
                    except BaseException:
                        actor.abandon()
                        raise
                    actor.stopped.set()
                    actor = self._actor(row, pending, actor.mailbox, retry)
                    self._actors[account_id] = actor
        except Exception:
            log.exception("account actor %s could not be rebuilt", account_id)
        finally:
            actor.close()
            if self._actors.get(account_id) is actor:
                del self._actors[account_id]
            actor.stopped.set()

    async def _reap_idle(self) -> None:
        while True:
            await trio.sleep(max(self._idle_s / 4, 0.01))
            horizon = trio.current_time() - self._idle_s
            for actor in list(self._actors.values()):
                snap = actor.snapshot()
                if actor.last_active < horizon and snap.mailbox == 0 and snap.in_flight == 0:
                    actor.close()
