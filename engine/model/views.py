"""The records the store reads back and the API shows: a send with its counts, a
message of a send, a message as a status callback reports it, an account with its
ledger, an API key's record, a journal entry and an invoice. Plain values: the
queries that fill them are the store's (`engine.store.reads`,
`engine.store.accounts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.model.ledger import Entry, Ledger
from engine.model.vocabulary import AccountId, AccountType


@dataclass(frozen=True, slots=True)
class SendView:
    """A stored send as `GET /api/V1/sms/{ref}` shows it: its fields, and how many
    of its messages are in each status (`compteurs`, with LIVRE for the delivered)."""

    ref: int
    account_id: int
    type: str
    emetteur: str
    corps: str
    encodage: str
    segments: int
    nb_destinataires: int
    doublons: int
    avertissements: list[str]
    campagne: dict[str, Any] | None
    cree_le: str
    compteurs: dict[str, int]
    reference: str | None = None
    url_rappel: str | None = None
    validite: int | None = None
    priorite: str | None = None
    date_envoi: str | None = None

    @property
    def statut(self) -> str:
        """EN_ATTENTE while any recipient is pending; then ENVOYE if one was sent."""
        if self.compteurs["EN_ATTENTE"]:
            return "EN_ATTENTE"
        return "ENVOYE" if self.compteurs["ENVOYE"] else "ECHEC"


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message of a send, as a page of its messages lists it."""

    id: int
    destinataire: str
    statut: str
    raison: str | None
    code_smsc: int | None
    envoye_le: str | None
    livraison: str | None
    livre_le: str | None
    doublon_possible: bool
    reference: str | None = None
    smsc: str | None = None
    """The SMSC connection it left on (its last attempt's); None before any."""


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """A callback event waiting in the outbox: where it goes, signed with which
    secret, how old it is and how often it was tried, and the message it
    reports as committed when read."""

    id: int
    account_id: int
    url: str
    type: str
    cree_le: float
    tentatives: int
    secret: str
    ref: int
    destinataire: str
    statut: str
    raison: str | None
    code_smsc: int | None
    envoye_le: str | None
    livraison: str | None
    livre_le: str | None
    doublon_possible: bool
    reference: str | None
    smsc: str | None = None
    emetteur: str | None = None
    """ENTRANT: the subscriber who sent the inbound message."""
    corps: str | None = None
    """ENTRANT: its text."""
    recu_le: str | None = None
    """ENTRANT: when it arrived."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account as stored: who it is, its settings and its ledger."""

    id: AccountId
    nom: str
    email: str | None
    password_hash: str | None
    debit_max: float
    url_rappel: str | None
    initial_type: AccountType
    ledger: Ledger
    periode_debut: str
    cree_le: str
    actif: bool = True
    """False while the account is suspended: its sends are refused."""
    emetteurs: tuple[str, ...] = ()
    """The sender names the account may use (empty: any valid sender)."""


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An API key as stored: its account, its digest, when it expires and whether
    it was revoked; its id and name."""

    account_id: AccountId
    key_hash: str
    expire_le: str
    revoque_le: str | None
    id: int = 0
    nom: str = ""


@dataclass(frozen=True, slots=True)
class KeyView:
    """A live API key as its owner sees it: never the key, only its first 8
    characters (`prefixe`), its name, when it was made, when it expires and when
    it was last used (to the minute; None: never)."""

    id: int
    nom: str
    prefixe: str
    cree_le: str
    expire_le: str
    utilise_le: str | None


@dataclass(frozen=True, slots=True)
class OptOutRow:
    """A number on an account's opt-out list: its id (the page cursor), the number
    (normalised like a recipient), who put it there (`source`: API, ESPACE, STOP,
    ADMIN...) and when."""

    id: int
    numero: str
    source: str
    cree_le: str


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One entry of an account's journal, with its id (the page cursor) and its time."""

    id: int
    entry: Entry
    at: str


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """A postpaid invoice: its period, what it bills, and when it was settled."""

    id: int
    account_id: AccountId
    debut: str
    fin: str
    nb_sms: int
    montant: int
    regle_le: str | None
