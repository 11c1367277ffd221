"""Several SMSC connections: which one each recipient leaves on, and failover.

Each connection is one `Dispatcher` (its own binds, its own accounts' queues, so
each account's fairness and order hold per connection) and one `ConnectionPace`
shared by its senders (its `max_rate`). `Routes` stands where the single
dispatcher stood for the accounts, the campaign scheduler and the recovery
(`offer`, `withdraw`, `set_rate`, `backlog`, `pause`, `statistics`): it hands
each message to the connection with the longest prefix matching its E.164 digits
(without `+`), else to the default connection.

Failover (`routing.failover`): a connection that is down (no bound bind, and one
dropped or failed to connect since it was last bound) gets nothing new, and
what waits in its queues goes to another bound connection, the default first,
then the others in configuration order; when none is bound, it waits where it
is. Without failover, a down connection's recipients wait EN_ATTENTE in its
queues until it binds again. Whatever its connection, a message's attempt records
the connection it leaves on (`smsc`).

Synchronous: nothing here blocks; the dispatchers call `_changed` (through
`on_binds`) after a bind binds or drops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio

from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.message import OutMessage
from engine.dispatch.states import ConnectionStatistics, DispatcherStatistics, SenderStatistics
from engine.dispatch.throttle import ConnectionPace
from engine.model import AccountId, SendRef, TokenBucket
from engine.store import Store


@dataclass(frozen=True, slots=True)
class Route:
    """One SMSC connection as routing sees it: its name, prefixes, binds, cap."""

    name: str
    prefixes: tuple[str, ...]
    binds: int
    max_rate_per_s: int = 0


class Reporting(Protocol):
    """A sender, as its connection's statistics read it."""

    def statistics(self) -> SenderStatistics: ...


@dataclass(slots=True)
class Connection:
    """One SMSC connection's dispatcher and shared pace; its senders register in
    `senders` (their statistics feed the connection's)."""

    route: Route
    dispatcher: Dispatcher
    pace: ConnectionPace
    senders: list[Reporting] = field(default_factory=list)
    moved_out: int = 0

    @property
    def name(self) -> str:
        return self.route.name


def longest_prefix(prefixes: dict[str, str], digits: str, default: str) -> str:
    """The connection whose prefix is the longest that starts `digits`, else `default`."""
    for end in range(len(digits), 0, -1):
        name = prefixes.get(digits[:end])
        if name is not None:
            return name
    return default


class Routes:
    """Owns the connections' dispatchers; the outlet every account hands messages to."""

    def __init__(
        self,
        store: Store,
        routes: Sequence[Route],
        *,
        default: str,
        failover: bool,
        channel_size: int,
    ) -> None:
        self.connections: dict[str, Connection] = {}
        for route in routes:
            dispatcher = Dispatcher(
                store, binds=route.binds, channel_size=channel_size, name=route.name,
                on_binds=self._changed,
            )
            self.connections[route.name] = Connection(
                route, dispatcher, ConnectionPace(route.max_rate_per_s)
            )
        self.default = default
        self.failover = failover
        self._by_prefix = {p: r.name for r in routes for p in r.prefixes}
        self._single = self.connections[default] if len(self.connections) == 1 else None

    # -- routing ----------------------------------------------------------------------

    def route(self, destination: str) -> str:
        """The connection a number goes to by prefix (failover aside)."""
        if self._single is not None:
            return self._single.name
        return longest_prefix(self._by_prefix, destination.lstrip("+"), self.default)

    def _fallback(self, down: Connection) -> Connection | None:
        """Where a down connection's recipients go: the default first, then the
        others in configuration order; None when no other is bound."""
        default = self.connections[self.default]
        if default is not down and default.dispatcher.bound:
            return default
        for c in self.connections.values():
            if c is not down and c.dispatcher.bound:
                return c
        return None

    def _target(self, destination: str) -> Connection:
        c = self.connections[self.route(destination)]
        if self.failover and c.dispatcher.down:
            other = self._fallback(c)
            if other is not None:
                c.moved_out += 1
                return other
        return c

    def _changed(self) -> None:
        """A bind bound or dropped somewhere: with failover, every down connection's
        queued recipients go to a bound one."""
        if not self.failover:
            return
        for c in self.connections.values():
            if not c.dispatcher.down or not c.dispatcher.backlog:
                continue
            other = self._fallback(c)
            if other is None:
                continue
            moved = c.dispatcher.take_queued()
            c.moved_out += len(moved)
            other.dispatcher.offer(moved)

    # -- the outlet -------------------------------------------------------------------

    def offer(self, messages: Sequence[OutMessage]) -> None:
        """Queue each message on its connection (never blocks)."""
        if self._single is not None:
            self._single.dispatcher.offer(messages)
            return
        shares: dict[str, list[OutMessage]] = {}
        for m in messages:
            shares.setdefault(self._target(m.destination).name, []).append(m)
        for name, share in shares.items():
            self.connections[name].dispatcher.offer(share)

    def withdraw(self, account_id: AccountId, ref: SendRef) -> list[OutMessage]:
        """Take back every queued message of send `ref`, whatever its connection."""
        taken: list[OutMessage] = []
        for c in self.connections.values():
            taken.extend(c.dispatcher.withdraw(account_id, ref))
        taken.sort(key=lambda m: m.message_id)
        return taken

    def forget(self, owned: Callable[[AccountId], bool]) -> int:
        """Drop the queued messages of the accounts `owned` names, on every
        connection (`Dispatcher.forget`)."""
        return sum(c.dispatcher.forget(owned) for c in self.connections.values())

    def outstanding(self, owned: Callable[[AccountId], bool]) -> int:
        """Messages of these accounts on a bind, not yet answered, on every connection."""
        return sum(c.dispatcher.outstanding(owned) for c in self.connections.values())

    def set_rate(self, account_id: AccountId, bucket: TokenBucket) -> None:
        """The account's `debitMax` bucket, shared by every connection."""
        for c in self.connections.values():
            c.dispatcher.set_rate(account_id, bucket)

    @property
    def backlog(self) -> int:
        return sum(c.dispatcher.backlog for c in self.connections.values())

    def expire(self, wall_now: float) -> list[OutMessage]:
        """Every connection's queued messages whose validity has passed (POSIX
        seconds), taken out of their queues: the caller ends them EXPIRE."""
        return [m for c in self.connections.values() for m in c.dispatcher.expire(wall_now)]

    async def wait_validity(self) -> None:
        """Until a queue of any connection may hold a message with a validity."""
        dispatchers = [c.dispatcher for c in self.connections.values()]
        if len(dispatchers) == 1:
            await dispatchers[0].wait_validity()
            return
        async with trio.open_nursery() as nursery:

            async def first(dispatcher: Dispatcher) -> None:
                await dispatcher.wait_validity()
                nursery.cancel_scope.cancel()

            for dispatcher in dispatchers:
                nursery.start_soon(first, dispatcher)

    def pause(self) -> None:
        for c in self.connections.values():
            c.dispatcher.pause()

    def statistics(self) -> DispatcherStatistics:
        """Every connection's dispatcher together (`repartiteur`)."""
        parts = [c.dispatcher.statistics() for c in self.connections.values()]
        return DispatcherStatistics(
            backlog=sum(p.backlog for p in parts),
            accounts_waiting=sum(p.accounts_waiting for p in parts),
            rate_limited=sum(p.rate_limited for p in parts),
            dispatched=sum(p.dispatched for p in parts),
            given_back=sum(p.given_back for p in parts),
            channel_used=sum(p.channel_used for p in parts),
            channel_size=sum(p.channel_size for p in parts),
            binds_up=sum(p.binds_up for p in parts),
        )

    def connection_statistics(self) -> tuple[ConnectionStatistics, ...]:
        """Each connection as the operator sees it (`connexions[]`)."""
        now = trio.current_time()
        out: list[ConnectionStatistics] = []
        for c in self.connections.values():
            binds = [s.statistics() for s in c.senders]
            down = c.dispatcher.down
            other = self._fallback(c) if down and self.failover else None
            out.append(
                ConnectionStatistics(
                    nom=c.name,
                    prefixes=c.route.prefixes,
                    defaut=c.name == self.default,
                    liaisons=c.route.binds,
                    liees=c.dispatcher.statistics().binds_up,
                    debit_max_par_s=c.route.max_rate_per_s,
                    debit_par_s=c.pace.per_s(now),
                    soumis=sum(b.submitted for b in binds),
                    acceptes=sum(b.accepted for b in binds),
                    echecs=sum(b.failed for b in binds),
                    erreurs=sum(b.reconnects for b in binds),
                    en_attente=c.dispatcher.backlog,
                    hors_ligne=down,
                    bascule_vers=other.name if other is not None else None,
                    bascules=c.moved_out,
                )
            )
        return tuple(out)
