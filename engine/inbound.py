"""What an inbound message (MO) does once a bind has read it.

`InboundDesk.receive` is what every sender hands its inbound messages to, and
returns once they are durable (the sender answers the SMSC only then): each MO
is stored with its owner, the account owning its destination number or short
code (`numerosEntrants`), or none (the operators' list); an MO whose text is
`STOP` (trimmed, any case) to an owned number puts its sender on that owner's
opt-out list (`opt_out_from_stop`), in the same wait. Then each observer in
`observers` is told, synchronously, of every stored MO with its id and owner:
the place where an `ENTRANT` callback event is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.model import InboundMessage, InboundStored
from engine.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundReceived:
    """One stored MO and who owns it (None: no known number)."""

    stored: InboundStored
    message: InboundMessage


Observer = Callable[[Sequence[InboundReceived]], None]
"""Told of every batch of stored MO; must not block."""


async def opt_out_from_stop(store: Store, stops: Sequence[tuple[int, str]]) -> None:
    """Put each (account id, number) of an inbound STOP on that account's opt-out
    list."""
    for account_id, number in stops:
        log.info("STOP from %s for account %d", number, account_id)


class InboundDesk:
    """Stateless but for its observers; shared by every sender of every connection."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.observers: list[Observer] = []
        self.received = 0
        self.stops = 0

    async def receive(self, messages: Sequence[InboundMessage]) -> None:
        """Store `messages`, apply their STOPs; return once all of it is durable.
        Cancelled or failed, the caller does not answer the SMSC, which delivers
        them again."""
        stored = await self._store.inbound.record(messages)
        stops = [
            (s.account_id, m.emetteur)
            for s, m in zip(stored, messages, strict=True)
            if s.account_id is not None and m.stop
        ]
        if stops:
            await opt_out_from_stop(self._store, stops)
            self.stops += len(stops)
        self.received += len(messages)
        received = [InboundReceived(s, m) for s, m in zip(stored, messages, strict=True)]
        for observer in self.observers:
            observer(received)
