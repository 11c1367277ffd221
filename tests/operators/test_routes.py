"""Routing and failover without a network: three connections' dispatchers, a fake
store, binds that bind and drop through their links as a sender's do."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from engine.dispatch.message import OutMessage
from engine.dispatch.routes import Route, Routes
from engine.model import AccountId, MessageId, SendRef
from engine.text import encode_message, parse_sender

ENCODED = encode_message("Bonjour", 0)
SENDER = parse_sender("BANQUE")


class FakeStore:
    def __init__(self) -> None:
        self.messages = self
        self.attempts: list[tuple[list[int], str]] = []

    async def mark_attempt(
        self, message_ids: list[int], smsc: str = "", accounts: Any = ()
    ) -> set[int]:
        self.attempts.append((list(message_ids), smsc))
        return set()


def routes(*, failover: bool) -> Routes:
    return Routes(
        FakeStore(),  # type: ignore[arg-type]
        [Route("airtel", ("24107",), 1), Route("moov", ("24106",), 1),
         Route("libertis", ("24105",), 1)],
        default="airtel", failover=failover, channel_size=16,
    )


def message(number: int, destination: str) -> OutMessage:
    return OutMessage(MessageId(number), AccountId(1), SendRef(1), destination, SENDER, ENCODED)


def queued(r: Routes) -> dict[str, int]:
    return {name: c.dispatcher.backlog for name, c in r.connections.items()}


async def test_a_down_connection_hands_its_queue_to_the_default_first_then_the_others() -> None:
    r = routes(failover=True)
    links = {name: c.dispatcher.link(0) for name, c in r.connections.items()}
    links["moov"].lost([])  # moov failed to connect: down, nothing bound anywhere yet
    r.offer([message(1, "+24106000001"), message(2, "+24106000002")])
    assert queued(r) == {"airtel": 0, "moov": 2, "libertis": 0}  # no bound connection: waits

    links["libertis"].bound()
    assert queued(r) == {"airtel": 0, "moov": 0, "libertis": 2}  # the only one bound
    links["airtel"].bound()
    r.offer([message(3, "+24106000003")])
    assert queued(r) == {"airtel": 1, "moov": 0, "libertis": 2}  # the default first

    links["moov"].bound()  # back: its numbers go to it again
    r.offer([message(4, "+24106000004"), message(5, "+24105000005"), message(6, "+33612345678")])
    assert queued(r) == {"airtel": 2, "moov": 1, "libertis": 3}
    stats = {c.nom: c for c in r.connection_statistics()}
    assert stats["moov"].bascules == 3 and not stats["moov"].hors_ligne


async def test_without_failover_a_down_connection_keeps_its_queue() -> None:
    r = routes(failover=False)
    links = {name: c.dispatcher.link(0) for name, c in r.connections.items()}
    links["airtel"].bound()
    links["moov"].lost([])
    r.offer([message(1, "+24106000001")])
    assert queued(r) == {"airtel": 0, "moov": 1, "libertis": 0}
    stats = {c.nom: c for c in r.connection_statistics()}
    assert stats["moov"].hors_ligne and stats["moov"].bascule_vers is None


async def test_each_attempt_records_the_connection_it_leaves_on() -> None:
    r = routes(failover=False)
    store = next(iter(r.connections.values())).dispatcher._store
    async with trio.open_nursery() as nursery:
        for c in r.connections.values():
            c.dispatcher.link(0).bound()
            nursery.start_soon(c.dispatcher.serve)
        r.offer([message(1, "+24106000001"), message(2, "+24107000002"),
                 message(3, "+24105000003")])
        with trio.fail_after(5):
            await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert sorted(store.attempts) == [([1], "moov"), ([2], "airtel"), ([3], "libertis")]  # type: ignore[attr-defined]
