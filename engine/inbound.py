"""What an inbound message (MO) does once a bind has read it.

`InboundDesk.receive` is what every sender hands its inbound messages to, and
returns once they are durable (the sender answers the SMSC only then): each MO
is stored with its owner, the account owning its destination number or short
code (`numerosEntrants`), or none (the operators' list); an MO whose text is
`STOP` (trimmed, any case) to an owned number puts its sender on that owner's
opt-out list (`on_stop`, which the facade points at the opt-out list), in the
same wait: an MO is answered once both are durable. Then each observer in
`observers` is told, synchronously, of every stored MO with its id and owner:
the place where an `ENTRANT` callback event is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from engine.errors import InvalidField
from engine.model import AccountId, InboundMessage, InboundStored
from engine.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundReceived:
    """One stored MO and who owns it (None: no known number)."""

    stored: InboundStored
    message: InboundMessage


Observer = Callable[[Sequence[InboundReceived]], None]
"""Told of every batch of stored MO; must not block."""


OnStop = Callable[[AccountId, str], Awaitable[object]]
"""Puts a number on an account's opt-out list; returns once durable."""


async def _no_opt_out_list(account_id: AccountId, number: str) -> None:
    """Before the facade gives the desk its opt-out list: the STOP is only logged."""
    log.info("STOP from %s for account %d (no opt-out list)", number, account_id)


class InboundDesk:
    """Stateless but for its observers; shared by every sender of every connection."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.on_stop: OnStop = _no_opt_out_list
        """Where a STOP puts its sender (the facade sets it to the opt-out list)."""
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
        for account_id, number in stops:
            try:
                await self.on_stop(AccountId(account_id), number)
            except InvalidField:  # a sender no list can hold: the MO is kept all the same
                log.warning("STOP from %r for account %d: not a number", number, account_id)
                continue
            self.stops += 1
        self.received += len(messages)
        received = [InboundReceived(s, m) for s, m in zip(stored, messages, strict=True)]
        for observer in self.observers:
            observer(received)
