"""Commands an `AccountActor` takes from its mailbox, and what it answers.

`Accepted` and `Idempotency` are domain types (`engine.model`), named here too
for the modules that import them with the commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from engine.actor import Reply
from engine.dispatch.message import OutMessage
from engine.model import (
    Accepted,
    AccountType,
    Billing,
    Idempotency,
    NewSendRow,
    Outcome,
    SendRef,
    SendType,
)
from engine.store.writes import CampaignEnd, NewCampaign, WaveRecord
from engine.text import EncodedMessage, SenderAddress

__all__ = [
    "Accepted",
    "AccountSnapshot",
    "ChangeType",
    "CloseInvoice",
    "CloseInvoiceFor",
    "Command",
    "EndCampaign",
    "GetSnapshot",
    "Idempotency",
    "IdempotencyConflict",
    "OpenCampaign",
    "ReserveWave",
    "SendDraft",
    "SetControls",
    "SetRate",
    "Settle",
    "SettleInvoice",
    "Submit",
    "TopUp",
]


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
    desinscrits: tuple[str, ...] = ()
    """Recipients on the account's opt-out list (taken out of `valid`): they end
    ECHEC / DESINSCRIT, never sent, never charged."""

    def without(self, opted_out: frozenset[str]) -> SendDraft:
        """The draft with the recipients of `opted_out` moved to `desinscrits`."""
        if not opted_out:
            return self
        return dataclasses.replace(
            self,
            valid=tuple(n for n in self.valid if n not in opted_out),
            desinscrits=tuple(n for n in self.valid if n in opted_out),
        )




class IdempotencyConflict(Exception):
    """The same Idempotency-Key was used with a different body."""


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
class SetControls:
    """Suspend or reactivate the account and/or set its sender names (None:
    unchanged); `journal` says who did it. Sends decided after the commit obey
    the new controls."""

    actif: bool | None
    emetteurs: tuple[str, ...] | None
    journal: str
    reply: Reply[None]


@dataclass(frozen=True, slots=True)
class CloseInvoiceFor:
    """Close the postpaid period for the monthly close `periode` (an invoice,
    even of 0). Answers the invoice id, or None when the account is not postpaid
    (then nothing is written)."""

    periode: str
    reply: Reply[int | None]


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
    under the account's current type and writes `campaign`, the campaign's own row,
    in the same transaction. Answered after the commit."""

    row: NewSendRow
    accepted: Accepted
    campaign: NewCampaign
    idempotency: Idempotency | None
    reply: Reply[Accepted]


@dataclass(frozen=True, slots=True)
class ReserveWave:
    """Release the next wave of a campaign: prepaid, reserve `segments` credits per
    message for the longest prefix of `wave` the balance covers (all of it when
    postpaid); `record(covered)` gives the slot's record, written in the same
    transaction (a pure function of how many were covered: the campaign's progress
    is the scheduler's to compute). After the commit the covered messages go to the
    dispatcher and the reply carries how many were covered."""

    ref: SendRef
    wave: tuple[OutMessage, ...]
    billing: Billing
    segments: int
    record: Callable[[int], WaveRecord]
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class EndCampaign:
    """End a campaign's recipients that were never released (ECHEC with the
    outcomes' reason, nothing charged), with `end` recording the campaign's end
    in the same transaction. Answered after the commit."""

    outcomes: tuple[Outcome, ...]
    end: CampaignEnd
    reply: Reply[None]


Command = (
    Submit | Settle | TopUp | ChangeType | CloseInvoice | SettleInvoice | SetRate | GetSnapshot
    | OpenCampaign | ReserveWave | EndCampaign | SetControls | CloseInvoiceFor
)
