"""A bind's state and mode as the operator snapshot and the metrics show them.

The enums' values are the operator JSON's words (`liaisons[].state`,
`liaisons[].mode`); the member names are what the code calls them.
"""

from __future__ import annotations

from enum import StrEnum


class BindState(StrEnum):
    """Where one bind's connection stands."""

    DISCONNECTED = "DECONNECTE"
    """No connection: waiting out the reconnect backoff, or never connected yet."""
    CONNECTING = "CONNEXION"
    """Opening the TCP connection or waiting for the bind's answer."""
    BOUND = "LIE"
    """Bound as transceiver: submits may leave."""


class BindMode(StrEnum):
    """How many submits a bound bind keeps outstanding (`engine.dispatch.policy.pacing`)."""

    WINDOW = "FENETRE"
    """The window is open: up to the configured window size."""
    PROBE = "SONDE"
    """A new connection's probe: one at a time."""
    ONE_AT_A_TIME = "UN_A_UN"
    """One at a time, under an SMSC cap met while probing."""
