"""The facade: the one object `api/` and `run.py` talk to.

`Gateway` composes the engine's parts and owns none of their state:
- `Runtime` (runtime.py): the actors and tasks, wired and served; `drain`;
- `Access` (access.py): API keys (several named keys per account) and
  client-space logins;
- `Administration` (administration.py): accounts, balances, invoices,
  suspension and sender names, each change journalled with who made it;
- `OptOuts` (optouts.py): the accounts' opt-out lists;
- `MonthlyClose` (billing.py): the automatic close of postpaid periods;
- `Sending` (sending.py): sends and campaigns, accepted and read back;
- `Receiving` (receiving.py): inbound messages (MO) and inbound numbers;
- the operator views (snapshot.py): health and the actors snapshot.
Each public method is the part's own method, bound here, so a signature and its
docstring live in one place. Every refusal is a domain error (`engine.errors`);
`api/` turns it into an HTTP answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import trio

from config.settings import Settings
from engine.cluster import Solo
from engine.cluster.node import Cluster
from engine.gateway.access import Access
from engine.gateway.administration import Administration
from engine.gateway.billing import MonthlyClose
from engine.gateway.optouts import OptOuts
from engine.gateway.receiving import Receiving
from engine.gateway.runtime import Runtime
from engine.gateway.sending import Sending
from engine.gateway.snapshot import OperatorSnapshot, health, operator_snapshot
from engine.model import AccountId, iso
from engine.store import Store

REVOCATION_POLL_S = 0.25
"""How often a node of a cluster reads the keys revoked through the others."""


class Gateway:
    """The engine of one process behind one object. Serve it in a nursery
    (`await nursery.start(gateway.serve)`) before any call that reaches an actor."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        smsc_host: str = "",
        smsc_port: int = 0,
        *,
        addresses: Mapping[str, tuple[str, int]] | None = None,
    ) -> None:
        runtime = Runtime(settings, store, smsc_host, smsc_port, addresses=addresses)
        self.runtime = runtime
        self.settings = settings
        self.store = store
        self.clock = runtime.clock
        self.dispatcher = runtime.dispatcher
        self.registry = runtime.registry
        self.router = runtime.router
        self.senders = runtime.senders
        self.callbacks = runtime.callbacks
        self.campaigns = runtime.campaigns
        self.started_at = runtime.started_at
        self.stopping = runtime.stopping
        """Set when shutdown begins: long-lived streams end."""

        self.access = access = Access(settings, store, runtime.clock)
        self.authenticate = access.authenticate
        self.regenerate_key = access.regenerate_key
        self.list_keys = access.list_keys
        self.create_key = access.create_key
        self.revoke_key = access.revoke_key
        self.key_expiry = access.key_expiry
        self.login = access.login
        self.change_password = access.change_password
        self.session_generation = access.session_generation
        self.end_sessions = access.end_sessions
        self.operator_epoch = access.operator_epoch
        self.end_operator_sessions = access.end_operator_sessions

        self.administration = admin = Administration(runtime, access)
        self.create_account = admin.create_account
        self.account = admin.account
        self.accounts = admin.accounts
        self.require_account = admin.require_account
        self.amend_account = admin.amend_account
        self.journal_page = admin.journal_page
        self.top_up = admin.top_up
        self.change_type = admin.change_type
        self.set_rate = admin.set_rate
        self.update_profile = admin.update_profile
        self.close_invoice = admin.close_invoice
        self.settle_invoice = admin.settle_invoice
        self.invoices = admin.invoices
        self.journal = admin.journal
        self.set_controls = admin.set_controls
        self.suspend_account = admin.suspend_account
        self.reactivate_account = admin.reactivate_account
        self.set_senders = admin.set_senders
        self.reset_password = admin.reset_password
        self.record_admin = admin.record_admin
        self.search_accounts = admin.search_accounts
        self.consumption_by_day = admin.consumption_by_day
        self.check_callback_url = admin.check_callback_url
        self.new_callback_secret = admin.new_callback_secret
        self.latest_entries = admin.latest_entries

        self.opt_outs = opt_outs = OptOuts(settings, store, runtime.clock)
        self.add_opt_outs = opt_outs.add_opt_outs
        self.remove_opt_out = opt_outs.remove_opt_out
        self.opt_outs_page = opt_outs.opt_outs_page

        self.monthly_close = MonthlyClose(runtime)

        self.sending = sending = Sending(runtime, opt_outs)
        self.prepare = sending.prepare
        self.submit = sending.submit
        self.send_view = sending.send_view
        self.messages_page = sending.messages_page
        self.sends_page = sending.sends_page
        self.submit_campaign = sending.submit_campaign
        self.campaign_plan = sending.campaign_plan
        self.preview_campaign = sending.preview_campaign
        self.cancel_campaign = sending.cancel_campaign
        self.cancel_send = sending.cancel
        self.deferred = runtime.deferred

        self.receiving = receiving = Receiving(runtime)
        self.inbound_numbers = receiving.inbound_numbers
        self.set_inbound_numbers = receiving.set_inbound_numbers
        self.inbound_page = receiving.inbound_page
        self.unclaimed_page = receiving.unclaimed_page
        self.inbound = runtime.inbound
        runtime.inbound.on_stop = partial(_stop, opt_outs)
        """What an MO does when it arrives; `inbound.observers` is where an
        ENTRANT callback event is queued."""

        self.drain = runtime.drain
        self.cluster_view = runtime.cluster.view
        """GET /api/V1/admin/cluster: the nodes, what each holds, lease ages."""

    @property
    def cluster(self) -> Solo | Cluster:
        """This node of a cluster (`Cluster`), or a gateway alone on its store (`Solo`)."""
        return self.runtime.cluster

    @property
    def clustered(self) -> bool:
        return self.runtime.cluster.clustered

    @property
    def node(self) -> str:
        """This node's name (`cluster.node`)."""
        return self.runtime.cluster.node

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start the engine (`Runtime.serve`), report this gateway ready, run until
        cancelled."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.runtime.serve)
            supervise = self.runtime.supervisor
            await supervise.start(nursery, "usage-cles", self.access.serve_key_uses)
            await supervise.start(nursery, "cloture-mensuelle", self.monthly_close.serve)
            if isinstance(self.runtime.cluster, Cluster):
                await supervise.start(nursery, "revocations", self._watch_revocations)
            task_status.started(self)

    async def join_cluster(self, url: str, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """On a node of a cluster: register as reachable at `url` (its HTTP API, once
        it listens), then hold a share of the accounts until cancelled. A gateway
        alone on its store only reports ready."""
        cluster = self.runtime.cluster
        if not isinstance(cluster, Cluster):
            task_status.started()
            return
        await cluster.register(url)
        async with trio.open_nursery() as nursery:
            await self.runtime.supervisor.start(nursery, "cluster", cluster.serve)
            task_status.started()

    async def leave_cluster(self, grace_s: float) -> None:
        """SIGTERM on a node of a cluster: hand every account over to the other nodes
        (what is on a bind answered within `grace_s`), then leave."""
        cluster = self.runtime.cluster
        if isinstance(cluster, Cluster):
            await cluster.leave(grace_s)

    async def _watch_revocations(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """A key revoked or replaced through another node is refused here within a
        second: the cluster's revocations of the last 30 s are read four times a
        second and dropped from the key cache."""
        cluster = self.runtime.cluster
        assert isinstance(cluster, Cluster)
        task_status.started()
        while True:
            since = iso(self.clock.now() - timedelta(seconds=30))
            self.access.forget_keys(await cluster.revoked_keys(since))
            await trio.sleep(REVOCATION_POLL_S)

    def health(self) -> dict[str, Any]:
        return health(self.runtime)

    def snapshot(self) -> OperatorSnapshot:
        """Every actor's statistics now (typed)."""
        return operator_snapshot(self.runtime)

    def actors(self) -> dict[str, Any]:
        """The snapshot as GET /api/V1/admin/acteurs answers it."""
        return asdict(self.snapshot())

    def now(self) -> datetime:
        return self.clock.now()


async def _stop(opt_outs: OptOuts, account_id: AccountId, number: str) -> None:
    """An inbound STOP: its sender goes on the owner's opt-out list (source STOP)."""
    await opt_outs.add_opt_outs(account_id, [number], "STOP")
