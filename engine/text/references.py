"""Concatenation references for multi-part SMS, one counter per destination.

A handset reassembles the parts of a concatenated SMS by (originator, reference,
total). Two long messages to the same number in flight at once must therefore
carry different references; a per-destination counter cycling 0..255 guarantees
that for up to 256 consecutive messages, where random references would collide
after a few dozen.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

DEFAULT_MAX_DESTINATIONS: Final = 100_000
_REFERENCES: Final = 256


class ReferenceCounter:
    """Owns the next 8-bit reference of each recently seen destination.

    Memory is bounded: only the ``max_destinations`` most recently used
    destinations are remembered, the least recently used one being forgotten first.
    A destination seen for the first time (or again after being forgotten) starts
    at a value taken from a gateway-wide counter of new destinations, so that a
    forgotten destination is unlikely to restart where its last messages were.

    Plain state, no locking: it belongs to one task (the sender pool or the actor
    that builds submit_sm), which calls :meth:`next` without awaiting.
    """

    __slots__ = ("_max_destinations", "_next_by_destination", "_next_start")

    def __init__(self, max_destinations: int = DEFAULT_MAX_DESTINATIONS) -> None:
        if max_destinations < 1:
            raise ValueError(f"max_destinations must be at least 1, got {max_destinations}")
        self._max_destinations = max_destinations
        self._next_by_destination: OrderedDict[str, int] = OrderedDict()
        self._next_start = 0

    @property
    def max_destinations(self) -> int:
        """How many destinations are remembered at most."""
        return self._max_destinations

    def __len__(self) -> int:
        """How many destinations are remembered now."""
        return len(self._next_by_destination)

    def next(self, destination: str) -> int:
        """The reference to use for the next concatenated SMS to ``destination``.

        Successive calls for one destination return successive values modulo 256,
        so 256 calls in a row return each of 0..255 exactly once.
        """
        references = self._next_by_destination
        reference = references.pop(destination, None)
        if reference is None:
            reference = self._next_start
            self._next_start = (self._next_start + 1) % _REFERENCES
            if len(references) >= self._max_destinations:
                references.popitem(last=False)
        references[destination] = (reference + 1) % _REFERENCES
        return reference
