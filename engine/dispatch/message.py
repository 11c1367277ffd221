"""What travels from an account to the SMSC: one recipient of one send."""

from __future__ import annotations

from dataclasses import dataclass

from engine.text import EncodedMessage, SenderAddress
from engine.types import AccountId, MessageId, SendRef


@dataclass(slots=True)
class OutMessage:
    """One recipient's message, ready to be submitted.

    `encoded` is shared by every recipient of a send; the sender stamps each
    recipient's own concatenation reference into a copy of the parts.
    `attempts` counts submits that may have reached the SMSC (persisted before
    each one), so a message resent after a crash is known to be a possible duplicate.
    """

    message_id: MessageId
    account_id: AccountId
    ref: SendRef
    destination: str
    sender: SenderAddress
    encoded: EncodedMessage
    priority: bool = False
    attempts: int = 0
    possible_duplicate: bool = False
    retries: int = 0
    part_ids: list[str | None] | None = None
    """The SMSC's message id of each part already accepted (None: still to send)."""
    done: bool = False
    udh_reference: int | None = None
    """The concatenation reference of this recipient's parts, drawn at first submit."""
