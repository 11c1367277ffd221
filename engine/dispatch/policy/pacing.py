"""How many submits one bind keeps outstanding, and how fast it sends them (pure:
no trio, no socket; time is passed in).

Probe: a window cannot keep order by itself against a throttling SMSC. When a
token bucket runs dry, the SMSC refuses part k and, a token later, may accept part
k+50 of the same window, already on the wire. So a new connection sends its first
`probe_submits` submits (for at most `PROBE_MAX_S`) one at a time, ~2,000/s on a
local link. A cap well below that pace runs dry during the probe (a bucket holding
one second of a cap C runs dry after C * pace / (pace - C) submits: ~220 for 200/s,
~500 for 400/s), with one part outstanding: the refused part goes again, first,
and the bind stays one at a time while it paces under the cap (it loses nothing:
the cap is below that pace). A probe that meets no cap opens the window; a cap met
later, with the window open, may still swap parts of one window. Nothing else
reorders an account's messages.

Pace: every ESME_RTHROTTLED slows the bind down (`AdaptiveRate`); a bind kept one
at a time under a cap goes back to its window once its rate has grown past the
ceiling again (the cap is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.dispatch.throttle import AdaptiveRate
from engine.model import BindMode

PROBE_MAX_S = 1.0
"""A probe ends after this long from its first submit, whatever it has sent: on a
slow link one at a time is slow (and a cap it could meet is lower still), and on
a busy gateway a probe holds a backlog back (P1 of bench/bench_gateway.py: 2 s
cost ~3% of the rate, 1 s nothing measurable; a 200/s cap shows within ~0.1 s)."""


@dataclass(slots=True)
class Pacing:
    """The pace of one bind: its adaptive rate (`rate`, whose `take` the writer
    calls for each submit), its probe and whether it sends one submit at a time.
    Owned by the bind's sender; `bound` starts it over for each new connection.

    The writer asks `one_at_a_time(now)` before each run of submits and calls
    `wrote(now)` after writing one; the reader reports each answer with `accepted`
    or `throttled`."""

    probe_submits: int
    """Submits a new connection sends one at a time before opening its window
    ("Probe"); 0: the window is open at once."""
    rate: AdaptiveRate = field(default_factory=AdaptiveRate)
    probe_left: int = 0
    """Probe submits still to be accepted (0: the probe is over)."""
    probe_ends: float | None = None
    """When the probe ends at the latest (None: nothing written yet)."""
    held: bool = False
    """One at a time under a cap met when probing."""
    single: bool = False
    """One at a time now (the last answer of `one_at_a_time`)."""

    def bound(self) -> None:
        """A new connection is bound: unlimited, probing, nothing held."""
        self.rate = AdaptiveRate()
        self.probe_left, self.probe_ends = self.probe_submits, None
        self.held = self.single = False

    def one_at_a_time(self, now: float) -> bool:
        """Whether the bind sends one submit at a time at `now`: while it probes,
        and while it paces under a cap it met when probing. Ends the probe once
        `PROBE_MAX_S` has passed and lets go of a cap the rate has outgrown."""
        single = False
        if self.held:
            if self.rate.rate_per_s is not None:
                single = True
            else:
                self.held = False  # paced until its rate grew past the ceiling: no cap now
        if not single and self.probe_left > 0:
            if self.probe_ends is None or now < self.probe_ends:
                single = True
            else:
                self.probe_left = 0
        self.single = single
        return single

    def wrote(self, now: float) -> None:
        """Submits left at `now`: the probe's clock starts with its first one."""
        if self.probe_left and self.probe_ends is None:
            self.probe_ends = now + PROBE_MAX_S

    def accepted(self, now: float) -> None:
        """The SMSC accepted a submit at `now` (ESME_ROK)."""
        self.rate.accepted(now)
        if self.probe_left:
            self.probe_left -= 1

    def throttled(self, now: float) -> None:
        """The SMSC refused a submit with ESME_RTHROTTLED at `now`: slow down; met
        one at a time, the cap is below that pace: stay one at a time under it."""
        self.rate.throttled(now)
        if self.single:
            self.held, self.probe_left = True, 0

    @property
    def mode(self) -> BindMode:
        return (
            BindMode.ONE_AT_A_TIME if self.held else BindMode.PROBE if self.single
            else BindMode.WINDOW
        )

    def window_size(self, window: int) -> int:
        """Submits that may be outstanding now, out of a configured `window`."""
        return 1 if self.single else window

    @property
    def rate_limit_per_s(self) -> float | None:
        """The bind's current limit, or None while unlimited."""
        return self.rate.rate_per_s
