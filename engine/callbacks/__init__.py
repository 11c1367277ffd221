"""Status callbacks: every status or delivery change POSTed, signed, to the
account's `urlRappel` (contract section 4), without ever holding up dispatch."""

from __future__ import annotations

from engine.callbacks.notifier import CallbackNotifier, CallbackStatistics
from engine.callbacks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, secret_for_key, sign

__all__ = [
    "CallbackNotifier",
    "CallbackStatistics",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "secret_for_key",
    "sign",
]
