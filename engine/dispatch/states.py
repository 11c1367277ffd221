"""The dispatch as the operator snapshot and the metrics show it (pure: no trio,
no socket): the records the dispatcher, each bind's channel and each bind's sender
report from `statistics()`.

A bind's state and mode (`BindState`, `BindMode`, wire vocabulary) are the domain
model's (`engine.model.dispatch`), named here too for the modules that import them
with the records.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model.dispatch import BindMode, BindState


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
    pdus_refused: int
    """PDUs from the SMSC refused (a field or TLV over SMPP 3.4's size, an
    undecodable body, a request the bind's state forbids); a refused request is
    answered with its error status, a refused response only counted."""
    last_refusal: str
    """Why the last of them was refused ("" until one)."""
    channel_used: int
    """Messages in this bind's channel, not yet taken."""
    channel_size: int
    outstanding: int
    """Messages handed to this bind and not finished (channel, window, retries)."""
    accounts: int
    """Accounts whose messages are on this bind."""
    smsc: str = "defaut"
    """The SMSC connection this bind belongs to."""
    inbound: int = 0
    """Inbound messages (MO) received and stored."""


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


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """One SMSC connection (`connexions[]`): its binds, its cap and throughput,
    what it sent and failed, and where its recipients go while it is down."""

    nom: str
    prefixes: tuple[str, ...]
    defaut: bool
    """Numbers that no prefix matches go here."""
    liaisons: int
    liees: int
    """Binds bound now."""
    debit_max_par_s: int
    """`max_rate`: submit_sm per second across its binds; 0: none."""
    debit_par_s: int
    """submit_sm over the last second, all its binds together."""
    soumis: int
    acceptes: int
    echecs: int
    erreurs: int
    """Connections lost or refused (reconnects), all its binds together."""
    en_attente: int
    """Messages queued for this connection, not yet handed to a bind."""
    hors_ligne: bool
    """No bind bound, and one dropped or failed since it was last bound."""
    bascule_vers: str | None
    """While it is down with failover on: the connection its recipients go through."""
    bascules: int
    """Recipients handed to another connection because this one was down."""
