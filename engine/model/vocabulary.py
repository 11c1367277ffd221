"""Identifiers and the wire vocabulary: account, send and message ids, a send's
public reference, and the statuses, reasons and types the API's JSON spells in
French. Standard library only."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

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


class MessageStatus(StrEnum):
    EN_ATTENTE = "EN_ATTENTE"
    ENVOYE = "ENVOYE"
    ECHEC = "ECHEC"


class Reason(StrEnum):
    NUMERO_INVALIDE = "NUMERO_INVALIDE"
    SOLDE_INSUFFISANT = "SOLDE_INSUFFISANT"
    ERREUR_RESEAU = "ERREUR_RESEAU"
    REJET_SMSC = "REJET_SMSC"
    CAMPAGNE_EXPIREE = "CAMPAGNE_EXPIREE"
    ANNULE = "ANNULE"
    DESINSCRIT = "DESINSCRIT"
    """The recipient is on the account's opt-out list: never sent, never charged."""


class Delivery(StrEnum):
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
