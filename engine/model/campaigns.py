"""A scheduled campaign (MULDESP) as records: its states on the wire, the calendar
a request asks for, the campaign and its handled slots as stored, and its plan as
`GET /api/V1/sms/{ref}/plan` shows it. The planner that computes the slots is
`engine.campaigns.planner`; the plan is built by `engine.campaigns.plan`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from engine.model.vocabulary import AccountId, MessageId, SendRef


class CampaignState(StrEnum):
    """`etatCampagne` on the wire."""

    PLANIFIEE = "PLANIFIEE"
    EN_COURS = "EN_COURS"
    SUSPENDUE = "SUSPENDUE"
    TERMINEE = "TERMINEE"
    ANNULEE = "ANNULEE"


LIVE = frozenset({CampaignState.PLANIFIEE, CampaignState.EN_COURS, CampaignState.SUSPENDUE})
"""The states of a campaign that still has slots to come."""


@dataclass(frozen=True, slots=True)
class CampaignRequest:
    """The calendar part of a MULDESP request, already validated."""

    date_debut: date
    date_fin: date
    nb_par_jour: int
    intervalle_minutes: int


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """A campaign as stored: its calendar, its state and progress, and the fields
    of its send it needs to release waves."""

    ref: SendRef
    account_id: AccountId
    premier_message: MessageId
    total: int
    date_debut: str
    date_fin: str
    nb_par_jour: int
    intervalle_minutes: int
    fenetre_debut: str
    fenetre_fin: str
    fuseau: str
    accepte_le: str
    etat: str
    lances: int
    jour: str | None
    lances_jour: int
    dernier_creneau: str | None
    fin_le: str | None
    emetteur: str
    corps: str
    segments: int
    billing: str


@dataclass(frozen=True, slots=True)
class WaveRow:
    """One slot of a campaign already handled: what it asked for and released."""

    creneau: str
    demandes: int
    lances: int
    fait_le: str


PLAN_LIMIT = 5000
"""Slots to come listed at most (a year at one-minute intervals has far more)."""


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One slot of a plan: when, how many recipients, and whether it is done (then
    how many it released)."""

    at: datetime
    count: int
    done: bool
    released: int | None = None


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """A campaign's schedule: the slots handled, then those to come (at most
    `PLAN_LIMIT`, `truncated` when there are more)."""

    row: CampaignRow
    etat: CampaignState
    slots: tuple[PlannedSlot, ...]
    upcoming_total: int
    truncated: bool
    unplanned: int
    """Recipients left that no slot to come can carry (they would expire)."""
