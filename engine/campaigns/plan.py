"""A campaign's schedule as `GET /api/V1/sms/{ref}/plan` shows it. Pure.

The slots already handled come from the store (what each one asked for and
released); the slots to come are the planner's waves from the campaign's
current progress, as if each were fully covered. The plan and its slots are
records of the domain model (`engine.model.campaigns`), named here too.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from engine.campaigns.model import campaign_of
from engine.campaigns.planner import waves
from engine.model.campaigns import LIVE, PLAN_LIMIT, CampaignPlan, CampaignRow, PlannedSlot, WaveRow


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
