"""The running engine: every actor and task of one gateway process, wired and served.

`Runtime.serve` starts, in one nursery and in order: the callback notifier, the
idempotency expiry, the account registry, the result router, the dispatcher and
the SMPP sender pool, then re-queues what the store says is still waiting
(recovery), then the campaign scheduler. Each of these long-lived tasks runs
under the runtime's `Supervisor` (`engine.supervise`): one that raises is logged,
counted and started again with backoff, and never ends the process. `drain` is the first half of a clean
stop. `ask` is the one way the facade's parts put a command to an account actor;
it turns the actors' refusals into domain errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import trio

from config.settings import Settings
from engine.accounts.registry import Registry, UnknownAccount
from engine.accounts.state import LedgerError
from engine.actor import ActorStopped, Reply
from engine.callbacks import CallbackNotifier
from engine.campaigns.scheduler import CampaignScheduler
from engine.clock import WallClock
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.recovery import requeue
from engine.dispatch.results import Event, ResultRouter
from engine.dispatch.sender import SenderSettings, SmppSender
from engine.errors import Conflict, NotFound, Unavailable
from engine.model import AccountId, BindState
from engine.store import Store
from engine.supervise import Supervisor
from engine.text import ReferenceCounter

log = logging.getLogger(__name__)

T = TypeVar("T")

_EVENT_BATCHES = 64
"""Batches of outcomes and receipts (one per SMPP read) waiting for the router;
when full, the senders' readers wait."""


class Runtime:
    """Owns the engine's actors and tasks for one process. Built before `serve`;
    its parts exist from construction, the senders from `serve` on."""

    def __init__(self, settings: Settings, store: Store, smsc_host: str, smsc_port: int) -> None:
        self.settings = settings
        self.store = store
        self._smsc = (smsc_host, smsc_port)
        self.clock = WallClock()
        self._events_send, events_receive = trio.open_memory_channel[list[Event]](
            _EVENT_BATCHES
        )
        self.dispatcher = Dispatcher(
            store, binds=settings.smsc.binds, channel_size=settings.engine.dispatch_queue
        )
        self.callbacks = CallbackNotifier(store.reads, self.clock)
        self.registry = Registry(
            store,
            self.dispatcher,
            self.clock,
            inbox_size=settings.engine.inbox_size,
            idle_s=settings.engine.account_idle_s,
            observer=self.callbacks,
            senders_required=settings.gateway.senders_required,
        )
        self.router = ResultRouter(
            self.registry, store, events_receive, on_receipts=self.callbacks.receipts
        )
        self.senders: list[SmppSender] = []
        self.supervisor = Supervisor()
        """Restarts every long-lived task that raises; its counts are in the snapshot."""
        self._refs = ReferenceCounter()
        self.started_at = self.clock.now()
        self.stopping = trio.Event()
        """Set when shutdown begins: long-lived streams end."""
        self.campaigns = CampaignScheduler(store, self.registry, self.dispatcher, self.clock)

    def _sender_settings(self) -> SenderSettings:
        s = self.settings.smsc
        return SenderSettings(
            host=self._smsc[0],
            port=self._smsc[1],
            system_id=s.system_id,
            password=s.password,
            window=s.window,
            response_timeout_s=s.response_timeout_s,
            enquire_link_s=s.enquire_link_s,
            max_retries=s.max_retries,
            reconnect_min_s=s.reconnect_min_s,
            reconnect_max_s=s.reconnect_max_s,
            registered_delivery=s.registered_delivery,
            probe_submits=s.probe_submits,
        )

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start every part in order, report ready, run until cancelled."""
        sender_settings = self._sender_settings()
        supervise = self.supervisor
        async with trio.open_nursery() as nursery:
            await supervise.start(nursery, "rappels", self.callbacks.serve)
            supervise.start_soon(nursery, "idempotence", self._expire_idempotency)
            await supervise.start(nursery, "registre", self.registry.serve)
            await supervise.start(nursery, "routeur", self.router.serve)
            await supervise.start(nursery, "repartiteur", self.dispatcher.serve)
            for index in range(self.settings.smsc.binds):
                sender = SmppSender(
                    index,
                    sender_settings,
                    self.dispatcher.link(index),
                    self._events_send.clone(),
                    self.clock,
                    self._refs,
                )
                self.senders.append(sender)
                await supervise.start(nursery, f"liaison-{index}", sender.serve)
            await self._recover()
            await supervise.start(nursery, "campagnes", self.campaigns.serve)
            task_status.started()
            await trio.sleep_forever()

    async def _recover(self) -> None:
        """Queue again every message the store holds as waiting (after a restart)."""
        rows = await self.store.messages.waiting()
        queued, retried = await requeue(
            rows, store=self.store, accounts=self.registry, outlet=self.dispatcher
        )
        if queued:
            log.info("recovered %d waiting messages (%d possibly sent before)", queued, retried)

    async def drain(self, grace_s: float) -> None:
        """Stop handing out messages and let what is in flight end, within `grace_s`.

        Messages still queued stay EN_ATTENTE in the store and are sent after the
        next start; nothing accepted is lost.
        """
        self.stopping.set()
        self.dispatcher.pause()
        with trio.move_on_after(grace_s):
            while (  # noqa: ASYNC110 - shutdown watches counters that several owners keep
                self.dispatcher.statistics().channel_used
                or any(s.busy for s in self.senders if s.statistics().state is BindState.BOUND)
                or self._events_send.statistics().current_buffer_used
                or any(snap.mailbox for snap in self.registry.snapshots())
            ):
                await trio.sleep(0.02)
        await self.registry.quiesce()

    async def ask(self, account_id: AccountId, make: Callable[..., Any], *args: Any) -> Any:
        """Put `make(*args, reply)` to the account's actor and return its answer.

        An unknown account is `NotFound` (COMPTE_INCONNU), a ledger refusal a
        `Conflict` with the ledger's code, a stopped actor `Unavailable`.
        """
        reply: Reply[Any] = Reply()
        try:
            return await self.registry.ask(account_id, make(*args, reply), reply)
        except UnknownAccount:
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU") from None
        except LedgerError as exc:
            raise Conflict(exc.message, code=exc.code) from None
        except ActorStopped:
            raise Unavailable(
                "Ce compte est momentanément indisponible : réessayez.",
                code="COMPTE_INDISPONIBLE",
            ) from None

    async def _expire_idempotency(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Forget Idempotency-Key answers older than `gateway.idempotency_ttl_s`.

        Wakes when the oldest record falls due (at most a second late), so a key is
        honoured for its whole period and no longer, and an idle gateway does no work.
        """
        ttl_s = self.settings.gateway.idempotency_ttl_s
        task_status.started()
        while True:
            now = self.clock.now().timestamp()
            removed = await self.store.idempotency.expire(now - ttl_s)
            first = await self.store.idempotency.oldest()
            if removed:
                log.info("forgot %d idempotency records older than %d s", removed, ttl_s)
            next_at = first + ttl_s if first is not None else now + ttl_s
            await trio.sleep(max(next_at - now, 1.0))
