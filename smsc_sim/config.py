"""The simulator's settings: where it listens, who may bind, and how it behaves.

`SimulatorSettings` is fixed at start; its nested `Behaviour` can be replaced while
the simulator runs (`Simulator.configure`, `PATCH /config`). Everything here is a
frozen value; parsing and validation of user input lives in `smsc_sim.knobs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.smpp.constants import MessageState, Status


class DistributionKind(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    LOGNORMAL = "lognormal"


@dataclass(frozen=True, slots=True)
class Distribution:
    """A delay in milliseconds: fixed `fixed_ms`, uniform in [`min_ms`, `max_ms`], or
    log-normal with median `median_ms` and shape `sigma` (of the underlying normal)."""

    kind: DistributionKind = DistributionKind.FIXED
    fixed_ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    median_ms: float = 0.0
    sigma: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.kind is DistributionKind.FIXED and self.fixed_ms == 0.0

    def describe(self) -> str:
        """The compact text form accepted by `knobs.parse_distribution`."""
        if self.kind is DistributionKind.FIXED:
            return f"fixed:{self.fixed_ms:g}"
        if self.kind is DistributionKind.UNIFORM:
            return f"uniform:{self.min_ms:g},{self.max_ms:g}"
        return f"lognormal:{self.median_ms:g},{self.sigma:g}"


class Outcome(StrEnum):
    """Final states a delivery receipt can report (the `stat:` field)."""

    DELIVRD = "DELIVRD"
    UNDELIV = "UNDELIV"
    EXPIRED = "EXPIRED"
    REJECTD = "REJECTD"


OUTCOME_STATE: dict[Outcome, MessageState] = {
    Outcome.DELIVRD: MessageState.DELIVERED,
    Outcome.UNDELIV: MessageState.UNDELIVERABLE,
    Outcome.EXPIRED: MessageState.EXPIRED,
    Outcome.REJECTD: MessageState.REJECTED,
}

OUTCOME_ERR: dict[Outcome, int] = {
    Outcome.DELIVRD: 0,
    Outcome.UNDELIV: 1,
    Outcome.EXPIRED: 2,
    Outcome.REJECTD: 3,
}


@dataclass(frozen=True, slots=True)
class ReceiptMix:
    """Relative weights of receipt outcomes (non-negative, not all zero)."""

    delivrd: float = 1.0
    undeliv: float = 0.0
    expired: float = 0.0
    rejectd: float = 0.0

    def weights(self) -> tuple[tuple[Outcome, float], ...]:
        return (
            (Outcome.DELIVRD, self.delivrd),
            (Outcome.UNDELIV, self.undeliv),
            (Outcome.EXPIRED, self.expired),
            (Outcome.REJECTD, self.rejectd),
        )


@dataclass(frozen=True, slots=True)
class PrefixRule:
    """For destinations starting with `prefix` (compared with destination_addr exactly
    as sent): answer `status` if set, and/or use `latency` instead of the global one."""

    prefix: str
    status: int | None = None
    latency: Distribution | None = None


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The live knobs. Every field can change while the simulator runs.

    - `latency`: delay before each submit_sm_resp.
    - `throughput_cap_per_s`: accepted submit_sm per second and per bind (a token
      bucket holding one second's worth); beyond it ESME_RTHROTTLED. 0 = no cap.
    - `window_size`: submit_sm whose response is still pending (waiting for its
      latency) per bind; one more is answered ESME_RMSGQFUL. 0 = no limit.
    - `error_rate`: probability (0..1) that an otherwise accepted submit_sm is
      answered `error_status`.
    - `rules`: first matching destination prefix wins.
    - `receipts`: send delivery receipts when registered_delivery asks for them.
    - `receipt_delay`: from the submit_sm_resp to the deliver_sm.
    - `receipt_mix`: outcome weights.
    - `seed`: makes the random draws repeatable (per connection, in bind order).
    """

    latency: Distribution = field(default_factory=Distribution)
    throughput_cap_per_s: float = 0.0
    window_size: int = 0
    error_rate: float = 0.0
    error_status: int = Status.ESME_RSYSERR
    rules: tuple[PrefixRule, ...] = ()
    receipts: bool = True
    receipt_delay: Distribution = field(default_factory=Distribution)
    receipt_mix: ReceiptMix = field(default_factory=ReceiptMix)
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """Start-up settings. Ports 0 mean "any free port" (read the real ones from
    `Simulator.smpp_port` / `Simulator.control_port` once started).

    - `system_id` / `password`: the only credentials a bind accepts.
    - `max_connections`: TCP connections beyond it are closed right after accept.
    - `submitted_max`: how many accepted submits `Simulator.submitted` keeps (the
      duplicate detector remembers as many).
    - `first_message_id`: the first message id issued; None derives it from the
      wall clock (milliseconds x 1000) so two runs never issue the same ids.
    - `held_receipts_max`: receipts kept while no receiver is bound.
    """

    host: str = "127.0.0.1"
    smpp_port: int = 2775
    control_port: int = 8775
    system_id: str = "smsgw"
    password: str = "secret"  # noqa: S105 - the documented test credential
    max_connections: int = 100
    submitted_max: int = 1_000_000
    first_message_id: int | None = None
    held_receipts_max: int = 100_000
    behaviour: Behaviour = field(default_factory=Behaviour)
