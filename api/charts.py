"""Small charts the pages draw on the server, as SVG geometry for a template
(no script, no third-party library, nothing a Content-Security-Policy blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH = 600
HEIGHT = 180
TOP = 8
BOTTOM = 2


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    tick: str
    """The day under the bar, on every seventh bar (not too close to the end) and
    the last ("" elsewhere)."""


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    peak: int
    total: int


def daily_bars(days: Sequence[tuple[str, int]]) -> BarChart:
    """One bar per (YYYY-MM-DD, segments) day, scaled to the busiest day; a day
    without any is a thin grey bar, so the calendar stays readable."""
    peak = max((n for _, n in days), default=0)
    baseline = HEIGHT - BOTTOM
    room = baseline - TOP
    step = WIDTH / max(len(days), 1)
    bars = []
    for index, (text, segments) in enumerate(days):
        day = date.fromisoformat(text)
        height = room * segments / peak if peak else 0.0
        height = max(height, 1.5)
        last = index == len(days) - 1
        bars.append(Bar(
            x=round(index * step + step * 0.15, 1),
            y=round(baseline - height, 1),
            width=round(step * 0.7, 1),
            height=round(height, 1),
            value=segments,
            label=day.strftime("%d/%m"),
            tick=day.strftime("%d/%m") if last or (index % 7 == 0 and index < len(days) - 4) else "",
        ))
    return BarChart(WIDTH, HEIGHT, baseline, tuple(bars), peak, sum(n for _, n in days))
