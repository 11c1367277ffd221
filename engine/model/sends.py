"""A send from acceptance to its end: the send and its recipients as accepted,
the Idempotency-Key it came with, the answer it gets, a message waiting after a
restart, how a message ended, what a batch of outcomes does to a ledger, and a
delivery receipt of one part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from engine.model.ledger import Billing, Entry, Ledger
from engine.model.vocabulary import (
    AccountId,
    MessageId,
    MessageStatus,
    Priority,
    Reason,
    SendRef,
    SendType,
)


@dataclass(frozen=True, slots=True)
class SendOptions:
    """What an integrator may set on a send (contract section 10): its own
    `reference`, a callback URL for this send (`url_rappel`), a validity in minutes
    (`validite`: not accepted by the SMSC in time, a recipient ends EXPIRE), a
    `priorite`, and a deferred departure (`date_envoi`, ISO 8601 UTC)."""

    reference: str | None = None
    url_rappel: str | None = None
    validite: int | None = None
    priorite: Priority = Priority.NORMALE
    date_envoi: str | None = None

    @property
    def urgent(self) -> bool:
        return self.priorite is Priority.HAUTE

    def expires_at(self, accepted_at: str) -> float | None:
        """When a recipient not yet accepted by the SMSC ends EXPIRE (POSIX
        seconds): `validite` minutes after `date_envoi`, or after acceptance."""
        return expiry(self.validite, self.date_envoi or accepted_at)


def expiry(validite: int | None, start: str) -> float | None:
    """`validite` minutes after the ISO 8601 time `start`, in POSIX seconds."""
    if validite is None:
        return None
    return datetime.fromisoformat(start).timestamp() + 60 * validite


NO_OPTIONS = SendOptions()


class NewRecipient(NamedTuple):
    """One recipient of a send as accepted: its status, and the credits held for it.

    A named tuple: a bulk send makes one per recipient, at a third of a frozen
    dataclass's cost."""

    destinataire: str
    statut: MessageStatus
    raison: Reason | None
    reserve: int


@dataclass(frozen=True, slots=True)
class NewSendRow:
    """A send as accepted, with its recipients in list order (their message ids are
    consecutive in that order once stored)."""

    account_id: AccountId
    type: str
    emetteur: str
    corps: str
    encodage: str
    segments: int
    billing: Billing
    doublons: int
    avertissements: tuple[str, ...]
    recipients: Sequence[NewRecipient]
    cree_le: str
    campagne: dict[str, object] | None = None
    options: SendOptions = NO_OPTIONS


@dataclass(frozen=True, slots=True)
class Idempotency:
    """The Idempotency-Key of a request and the digest of its body."""

    key: str
    body_hash: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """The answer to a send: what the API shows with 202."""

    ref: SendRef
    type: SendType
    statut: MessageStatus
    segments: int
    encodage: str
    nb_destinataires: int
    doublons: int
    avertissements: tuple[str, ...]
    replayed: bool = False

    def with_ref(self, ref: SendRef) -> Accepted:
        """The same answer under the send's reference (known once stored)."""
        return Accepted(
            ref, self.type, self.statut, self.segments, self.encodage,
            self.nb_destinataires, self.doublons, self.avertissements, self.replayed,
        )


class WaitingMessage(NamedTuple):
    """A message still EN_ATTENTE as stored, to queue again after a restart: its
    attempts on record, whether it is already flagged a possible duplicate, its
    send's sender and body, and whether it goes ahead of bulk (a single send)."""

    message_id: int
    account_id: int
    ref: int
    destinataire: str
    tentatives: int
    doublon_possible: bool
    emetteur: str
    corps: str
    priority: bool
    expires_at: float | None = None
    """When an unsent message ends EXPIRE (POSIX seconds), if its send has a validity."""
    date_envoi: str | None = None
    """A deferred send's departure (ISO 8601 UTC), None when it left at acceptance."""


# -- how messages end --------------------------------------------------------------------


class Outcome(NamedTuple):
    """How one message ended at the SMSC side.

    A named tuple: one is made for every message that ends, at a third of a frozen
    dataclass's cost."""

    message_id: MessageId
    ref: SendRef
    statut: MessageStatus
    raison: Reason | None = None
    code_smsc: int | None = None
    smsc_ids: tuple[str, ...] = ()
    at: str = ""
    doublon_possible: bool = False


PendingCharge = tuple[str, int, int]
"""What a message still EN_ATTENTE holds: (its `Billing` value, its segments, the
credits reserved for it). A plain tuple: one is read per settled message."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a batch of outcomes does to a ledger: the new ledger, the journal
    entries that explain it, and the outcomes that ended a message (in order;
    those of messages no longer waiting are left out)."""

    ledger: Ledger
    entries: tuple[Entry, ...]
    settled: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True)
class PartReceipt:
    """The receipt of one part, matched: `smsc_id` normalised, `parts` the number
    of parts (SMSC ids) of its message."""

    smsc_id: str
    message_id: int
    ref: int
    parts: int
    livraison: str
    at: str
