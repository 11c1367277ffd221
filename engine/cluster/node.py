"""One node of a cluster of gateways sharing a PostgreSQL database.

Accounts fall into `shards` shards (`engine.model.shard_of`), each held by one
node under an epoch. The node registers in `cluster_nodes` and heartbeats every
third of a lease: its beat is the lease of every shard it holds (a node is live
while its last beat is within `lease_s`). Each beat then shares the shards out:
with n live nodes each aims at its share (the first `shards % n` nodes by name
one more), takes free shards and those of nodes that stopped beating up to it
(under a new epoch) and hands extra ones over when another live node has fewer
than its share. Times are the database's clock.

Holding a shard means: the accounts' actors run here, their messages leave on
this node's binds, their campaigns and deferred sends are scheduled here, and
every request for them that reaches another node is forwarded here
(`api/relay.py`). The store's writes for them carry the shard's epoch
(`engine.store.fence`): once another node has taken a shard, a write of this
node for it is refused by the database.

A shard is:
- taken (`_take`): the runtime adopts the accounts (their waiting messages are
  queued again, an attempted one flagged doublonPossible; their campaigns and
  deferred sends are taken up) before any request for them is served here;
- handed over (`hand_over`, at SIGTERM or to share out): requests for the
  accounts wait; their queued messages are left EN_ATTENTE, those on a bind
  answered, the actors stopped; then the lease is released at once;
- lost (`_lose`): the lease could not be renewed in time (the database out of
  reach, or this process frozen): the node stops serving the accounts by itself,
  before the lease runs out in the database, and drops what it had queued.

A node whose lease ran out while it was frozen finds, once awake, its shards
held under newer epochs: it loses them, and the fence refuses anything it tries
to write for them first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import trio

from engine.clock import WallClock
from engine.errors import Unavailable
from engine.model import AccountId, ClusterView, NodeView, iso, shard_of
from engine.store import Store, StoreError, store_failures
from engine.store.fence import Fence
from engine.store.leases import Beat, LeaseBook

log = logging.getLogger(__name__)

Owned = Callable[[AccountId], bool]

_MARGIN = 0.8
"""A lease counts as this node's for this fraction of `lease_s` after the renewal
was sent: the database's lease runs from when it received it, later."""


class Host(Protocol):
    """What a node asks of its engine when the accounts it holds change."""

    async def adopt(self, owned: Owned) -> None:
        """Take the accounts up: their waiting messages, campaigns, deferred sends."""

    async def hand_over(self, owned: Owned, grace_s: float) -> None:
        """Finish with the accounts: leave their queued messages, let those on a
        bind be answered (within `grace_s`), stop their actors."""

    async def abandon(self, owned: Owned) -> None:
        """Drop the accounts at once (the lease was lost)."""

    async def stop_actors(self, owned: Owned) -> None:
        """Stop the accounts' actors once each has handled its mailbox."""


@dataclass(slots=True)
class _Lease:
    epoch: int
    valid_until: float
    """trio time after which this node no longer counts on it."""


def shares(nodes: list[str], shards: int) -> dict[str, int]:
    """How many shards each live node aims at: an even split, the first nodes by
    name taking one more when it does not divide."""
    ordered = sorted(nodes)
    base, extra = divmod(shards, len(ordered))
    return {name: base + (1 if i < extra else 0) for i, name in enumerate(ordered)}


class Cluster:
    """This node: its leases, who holds the other accounts, forwarding counts."""

    clustered = True

    def __init__(
        self,
        store: Store,
        params: dict[str, Any],
        clock: WallClock,
        *,
        node: str,
        url: str,
        secret: str,
        lease_s: float,
        shards: int,
    ) -> None:
        self.node = node
        self.url = url
        self.secret = secret
        self.lease_s = lease_s
        self.shards = shards
        self._params = params
        self._clock = clock
        self._store = store
        self.fence = Fence(node, shards)
        store.fence = self.fence
        self._host: Host | None = None
        self._book = LeaseBook(params)
        self._held: dict[int, _Lease] = {}
        self._serving: set[int] = set()
        """Held shards whose accounts are served here (adopted, not being handed over)."""
        self._closing: set[int] = set()
        """Held shards being handed over whose actors are stopping: none may start."""
        self._holders: dict[int, tuple[str, str, float]] = {}
        """Shard -> (node, url, trio time its lease runs out), from the last beat."""
        self._moved = trio.Event()
        """Set (and replaced) whenever who serves which shard may have changed."""
        self._handing = False
        self._started = False
        self.forwarded = 0
        """Requests forwarded to another node so far."""
        self._forwarded_at_beat = (0, 0.0)
        self.forward_rate = 0.0
        """Requests forwarded per second over the last heartbeat."""
        self.live_actors: Callable[[], int] = lambda: 0

    # -- what the engine and the API ask ------------------------------------------------

    def rename(self, node: str) -> None:
        """Name this node (before `register`): its name by default holds the HTTP
        port, known once it listens."""
        assert not self._started, "a registered node keeps its name"
        self.node = node
        self.fence.node = node

    def attach(self, host: Host) -> None:
        self._host = host

    def _shard(self, account_id: int) -> int:
        return shard_of(account_id, self.shards)

    def _valid(self, shard: int) -> bool:
        lease = self._held.get(shard)
        return lease is not None and trio.current_time() < lease.valid_until

    def holds(self, account_id: AccountId) -> bool:
        """Requests for this account are served here."""
        shard = self._shard(account_id)
        return shard in self._serving and self._valid(shard)

    def may_host(self, account_id: AccountId) -> bool:
        """This account's actor may run here (its shard held and not closing)."""
        shard = self._shard(account_id)
        return shard not in self._closing and self._valid(shard)

    async def holder(self, account_id: AccountId) -> str | None:
        """The URL of the node serving this account, None when it is this node.
        While the account's shard is being taken, handed over or has no live
        holder, waits (at most three leases), then raises `Unavailable`."""
        shard = self._shard(account_id)
        deadline = trio.current_time() + 3 * self.lease_s
        while True:
            if self.holds(account_id):
                return None
            now = trio.current_time()
            known = self._holders.get(shard)
            if shard not in self._held and known is not None:
                node, url, until = known
                if node != self.node and url and until > now:
                    return url
            if now >= deadline:
                raise Unavailable(
                    "Ce compte est momentanément indisponible : réessayez.",
                    code="COMPTE_INDISPONIBLE",
                )
            with trio.move_on_at(min(deadline, now + self.lease_s / 3)):
                await self._moved.wait()

    def note_forward(self) -> None:
        self.forwarded += 1

    def refresh_soon(self, account_id: AccountId) -> None:
        """A forwarded request found the node it was sent to no longer serving the
        account (or out of reach): forget that shard's holder until the next beat
        says otherwise."""
        self._holders.pop(self._shard(account_id), None)

    async def view(self) -> ClusterView:
        beat = await self._book.read(self.node) if self._started else Beat(0.0, {}, (), ())
        live = beat.live(self.lease_s)
        held: dict[str, list[int]] = {}
        for row in beat.shards:
            if row.noeud in live:
                held.setdefault(row.noeud, []).append(row.shard)
        nodes = [
            NodeView(
                noeud=n.noeud,
                url=n.url,
                vu_le=iso(datetime.fromtimestamp(n.vu_le, UTC)),
                demarre_le=iso(datetime.fromtimestamp(n.demarre_le, UTC)),
                vivant=n.noeud in live,
                partitions=tuple(held.get(n.noeud, ())),
                bail_age_s=round(beat.now - n.vu_le, 3) if n.noeud in held else None,
                relais_par_s=round(n.relais_par_s, 2),
                comptes_actifs=n.comptes_actifs,
            )
            for n in beat.nodes
        ]
        nodes.sort(key=lambda v: (not v.vivant, v.noeud))
        return ClusterView(self.node, self.shards, self.lease_s, tuple(nodes))

    # -- the node's life ------------------------------------------------------------------

    async def register(self, url: str = "") -> None:
        """Join the cluster as reachable at `url` (where this node listens) unless
        `cluster.url` says otherwise. `StoreError` when a live node has the same
        name, or the database's shards are not `cluster.shards`."""
        if url and not self.url:
            self.url = url
        if not await self._book.lock_database(shared=True):
            raise StoreError(
                "a gateway without cluster.secret is running on this database: every "
                "gateway sharing a database must be a node of the cluster (cluster.secret)"
            )
        await self._book.register(self.node, self.url, self.shards, self.lease_s)
        self._started = True
        log.info("cluster node %s registered (%s), lease %.1f s, %d shards",
                 self.node, self.url, self.lease_s, self.shards)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Heartbeat, renew, take and hand over shards until cancelled (after
        `register`)."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_leases)
                task_status.started()
                while True:
                    began = trio.current_time()
                    try:
                        await self._beat(began, nursery)
                    except store_failures() as exc:
                        log.warning("cluster heartbeat failed: %s", exc)
                    await trio.sleep_until(began + self.lease_s / 3)
        finally:
            self._book.close()

    async def _beat(self, began: float, nursery: trio.Nursery) -> None:
        now_t = trio.current_time()
        window = max(now_t - self._forwarded_at_beat[1], 1e-3)
        self.forward_rate = (self.forwarded - self._forwarded_at_beat[0]) / window
        self._forwarded_at_beat = (self.forwarded, now_t)
        held = {s: lease.epoch for s, lease in self._held.items()}
        beat = await self._book.beat(
            self.node,
            self.url,
            pid=self._store.writer_pid,
            relais_par_s=self.forward_rate,
            comptes_actifs=self.live_actors(),
            forget_after_s=max(100 * self.lease_s, 600.0),
        )
        lost = [  # taken by another node: unless dropped meanwhile (lease watch, hand-over)
            s for s in held
            if beat.mine.get(s) != held[s] and s in self._held and self._held[s].epoch == held[s]
        ]
        for shard, epoch in beat.mine.items():
            lease = self._held.get(shard)
            if lease is not None and lease.epoch == epoch:
                lease.valid_until = began + self.lease_s * _MARGIN
        if lost:
            await self._lose(lost, "its lease was taken by another node")
        live = beat.live(self.lease_s)
        live.add(self.node)
        offset = trio.current_time() - beat.now
        seen = {n.noeud: n for n in beat.nodes}
        self._holders = {
            r.shard: (r.noeud, seen[r.noeud].url, seen[r.noeud].vu_le + self.lease_s + offset)
            for r in beat.shards if r.noeud is not None and r.noeud in live and r.noeud in seen
        }
        target = shares(sorted(live), self.shards)
        mine = len(self._held)
        # shards the database says are this node's that it does not serve (dropped
        # while it was frozen, or held by an earlier life of this node): no other
        # node takes them while this one beats, so it takes them again
        orphans = [s for s in beat.mine if s not in self._held]
        if (orphans or mine < target[self.node]) and not self._handing:
            free = [
                r.shard for r in beat.shards
                if r.shard not in self._held and r.shard not in orphans
                and (r.noeud is None or r.noeud not in live)
            ]
            wanted = orphans + free[: max(target[self.node] - mine - len(orphans), 0)]
            if wanted:
                await self._take(wanted, began)
        elif mine > target[self.node] and not self._handing:
            counts: dict[str, int] = {}
            for r in beat.shards:
                if r.noeud in live:
                    counts[r.noeud] = counts.get(r.noeud, 0) + 1
            if any(counts.get(n, 0) < target[n] for n in live if n != self.node):
                extra = sorted(self._serving, reverse=True)[: mine - target[self.node]]
                if extra:
                    self._handing = True
                    nursery.start_soon(self._hand_over_then_release, extra)
        self._signal()

    def _signal(self) -> None:
        self._moved.set()
        self._moved = trio.Event()

    async def _take(self, wanted: list[int], began: float) -> None:
        taken = await self._book.acquire(self.node, wanted, self.lease_s, self.lease_s / 6)
        if not taken:
            return
        for shard, epoch in taken.items():
            self._held[shard] = _Lease(epoch, began + self.lease_s * _MARGIN)
            self.fence.epochs[shard] = epoch
            self._holders.pop(shard, None)
        chosen = set(taken)
        if self._host is not None:
            await self._host.adopt(lambda a: self._shard(a) in chosen)
        self._serving |= chosen
        log.info("cluster node %s took %d shards (%s)", self.node, len(chosen), _span(chosen))

    async def _lose(self, shards: list[int], why: str) -> None:
        gone = set(shards)
        for shard in gone:
            self._held.pop(shard, None)
            self.fence.epochs.pop(shard, None)
        self._serving -= gone
        log.warning("cluster node %s lost %d shards (%s): %s", self.node, len(gone), _span(gone), why)
        if self._host is not None:
            await self._host.abandon(lambda a: self._shard(a) in gone)
        self._signal()

    async def _watch_leases(self) -> None:
        """Stop serving a shard as soon as its lease may have run out here, without
        waiting for the next heartbeat (the database out of reach, or the process
        was frozen)."""
        while True:
            now = trio.current_time()
            lapsed = [s for s, lease in self._held.items() if lease.valid_until <= now]
            if lapsed:
                await self._lose(lapsed, "its lease could not be renewed in time")
            await trio.sleep(self.lease_s / 10)

    async def _hand_over_then_release(self, shards: list[int]) -> None:
        try:
            await self.hand_over(shards)
        finally:
            self._handing = False

    async def hand_over(self, shards: list[int] | None = None, grace_s: float | None = None) -> None:
        """Hand these shards (all held when None) over: requests for their accounts
        wait, what is on a bind is answered, the actors stop, then the leases are
        released at once for another node to take."""
        chosen = set(self._held if shards is None else shards) & set(self._held)
        if not chosen:
            return
        self._serving -= chosen
        self._signal()
        owned: Owned = lambda a: self._shard(a) in chosen  # noqa: E731
        if self._host is not None:
            await self._host.hand_over(owned, self.lease_s if grace_s is None else grace_s)
        self._closing |= chosen
        try:
            if self._host is not None:
                await self._host.stop_actors(owned)
            epochs = {s: self._held[s].epoch for s in chosen if s in self._held}
            if epochs:
                try:
                    await self._book.release(self.node, epochs)
                except store_failures() as exc:  # the leases then run out by themselves
                    log.warning("cluster: could not release shards: %s", exc)
        finally:
            for shard in chosen:
                self._held.pop(shard, None)
                self.fence.epochs.pop(shard, None)
            self._closing -= chosen
        log.info("cluster node %s handed %d shards over (%s)", self.node, len(chosen), _span(chosen))
        self._signal()

    async def leave(self, grace_s: float) -> None:
        """SIGTERM: hand every shard over, then leave the cluster."""
        if not self._started:
            return
        self._handing = True
        await self.hand_over(None, grace_s)
        try:
            await self._book.leave(self.node)
        except store_failures() as exc:
            log.warning("cluster: could not leave: %s", exc)

    async def revoked_keys(self, since: str) -> list[str]:
        """Hashes of the API keys revoked or replaced since `since` (ISO 8601), by
        any node."""
        return await self._book.revoked_keys(since)


def _span(shards: set[int]) -> str:
    ordered = sorted(shards)
    if len(ordered) > 6:
        return f"{ordered[0]}..{ordered[-1]}"
    return ", ".join(map(str, ordered))
