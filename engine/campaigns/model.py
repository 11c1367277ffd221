"""A campaign as the engine holds it: its calendar, its progress, what the API shows.

Its states on the wire (`CampaignState`, `LIVE`) and the calendar a request asks for
(`CampaignRequest`) are the domain model's (`engine.model.campaigns`), named here
too for the modules that import them with the campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.campaigns.planner import Progress, Schedule, parse_window
from engine.model import AccountId, MessageId, SendRef, iso
from engine.model.campaigns import CampaignRow, CampaignState


@dataclass(slots=True)
class Campaign:
    """A live campaign, owned by the scheduler (its progress changes only there)."""

    ref: SendRef
    account_id: AccountId
    first_id: MessageId
    total: int
    schedule: Schedule
    etat: CampaignState
    progress: Progress
    emetteur: str
    corps: str
    segments: int
    billing: str
    urgent: bool = False
    """`priorite` HAUTE: its waves go ahead of the account's bulk."""
    validite: int | None = None
    """Minutes a released recipient may wait for the SMSC before it ends EXPIRE."""

    @property
    def remaining(self) -> int:
        return self.total - self.progress.released


def schedule_of(row: CampaignRow) -> Schedule:
    return Schedule(
        date_debut=date.fromisoformat(row.date_debut),
        date_fin=date.fromisoformat(row.date_fin),
        nb_par_jour=row.nb_par_jour,
        intervalle_minutes=row.intervalle_minutes,
        window_start=parse_window(row.fenetre_debut),
        window_end=parse_window(row.fenetre_fin),
        zone=ZoneInfo(row.fuseau),
        accepted_at=datetime.fromisoformat(row.accepte_le),
    )


def campaign_of(row: CampaignRow) -> Campaign:
    return Campaign(
        ref=row.ref,
        account_id=row.account_id,
        first_id=row.premier_message,
        total=row.total,
        schedule=schedule_of(row),
        etat=CampaignState(row.etat),
        progress=Progress(
            released=row.lances,
            day=date.fromisoformat(row.jour) if row.jour else None,
            released_today=row.lances_jour,
            last_slot=datetime.fromisoformat(row.dernier_creneau) if row.dernier_creneau else None,
        ),
        emetteur=row.emetteur,
        corps=row.corps,
        segments=row.segments,
        billing=row.billing,
        urgent=row.priorite == "HAUTE",
        validite=row.validite,
    )


def public_fields(
    s: Schedule, etat: CampaignState, total: int, released: int, next_at: datetime | None
) -> dict[str, Any]:
    """The campaign fields of `GET /api/V1/sms/{ref}` (stored with the send)."""
    return {
        "dateDebut": s.date_debut.isoformat(),
        "dateFin": s.date_fin.isoformat(),
        "nbParJour": s.nb_par_jour,
        "intervalleMinutes": s.intervalle_minutes,
        "etatCampagne": etat.value,
        "progression": {"total": total, "lances": released, "restants": total - released},
        "prochainCreneau": iso(next_at) if next_at is not None else None,
    }
