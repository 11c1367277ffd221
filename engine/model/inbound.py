"""Inbound messages (mobile-originated, MO) and the numbers accounts receive them on
(pure: standard library only)."""

from __future__ import annotations

from dataclasses import dataclass

STOP_WORD = "STOP"
"""An inbound text that is this word (trimmed, any case) opts its sender out."""

MAX_INBOUND_NUMBER = 21
"""The longest destination_addr SMPP 3.4 carries (a 21-octet C-octet string)."""


def inbound_key(number: str) -> str:
    """How an inbound number or short code is matched: without spaces and without
    a leading `+` (an SMSC gives international numbers as bare digits)."""
    return number.strip().replace(" ", "").removeprefix("+")


def is_stop(corps: str) -> bool:
    """The text asks to stop receiving messages."""
    return corps.strip().upper() == STOP_WORD


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One MO as it arrived: `emetteur` the subscriber, `destinataire` the short
    code or number it was sent to, `corps` its text, `recu_le` when, `smsc` the
    connection it came in on."""

    emetteur: str
    destinataire: str
    corps: str
    recu_le: str
    smsc: str

    @property
    def stop(self) -> bool:
        return is_stop(self.corps)


@dataclass(frozen=True, slots=True)
class InboundView:
    """A stored MO, as the account's list (or the operators') shows it."""

    id: int
    account_id: int | None
    emetteur: str
    destinataire: str
    corps: str
    recu_le: str
    smsc: str


@dataclass(frozen=True, slots=True)
class InboundStored:
    """What storing an MO did: its id and its owner (None: no known number)."""

    id: int
    account_id: int | None
