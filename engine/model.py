"""The domain model: the immutable types every layer shares.

Identifiers, the wire vocabulary (statuses, reasons, types), the ledger's values,
a send and its recipients as accepted, the answer a send gets, how a message
ended and a delivery receipt of one part. Owned by no actor; imports nothing of
the engine's (standard library only), so the API, the actors and every store
backend can speak it without importing one another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, NewType

AccountId = NewType("AccountId", int)
SendRef = NewType("SendRef", int)
MessageId = NewType("MessageId", int)


class AccountType(StrEnum):
    PREPAYE = "PREPAYE"
    POSTPAYE = "POSTPAYE"


class SendType(StrEnum):
    UNIDES = "UNIDES"
    MULDES = "MULDES"
    MULDESP = "MULDESP"


class Statut(StrEnum):
    EN_ATTENTE = "EN_ATTENTE"
    ENVOYE = "ENVOYE"
    ECHEC = "ECHEC"


class Raison(StrEnum):
    NUMERO_INVALIDE = "NUMERO_INVALIDE"
    SOLDE_INSUFFISANT = "SOLDE_INSUFFISANT"
    ERREUR_RESEAU = "ERREUR_RESEAU"
    REJET_SMSC = "REJET_SMSC"
    CAMPAGNE_EXPIREE = "CAMPAGNE_EXPIREE"
    ANNULE = "ANNULE"


class Livraison(StrEnum):
    LIVRE = "LIVRE"
    NON_LIVRE = "NON_LIVRE"
    EXPIRE = "EXPIRE"


def format_ref(ref: int) -> str:
    """A send's public reference: digits, zero-padded to at least 6."""
    return f"{ref:06d}"


def parse_ref(text: str) -> SendRef | None:
    """The inverse of `format_ref`; None when `text` is not a reference."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return SendRef(int(text))


# -- the ledger's values (its rules are in engine/accounts/state.py) ---------------------


class Billing(StrEnum):
    """How a message is billed, fixed when it is accepted."""

    PREPAYE = "PREPAYE"
    POSTPAYE = "POSTPAYE"


class EntryKind(StrEnum):
    CREDIT = "CREDIT"            # top-up: solde += amount
    RESERVATION = "RESERVATION"  # solde -> reserve
    DEBIT = "DEBIT"              # reserve -> debite
    LIBERATION = "LIBERATION"    # reserve -> solde
    CONSOMMATION = "CONSOMMATION"  # postpaid segments sent
    FACTURE = "FACTURE"          # consommation -> du
    REGLEMENT = "REGLEMENT"      # du settled
    TYPE = "TYPE"                # account type changed (amount 0, detail = new type)


@dataclass(frozen=True, slots=True)
class Entry:
    """One journal entry: what changed in a ledger, and why."""

    kind: EntryKind
    amount: int
    ref: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ledger:
    """One account's balances (see `engine.accounts.state` for what each holds)."""

    type: AccountType = AccountType.PREPAYE
    solde: int = 0
    reserve: int = 0
    debite: int = 0
    credite: int = 0
    consommation: int = 0
    du: int = 0

    @property
    def billing(self) -> Billing:
        return _BILLING[self.type]

    def plus(
        self,
        *,
        solde: int = 0,
        reserve: int = 0,
        debite: int = 0,
        credite: int = 0,
        consommation: int = 0,
        du: int = 0,
    ) -> Ledger:
        """This ledger with the amounts added (negative ones taken away). Built
        field by field: every send goes through it, and `dataclasses.replace` costs
        several times more."""
        return Ledger(
            self.type,
            self.solde + solde,
            self.reserve + reserve,
            self.debite + debite,
            self.credite + credite,
            self.consommation + consommation,
            self.du + du,
        )


_BILLING = {t: Billing(t.value) for t in AccountType}


# -- sends -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRecipient:
    """One recipient of a send as accepted: its status, and the credits held for it."""

    destinataire: str
    statut: Statut
    raison: Raison | None
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


# -- how messages end --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one message ended at the SMSC side."""

    message_id: MessageId
    ref: SendRef
    statut: Statut
    raison: Raison | None = None
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
