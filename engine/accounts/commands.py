"""Commands an `AccountActor` takes from its mailbox, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass

from engine.actor import Reply
from engine.store.messages import Outcome
from engine.text import EncodedMessage, SenderAddress
from engine.types import AccountType, SendRef, SendType, Statut


@dataclass(frozen=True, slots=True)
class SendDraft:
    """A validated send request, recipients already normalised."""

    type: SendType
    emetteur: str
    sender: SenderAddress
    corps: str
    encoded: EncodedMessage
    valid: tuple[str, ...]
    invalid: tuple[str, ...]
    doublons: int
    avertissements: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Accepted:
    """The answer to a send: what the API shows with 202."""

    ref: SendRef
    type: SendType
    statut: Statut
    segments: int
    encodage: str
    nb_destinataires: int
    doublons: int
    avertissements: tuple[str, ...]
    replayed: bool = False


class IdempotencyConflict(Exception):
    """The same Idempotency-Key was used with a different body."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    body_hash: str


@dataclass(frozen=True, slots=True)
class Submit:
    draft: SendDraft
    idempotency: Idempotency | None
    reply: Reply[Accepted]


@dataclass(frozen=True, slots=True)
class Settle:
    """Final outcomes of messages of this account (no answer)."""

    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True)
class TopUp:
    amount: int
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class ChangeType:
    new_type: AccountType
    reply: Reply[None]


@dataclass(frozen=True, slots=True)
class CloseInvoice:
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class SettleInvoice:
    invoice_id: int
    reply: Reply[None]


@dataclass(frozen=True, slots=True)
class SetRate:
    debit_max: float
    reply: Reply[None]


@dataclass(frozen=True, slots=True)
class GetSnapshot:
    reply: Reply[AccountSnapshot]


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    account_id: int
    type: str
    solde: int
    reserve: int
    consommation: int
    du: int
    mailbox: int
    in_flight: int
    debit_max: float


Command = Submit | Settle | TopUp | ChangeType | CloseInvoice | SettleInvoice | SetRate | GetSnapshot
