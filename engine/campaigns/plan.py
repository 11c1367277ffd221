"""A campaign's schedule as `GET /api/V1/sms/{ref}/plan` shows it. Pure.

The slots already handled come from the store (what each one asked for and
released); the slots to come are the planner's waves from the campaign's
current progress, as if each were fully covered. The plan and its slots are
records of the domain model (`engine.model.campaigns`), named here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from engine.campaigns.model import campaign_of
from engine.campaigns.planner import Progress, Schedule, capacity, waves
from engine.model.campaigns import (
    LIVE,
    PLAN_LIMIT,
    PREVIEW_LIMIT,
    CampaignPlan,
    CampaignPreview,
    CampaignRow,
    PlannedSlot,
    WaveRow,
)


def build_plan(
    row: CampaignRow, done: list[WaveRow], now: datetime, limit: int = PLAN_LIMIT
) -> CampaignPlan:
    campaign = campaign_of(row)
    slots = [
        PlannedSlot(datetime.fromisoformat(w.creneau), w.demandes, True, w.lances) for w in done
    ]
    upcoming = 0
    planned = 0
    truncated = False
    if campaign.etat in LIVE:
        for wave in islice(
            waves(campaign.schedule, campaign.total, campaign.progress, now), limit + 1
        ):
            if upcoming == limit:
                truncated = True
                break
            slots.append(PlannedSlot(wave.at, wave.count, False))
            upcoming += 1
            planned += wave.count
        if truncated:
            planned = campaign.remaining
    unplanned = campaign.remaining - planned if campaign.etat in LIVE else 0
    return CampaignPlan(row, campaign.etat, tuple(slots), upcoming, truncated, unplanned)


@dataclass(frozen=True, slots=True)
class PreviewOf:
    """What a preview is computed from: the calendar, the recipients' counts, the
    answer the send would get (its segments and warnings) and the daily window."""

    schedule: Schedule
    recipients: int
    invalid: int
    duplicates: int
    segments: int
    warnings: tuple[str, ...]
    window_start: str
    window_end: str
    zone: str


def build_preview(p: PreviewOf, now: datetime, limit: int = PREVIEW_LIMIT) -> CampaignPreview:
    """The slots a campaign accepted at `now` would follow (the first `limit`),
    each fully covered; counts every slot, so run it in a worker thread."""
    slots: list[PlannedSlot] = []
    count = 0
    for wave in waves(p.schedule, p.recipients, Progress(), now):
        if count < limit:
            slots.append(PlannedSlot(wave.at, wave.count, False))
        count += 1
    return CampaignPreview(
        slots=tuple(slots),
        slots_total=count,
        truncated=count > limit,
        recipients=p.recipients,
        invalid=p.invalid,
        duplicates=p.duplicates,
        unplanned=max(0, p.recipients - capacity(p.schedule)),
        segments=p.segments,
        zone=p.zone,
        window_start=p.window_start,
        window_end=p.window_end,
        warnings=p.warnings,
    )
