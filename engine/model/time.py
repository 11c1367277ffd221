"""Timestamps as the wire and the store write them: ISO 8601 in UTC, to the
millisecond, with a Z. Where wall time comes from is `engine.clock`'s business."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
