"""Counters of the simulator, the record of an accepted submit, and the frozen record
`Simulator.statistics()` returns.

Everything here is plain Python, mutated from the simulator's single trio thread;
times are passed in (seconds, from `trio.current_time()`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, NamedTuple

BIND_MODES = ("transmitter", "receiver", "transceiver")


class SubmittedMessage(NamedTuple):
    """One accepted submit_sm (or data_sm). `short_message` is the raw octets (UDH
    included; the message_payload TLV when short_message was empty); `time` is the
    wall clock (Unix seconds); `connection` numbers connections in accept order."""

    message_id: str
    source: str
    destination: str
    short_message: bytes
    data_coding: int
    esm_class: int
    registered_delivery: int
    time: float
    connection: int
    validity_period: str = ""
    """As the ESME sent it (SMPP 3.4 time format), empty when it set none."""


class RateMeter:
    """Events per whole second over the last `span_s` seconds; `rate(now, w)` is the
    mean over the `w` complete seconds before the current one."""

    __slots__ = ("_counts", "_second", "_span")

    def __init__(self, span_s: int = 11) -> None:
        self._span = span_s
        self._counts = [0] * span_s
        self._second = 0

    def _advance(self, second: int) -> None:
        if second <= self._second:
            return
        for gone in range(self._second + 1, min(second, self._second + self._span) + 1):
            self._counts[gone % self._span] = 0
        self._second = second

    def add(self, now_s: float, count: int = 1) -> None:
        second = int(now_s)
        if second != self._second:
            self._advance(second)
        self._counts[second % self._span] += count

    def rate(self, now_s: float, window_s: int) -> float:
        second = int(now_s)
        self._advance(second)
        window_s = min(window_s, self._span - 1)
        total = sum(self._counts[(second - back) % self._span] for back in range(1, window_s + 1))
        return total / window_s


class LatencyReservoir:
    """The last `size` submit latencies, in milliseconds."""

    __slots__ = ("samples",)

    def __init__(self, size: int = 20_000) -> None:
        self.samples: deque[float] = deque(maxlen=size)

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p90, p99 (nearest rank); zeros when empty."""
        if not self.samples:
            return (0.0, 0.0, 0.0)
        ordered = sorted(self.samples)
        last = len(ordered) - 1
        return tuple(  # type: ignore[return-value]
            round(ordered[min(last, int(q * len(ordered)))], 3) for q in (0.5, 0.9, 0.99)
        )


class DuplicateDetector:
    """Remembers the last `capacity` accepted (destination, short_message, source)
    keys; `seen(key)` is True when the key was already remembered."""

    __slots__ = ("_capacity", "_counts", "_order")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._order: deque[int] = deque()
        self._counts: dict[int, int] = {}

    def seen(self, key: tuple[str, bytes, str]) -> bool:
        digest = hash(key)
        counts = self._counts
        previous = counts.get(digest, 0)
        counts[digest] = previous + 1
        self._order.append(digest)
        if len(self._order) > self._capacity:
            old = self._order.popleft()
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
        return previous > 0

    def clear(self) -> None:
        self._order.clear()
        self._counts.clear()


class Counters:
    """The mutable counters behind `statistics()`; `reset()` zeroes them all."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.connections_total = 0
        self.connections_refused = 0
        self.binds_total: Counter[str] = Counter()
        self.bind_failures = 0
        self.pdus_in: Counter[str] = Counter()
        self.pdus_out: Counter[str] = Counter()
        self.pdus_refused = 0
        self.submit_accepted = 0
        self.submit_rejected: Counter[int] = Counter()
        self.message_ids_issued = 0
        self.receipts_sent = 0
        self.receipts_acknowledged = 0
        self.receipts_refused = 0
        self.receipts_unacknowledged = 0
        self.receipts_dropped = 0
        self.duplicates = 0
        self.mo_sent = 0
        self.mo_acknowledged = 0
        self.mo_refused = 0
        self.submit_meter = RateMeter()
        self.accept_meter = RateMeter()
        self.receipt_meter = RateMeter()
        self.latency = LatencyReservoir()


@dataclass(frozen=True, slots=True)
class SimulatorStatistics:
    """A snapshot of the counters (since start or the last reset).

    Rates are per second: `_1s` over the last complete second, `_10s` the mean over the
    last ten. `pdus_refused`: PDUs answered with an error status for what they hold
    (an undecodable body, a field or TLV over SMPP 3.4's size). Submit latency is
    from reading a submit_sm to queueing its response, over the last 20,000 submits.
    Receipts: sent (deliver_sm written), acknowledged (a
    deliver_sm_resp came back, any status), refused (that resp had a non-zero status),
    unacknowledged (connection closed first; such receipts are delivered again),
    awaiting (sent, no resp yet), scheduled (waiting for their delay), held (no
    receiver bound yet), dropped (held beyond `held_receipts_max`).
    """

    connections_current: int
    connections_total: int
    connections_refused: int
    binds_current: dict[str, int]
    binds_total: dict[str, int]
    bind_failures: int
    pdus_in: dict[str, int]
    pdus_out: dict[str, int]
    pdus_refused: int
    submit_accepted: int
    submit_rejected: dict[str, int]
    message_ids_issued: int
    receipts_sent: int
    receipts_acknowledged: int
    receipts_refused: int
    receipts_unacknowledged: int
    receipts_awaiting: int
    receipts_scheduled: int
    receipts_held: int
    receipts_dropped: int
    duplicates: int
    mo_sent: int
    """Inbound messages (MO) sent with `POST /mo`; acknowledged: a deliver_sm_resp came
    back (any status); refused: that resp had a non-zero status."""
    mo_acknowledged: int
    mo_refused: int
    submit_rate_1s: float
    submit_rate_10s: float
    accepted_rate_1s: float
    accepted_rate_10s: float
    receipt_rate_1s: float
    receipt_rate_10s: float
    submit_latency_p50_ms: float
    submit_latency_p90_ms: float
    submit_latency_p99_ms: float
    stalled: bool

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
