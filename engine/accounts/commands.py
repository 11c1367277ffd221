"""Commands an `AccountActor` takes from its mailbox, and what it answers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from engine.accounts.state import Billing
from engine.actor import Reply
from engine.dispatch.message import OutMessage
from engine.store.messages import NewSendRow, Outcome
from engine.text import EncodedMessage, SenderAddress
from engine.types import AccountType, MessageId, SendRef, SendType, Statut


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

    def with_ref(self, ref: SendRef) -> Accepted:
        """The same answer under the send's reference (known once stored)."""
        return Accepted(
            ref, self.type, self.statut, self.segments, self.encodage,
            self.nb_destinataires, self.doublons, self.avertissements, self.replayed,
        )


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
    jetons: float = 0.0
    """Sends the rate bucket allows right now."""


@dataclass(frozen=True, slots=True)
class OpenCampaign:
    """Record a scheduled campaign: its send and every recipient, nothing reserved
    (credits are reserved slot by slot with `ReserveWave`). The actor bills the send
    under the account's current type; `setup(conn, ref, first_message_id)` writes the
    campaign's own rows in the same transaction. Answered after the commit."""

    row: NewSendRow
    accepted: Accepted
    setup: Callable[[sqlite3.Connection, SendRef, MessageId], None]
    idempotency: Idempotency | None
    reply: Reply[Accepted]


@dataclass(frozen=True, slots=True)
class ReserveWave:
    """Release the next wave of a campaign: prepaid, reserve `segments` credits per
    message for the longest prefix of `wave` the balance covers (all of it when
    postpaid); `progress(conn, covered)` records the slot in the same transaction.
    After the commit the covered messages go to the dispatcher and the reply
    carries how many were covered."""

    ref: SendRef
    wave: tuple[OutMessage, ...]
    billing: Billing
    segments: int
    progress: Callable[[sqlite3.Connection, int], None]
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class EndCampaign:
    """End a campaign's recipients that were never released (ECHEC with the
    outcomes' reason, nothing charged), with `write` recording the campaign's end
    in the same transaction. Answered after the commit."""

    outcomes: tuple[Outcome, ...]
    write: Callable[[sqlite3.Connection], None]
    reply: Reply[None]


Command = (
    Submit | Settle | TopUp | ChangeType | CloseInvoice | SettleInvoice | SetRate | GetSnapshot
    | OpenCampaign | ReserveWave | EndCampaign
)
