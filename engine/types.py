"""Identifiers and wire vocabulary shared by the engine and the API.

They are defined in `engine.model` (the domain model); this module names them
for the modules that import them from here.
"""

from __future__ import annotations

from engine.model import (
    AccountId,
    AccountType,
    Livraison,
    MessageId,
    Raison,
    SendRef,
    SendType,
    Statut,
    format_ref,
    parse_ref,
)

__all__ = [
    "AccountId",
    "AccountType",
    "Livraison",
    "MessageId",
    "Raison",
    "SendRef",
    "SendType",
    "Statut",
    "format_ref",
    "parse_ref",
]
