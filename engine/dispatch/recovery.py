"""Queue again, after a restart, messages the store holds as waiting.

Shared by the engine's start-up (single and bulk sends) and the campaign
scheduler (released waves). A message with an attempt on record may have reached
the SMSC before the stop: it is flagged `doublon_possible` in the store before it
is offered again (at-least-once, never hidden).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from engine.dispatch.message import OutMessage
from engine.model import AccountId, MessageId, SendRef, WaitingMessage
from engine.store import Store
from engine.text import EncodedMessage, SenderAddress, encode_message, parse_sender


class Accounts(Protocol):
    async def wake(self, account_id: AccountId) -> None:
        """Start the account's actor if it is not running."""


class Outlet(Protocol):
    def offer(self, messages: Sequence[OutMessage]) -> None: ...


def waiting_messages(rows: Iterable[WaitingMessage]) -> tuple[list[OutMessage], list[MessageId]]:
    """The messages to offer again, and the ids of those that may have been sent."""
    texts: dict[int, tuple[SenderAddress, EncodedMessage]] = {}
    out: list[OutMessage] = []
    retried: list[MessageId] = []
    for row in rows:
        mid, account_id, ref, number, attempts, flagged, emetteur, corps, priority = row[:9]
        if ref not in texts:
            texts[ref] = (parse_sender(emetteur), encode_message(corps, 0))
        sender, encoded = texts[ref]
        if attempts:
            retried.append(MessageId(mid))
        out.append(
            OutMessage(
                message_id=MessageId(mid),
                account_id=AccountId(account_id),
                ref=SendRef(ref),
                destination=number,
                sender=sender,
                encoded=encoded,
                priority=bool(priority),
                attempts=attempts,
                possible_duplicate=bool(attempts) or bool(flagged),
                expires_at=row.expires_at,
            )
        )
    return out, retried


async def requeue(
    rows: Iterable[WaitingMessage], *, store: Store, accounts: Accounts, outlet: Outlet
) -> tuple[int, int]:
    """Flag possible duplicates, start each account's actor (which hands the
    dispatcher its rate bucket), offer the messages; return (queued, possibly sent)."""
    out, retried = waiting_messages(rows)
    if retried:
        await store.messages.flag_possible_duplicates(retried)
    for account_id in {m.account_id for m in out}:
        await accounts.wake(account_id)
    if out:
        outlet.offer(out)
    return len(out), len(retried)
