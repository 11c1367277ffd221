"""Status callbacks: every final status and delivery receipt POSTed, signed, to the
send's or the account's `urlRappel` (contract section 11), from a durable outbox
in the store, without ever holding up dispatch."""

from __future__ import annotations

from engine.callbacks.guard import forbidden, well_formed
from engine.callbacks.notifier import CallbackNotifier, CallbackStatistics
from engine.callbacks.signing import SIGNATURE_HEADER, new_secret, sign, verify

__all__ = [
    "CallbackNotifier",
    "CallbackStatistics",
    "SIGNATURE_HEADER",
    "forbidden",
    "new_secret",
    "sign",
    "verify",
    "well_formed",
]
