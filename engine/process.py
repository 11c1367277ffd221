"""The Python process a server runs in (the gateway, the SMSC simulator).

Python's cycle collector runs every 700 new container objects by default, a
setting for short scripts. A server making thousands of short-lived objects a
millisecond and almost no reference cycles pays for it: over 20,000 sends (P1 of
bench/bench_gateway.py) the gateway's collector ran ~2,200 times, walked the
whole heap 18 times, found 85 cycles and took ~40 µs of CPU a send, a twelfth of
the process. Reference counting still frees every other object at once, so a
larger threshold does not make memory grow.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

GC_THRESHOLD = 50_000
"""New container objects between two runs of the collector, by measurement: the
P1 rate within a few percent of the collector switched off."""


def tune_collector(young_threshold: int = GC_THRESHOLD) -> None:
    """Let `young_threshold` new objects build up between two collections; the
    older generations keep Python's ratios."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)


def freeze_start_up_heap() -> None:
    """Move what is alive once the process serves (modules, settings, tables) to
    the collector's permanent generation: full collections then walk only what was
    made since."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True, slots=True)
class CollectorStatistics:
    """The cycle collector as operators see it (GET /api/V1/admin/acteurs)."""

    seuils: tuple[int, int, int]
    """Thresholds: new objects before a young collection, then young collections
    before a middle one, middle ones before a full one."""
    passages: tuple[int, ...]
    """Collections run so far, per generation (young, middle, full)."""
    trouves: int
    """Unreachable objects (reference cycles) found and freed so far."""
    geles: int
    """Objects frozen out of its reach at start-up."""


def collector_statistics() -> CollectorStatistics:
    stats = gc.get_stats()
    young, older, oldest = gc.get_threshold()
    return CollectorStatistics(
        seuils=(young, older, oldest),
        passages=tuple(int(g["collections"]) for g in stats),
        trouves=sum(int(g["collected"]) for g in stats),
        geles=gc.get_freeze_count(),
    )
