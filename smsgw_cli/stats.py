"""The load test's arithmetic: what one run measured, and its summary. Pure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` percentile (0 < q <= 100) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


@dataclass(slots=True)
class Tally:
    """What the sends of one run observed, filled as answers come back."""

    latencies_s: list[float] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    accepted: int = 0
    accepted_failed: int = 0
    messages: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    connections_opened: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    sends_s: float = 0.0


@dataclass(slots=True)
class Ending:
    """How the accepted messages ended: counted once none is pending, or when the
    wait ran out (`ended` false)."""

    ended: bool = False
    end_to_end_s: float = 0.0
    sent: int = 0
    failed: int = 0
    pending: int = 0


@dataclass(frozen=True, slots=True)
class Summary:
    """A run's closing figures, as the table and `--json` show them."""

    requested: int
    mode: str
    recipients_per_send: int
    connections: int
    tally: Tally
    ending: Ending

    def as_json(self) -> dict[str, Any]:
        t, e = self.tally, self.ending
        return {
            "envois": self.requested,
            "mode": self.mode,
            "destinatairesParEnvoi": self.recipients_per_send,
            "connexions": self.connections,
            "connexionsOuvertes": t.connections_opened,
            "simultanesMax": t.peak_in_flight,
            "acceptes": t.accepted,
            "acceptesEnEchec": t.accepted_failed,
            "erreurs": dict(sorted(t.errors.items())),
            "dureeEnvoisS": round(t.sends_s, 3),
            "acceptesParS": round(rate(t.accepted, t.sends_s), 1),
            "latenceMs": {
                "p50": round(percentile(t.latencies_s, 50) * 1000, 2),
                "p99": round(percentile(t.latencies_s, 99) * 1000, 2),
                "max": round(max(t.latencies_s, default=0.0) * 1000, 2),
            },
            "messages": t.messages,
            "envoyes": e.sent,
            "echecs": e.failed,
            "enAttente": e.pending,
            "termine": e.ended,
            "boutEnBoutS": round(e.end_to_end_s, 3),
            "envoyesParS": round(rate(e.sent, e.end_to_end_s), 1),
        }
