"""The dispatch as the operator snapshot and the metrics show it (pure: no trio,
no socket): a bind's state and mode (wire vocabulary), and the records the
dispatcher, each bind's channel and each bind's sender report from `statistics()`.

The enums' values are the operator JSON's words (`liaisons[].state`,
`liaisons[].mode`); the member names are what the code calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class SenderStatistics:
    """One bind's sender, as `SmppSender.statistics` reports it (`liaisons[]`)."""

    index: int
    state: BindState
    window_used: int
    window_size: int
    """Submits that may be outstanding now: 1 while the bind probes or keeps under a
    cap it met when probing, else the configured window."""
    mode: BindMode
    """The window open, probing, or one at a time under a cap met when probing."""
    submitted: int
    accepted: int
    retries: int
    throttled: int
    failed: int
    reconnects: int
    receipts: int
    waiting: int
    rate_limit_per_s: float | None
    last_error: str
    channel_used: int
    """Messages in this bind's channel, not yet taken."""
    channel_size: int
    outstanding: int
    """Messages handed to this bind and not finished (channel, window, retries)."""
    accounts: int
    """Accounts whose messages are on this bind."""


@dataclass(frozen=True, slots=True)
class DispatcherStatistics:
    """The dispatcher, as `Dispatcher.statistics` reports it (`repartiteur`)."""

    backlog: int
    accounts_waiting: int
    rate_limited: int
    dispatched: int
    given_back: int
    channel_used: int
    """Messages in the binds' channels, all binds together."""
    channel_size: int
    """The binds' channels' capacity, all binds together."""
    binds_up: int


@dataclass(frozen=True, slots=True)
class BindStatistics:
    """One bind's channel and what is outstanding on it (`BindLink.statistics`)."""

    channel_used: int
    channel_size: int
    outstanding: int
    """Messages handed to this bind and not finished (channel, window, retries)."""
    accounts: int
    """Accounts whose messages are on this bind."""
