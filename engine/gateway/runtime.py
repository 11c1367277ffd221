"""The running engine: every actor and task of one gateway process, wired and served.

`Runtime.serve` starts, in one nursery and in order: the callback notifier, the
idempotency expiry, the account registry, the result router, each SMSC
connection's dispatcher and its SMPP senders (`engine.dispatch.routes`: the
routing by prefix and the failover; `engine.inbound`: what an inbound message
does), then re-queues what the store says is still waiting
(recovery), then the campaign scheduler. Each of these long-lived tasks runs
under the runtime's `Supervisor` (`engine.supervise`): one that raises is logged,
counted and started again with backoff, and never ends the process. `drain` is the first half of a clean
stop. `ask` is the one way the facade's parts put a command to an account actor;
it turns the actors' refusals into domain errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import trio

from config.settings import ConnectionSettings, Settings
from engine.accounts.registry import Registry, UnknownAccount
from engine.accounts.state import LedgerError
from engine.actor import ActorStopped, NotHeld, Reply
from engine.callbacks import CallbackNotifier
from engine.campaigns.scheduler import CampaignScheduler
from engine.clock import WallClock
from engine.cluster import Solo, default_node_name
from engine.cluster.node import Cluster
from engine.dispatch.deferred import DeferredSends
from engine.dispatch.recovery import requeue
from engine.dispatch.results import Ended, Event, ResultRouter
from engine.dispatch.routes import Route, Routes
from engine.dispatch.sender import SenderSettings, SmppSender
from engine.errors import Conflict, NotFound, Unavailable
from engine.inbound import InboundDesk
from engine.model import AccountId, BindState, MessageStatus, Outcome, Reason, SendRef, iso
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

    def __init__(
        self,
        settings: Settings,
        store: Store,
        smsc_host: str = "",
        smsc_port: int = 0,
        *,
        addresses: Mapping[str, tuple[str, int]] | None = None,
    ) -> None:
        """`addresses` gives a connection's SMSC (host, port) by name (an embedded
        simulator's); a connection not there uses its own `host` and `port`, else
        `smsc_host` and `smsc_port`."""
        self.settings = settings
        self.store = store
        self._smsc = (smsc_host, smsc_port)
        self._addresses = dict(addresses or {})
        self.clock = WallClock()
        self._events_send, events_receive = trio.open_memory_channel[list[Event]](
            _EVENT_BATCHES
        )
        self.connections = settings.connections()
        self.dispatcher = Routes(
            store,
            [Route(c.name, c.prefixes, c.binds, c.max_rate) for c in self.connections],
            default=settings.default_connection(),
            failover=settings.routing.failover,
            channel_size=settings.engine.dispatch_queue,
        )
        """Every connection's dispatcher behind the routing (the accounts' outlet)."""
        self.inbound = InboundDesk(store)
        cb = settings.callbacks
        self.callbacks = CallbackNotifier(
            store.outbox,
            self.clock,
            max_age_s=cb.max_age_s,
            allow_private=cb.allow_private,
            concurrency=cb.concurrency,
            timeout_s=cb.timeout_s,
        )
        self.inbound.observers.append(self.callbacks.inbound)
        self.cluster = self._node(settings, store)
        """Which node holds which account: alone on its store, this one holds all."""
        clustered = isinstance(self.cluster, Cluster)
        may_host = self.cluster.may_host if clustered else None
        self.registry = Registry(
            store,
            self.dispatcher,
            self.clock,
            inbox_size=settings.engine.inbox_size,
            idle_s=settings.engine.account_idle_s,
            observer=self.callbacks,
            senders_required=settings.gateway.senders_required,
            may_host=may_host,
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
        self.cluster.live_actors = lambda: self.registry.live
        if isinstance(self.cluster, Cluster):
            self.cluster.attach(self)
        self.campaigns = CampaignScheduler(
            store, self.registry, self.dispatcher, self.clock, owned=may_host
        )
        self.deferred = DeferredSends(store, self.registry, self.dispatcher, self.clock)

    def _node(self, settings: Settings, store: Store) -> Solo | Cluster:
        """A node of a cluster when the store is PostgreSQL and `cluster.secret` is
        set; else a gateway alone on its store."""
        c = settings.cluster
        name = c.node or default_node_name(settings.http.port)
        params = getattr(store.backend, "params", None)
        if c.secret and params is not None:
            return Cluster(
                store, params, self.clock, node=name, url=c.url, secret=c.secret,
                lease_s=c.lease_s, shards=c.shards,
            )
        url = c.url or f"http://{settings.http.host}:{settings.http.port}"
        return Solo(name, url, self.clock, shards=c.shards, lease_s=c.lease_s)

    # -- a node of a cluster: the accounts it holds change (engine.cluster.node.Host) --

    async def adopt(self, owned: Callable[[AccountId], bool]) -> None:
        """These accounts are now this node's: queue their waiting messages again
        (those attempted before flagged doublonPossible), hold their deferred sends
        and take up their campaigns."""
        queued, retried = await self._requeue(owned)
        campaigns = await self.campaigns.adopt(owned)
        if queued or campaigns:
            log.info("adopted accounts: %d waiting messages (%d possibly sent before), "
                     "%d live campaigns", queued, retried, campaigns)

    async def hand_over(self, owned: Callable[[AccountId], bool], grace_s: float) -> None:
        """These accounts go to another node: their queued messages stay EN_ATTENTE
        for it, the answers of those on a bind are awaited (within `grace_s`) and
        settled by their actors."""
        self.dispatcher.forget(owned)
        self.deferred.drop(owned)
        await self.campaigns.drop(owned)
        with trio.move_on_after(grace_s):
            while self.dispatcher.outstanding(owned) or self.router.holds(owned):  # noqa: ASYNC110 - counters several owners keep
                await trio.sleep(0.01)

    async def stop_actors(self, owned: Callable[[AccountId], bool]) -> None:
        await self.registry.close(owned, wait=True)

    async def abandon(self, owned: Callable[[AccountId], bool]) -> None:
        """These accounts are no longer this node's (its lease ran out): drop what
        is queued for them and stop their actors; the new holder takes it all up
        from the store."""
        self.dispatcher.forget(owned)
        self.deferred.drop(owned)
        await self.campaigns.drop(owned)
        await self.registry.close(owned, wait=False)

    def address(self, connection: ConnectionSettings) -> tuple[str, int]:
        """Where a connection's SMSC listens."""
        if connection.name in self._addresses:
            return self._addresses[connection.name]
        return (connection.host or self._smsc[0], connection.port or self._smsc[1])

    def _sender_settings(self, connection: ConnectionSettings) -> SenderSettings:
        s = self.settings.smsc
        host, port = self.address(connection)
        return SenderSettings(
            host=host,
            port=port,
            system_id=connection.system_id,
            password=connection.password,
            window=connection.window,
            smsc=connection.name,
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
        supervise = self.supervisor
        async with trio.open_nursery() as nursery:
            await supervise.start(nursery, "rappels", self.callbacks.serve)
            supervise.start_soon(nursery, "idempotence", self._expire_idempotency)
            await supervise.start(nursery, "registre", self.registry.serve)
            await supervise.start(nursery, "routeur", self.router.serve)
            single = len(self.connections) == 1
            for configured in self.connections:
                connection = self.dispatcher.connections[configured.name]
                dispatcher = connection.dispatcher
                suffix = "" if single else f"-{configured.name}"
                await supervise.start(nursery, f"repartiteur{suffix}", dispatcher.serve)
                sender_settings = self._sender_settings(configured)
                for bind in range(configured.binds):
                    index = len(self.senders)
                    sender = SmppSender(
                        index,
                        sender_settings,
                        dispatcher.link(bind),
                        self._events_send.clone(),
                        self.clock,
                        self._refs,
                        pace=connection.pace,
                        inbound=self.inbound.receive,
                    )
                    self.senders.append(sender)
                    connection.senders.append(sender)
                    await supervise.start(nursery, f"liaison-{index}", sender.serve)
            await supervise.start(nursery, "differes", self.deferred.serve)
            supervise.start_soon(nursery, "validite", self._expire_queued)
            await self._recover()
            await supervise.start(nursery, "campagnes", self.campaigns.serve)
            task_status.started()
            await trio.sleep_forever()

    async def _recover(self) -> None:
        """Queue again every message the store holds as waiting (after a restart);
        hold deferred sends whose departure has not come. A node of a cluster does
        this for each shard it takes (`adopt`)."""
        if isinstance(self.cluster, Cluster):
            return
        queued, retried = await self._requeue(lambda _account_id: True)
        if queued:
            log.info("recovered %d waiting messages (%d possibly sent before)", queued, retried)

    async def _requeue(self, owned: Callable[[AccountId], bool]) -> tuple[int, int]:
        now = iso(self.clock.now())
        rows = []
        for row in await self.store.messages.waiting():
            account_id = AccountId(row.account_id)
            if not owned(account_id):
                continue
            if row.date_envoi is not None and row.date_envoi > now:
                self.deferred.hold(account_id, SendRef(row.ref), row.date_envoi)
            else:
                rows.append(row)
        return await requeue(
            rows, store=self.store, accounts=self.registry, outlet=self.dispatcher
        )

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
        except NotHeld:
            raise Unavailable(
                "Ce compte change de nœud : réessayez dans un instant.",
                code="COMPTE_INDISPONIBLE",
            ) from None
        except LedgerError as exc:
            raise Conflict(exc.message, code=exc.code) from None
        except ActorStopped:
            raise Unavailable(
                "Ce compte est momentanément indisponible : réessayez.",
                code="COMPTE_INDISPONIBLE",
            ) from None

    async def _expire_queued(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Once a second, end EXPIRE the queued messages whose validity has passed
        before any bind took them (an SMSC down or stalled, a rate that holds them):
        their outcomes go to the result router like any other."""
        task_status.started()
        send = self._events_send.clone()
        while True:
            await self.dispatcher.wait_validity()
            await trio.sleep(1.0)
            expired = self.dispatcher.expire(self.clock.now().timestamp())
            if expired:
                at = self.clock.now_iso()
                await send.send([
                    Ended(m.account_id, Outcome(
                        m.message_id, m.ref, MessageStatus.ECHEC, Reason.EXPIRE, at=at,
                        doublon_possible=m.possible_duplicate,
                    ))
                    for m in expired
                ])

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
