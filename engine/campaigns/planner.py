"""When a campaign's slots fall and how many recipients each one sends. Pure: no I/O, no trio.

Rules (contract section 3), numbered so tests and the scheduler can name them:

1. Dates are calendar dates in the campaign's time zone. Every day of
   `[date_debut, date_fin]` has a sending window `[window_start, window_end)`.
2. Slots fall at `window_start + k * intervalle_minutes` (k = 0, 1, ...) strictly
   before `window_end`; a slot exactly at the window's end is outside it.
3. Only slots strictly after the acceptance time belong to the campaign, so the
   first day may be partial.
4. Recipients go in list order, each at most once. A slot sends
   `ceil(quota left today / slots left today)` recipients (this slot counted),
   never more than are left; a day never sends more than `nb_par_jour`.
5. A slot missed while the gateway was down is lost once its day's window has
   closed. Within the window, the latest missed slot of the day is sent on
   return, once; the quota formula then spreads what is left over the day's
   remaining slots.

`waves` is the one generator both the scheduler (its next wave) and the plan
endpoint (every wave to come) use, so what is shown is what runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MAX_SPAN_DAYS = 366
"""The longest campaign, in calendar days counted inclusively."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A campaign's calendar, fixed when it is accepted."""

    date_debut: date
    date_fin: date
    nb_par_jour: int
    intervalle_minutes: int
    window_start: time
    window_end: time
    zone: tzinfo
    accepted_at: datetime
    """Aware; only slots strictly after it count (rule 3)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a campaign got: recipients released, and on which day how many."""

    released: int = 0
    day: date | None = None
    released_today: int = 0
    last_slot: datetime | None = None


@dataclass(frozen=True, slots=True)
class Wave:
    """One slot: at `at`, recipients `first` .. `first + count - 1` (list order)."""

    at: datetime
    first: int
    count: int


def parse_window(text: str) -> time:
    """'HH:MM' to a time; ValueError otherwise."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"expected HH:MM, got {text!r}")
    return time(int(hours), int(minutes))


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def window_end_at(s: Schedule, day: date) -> datetime:
    return datetime.combine(day, s.window_end, tzinfo=s.zone).astimezone(UTC)


def day_slots(s: Schedule, day: date) -> list[datetime]:
    """The campaign's slots on `day` (rules 1-3), in UTC, in order."""
    if day < s.date_debut or day > s.date_fin:
        return []
    start = datetime.combine(day, s.window_start)
    end = datetime.combine(day, s.window_end)
    step = timedelta(minutes=s.intervalle_minutes)
    slots: list[datetime] = []
    wall = start
    while wall < end:
        at = wall.replace(tzinfo=s.zone).astimezone(UTC)
        if at > s.accepted_at:
            slots.append(at)
        wall += step
    return slots


def wave_size(quota_left: int, slots_left: int, remaining: int) -> int:
    """Rule 4: ceil(quota left today / slots left today), capped by what is left."""
    if quota_left <= 0 or slots_left <= 0 or remaining <= 0:
        return 0
    return min(remaining, math.ceil(quota_left / slots_left))


def next_slot(s: Schedule, last_slot: datetime | None, now: datetime) -> datetime | None:
    """The slot to handle next: a missed slot of today still inside the window
    (the latest one, rule 5), else the first slot after `now`; None when no slot
    is left in the campaign's dates."""
    floor = s.accepted_at if last_slot is None else max(last_slot, s.accepted_at)
    today = local_day(now, s.zone)
    day = max(s.date_debut, local_day(floor, s.zone), today)
    while day <= s.date_fin:
        slots = [t for t in day_slots(s, day) if t > floor]
        if slots:
            if day == today:
                missed = [t for t in slots if t <= now]
                if missed and now < window_end_at(s, day):
                    return missed[-1]
                upcoming = [t for t in slots if t > now]
                if upcoming:
                    return upcoming[0]
            else:
                return slots[0]
        day += timedelta(days=1)
    return None


def waves(
    s: Schedule, total: int, progress: Progress, now: datetime, *, include_empty: bool = False
) -> Iterator[Wave]:
    """Every wave still to come if each one is fully sent, in order.

    The first is the slot `next_slot` picks; a wave of 0 recipients (the day's
    quota already met) is skipped unless `include_empty`.
    """
    first = next_slot(s, progress.last_slot, now)
    if first is None:
        return
    released = progress.released
    day = local_day(first, s.zone)
    today = progress.released_today if progress.day == day else 0
    first_day = True
    while day <= s.date_fin and released < total:
        slots = day_slots(s, day)
        if first_day:
            slots = [t for t in slots if t >= first]
            first_day = False
        for index, at in enumerate(slots):
            count = wave_size(s.nb_par_jour - today, len(slots) - index, total - released)
            if count or include_empty:
                yield Wave(at, released, count)
            released += count
            today += count
            if released >= total:
                return
        day += timedelta(days=1)
        today = 0


def advance(p: Progress, slot: datetime, released: int, zone: tzinfo) -> Progress:
    """The progress after `slot` released `released` recipients."""
    day = local_day(slot, zone)
    today = p.released_today if p.day == day else 0
    return replace(
        p,
        released=p.released + released,
        day=day,
        released_today=today + released,
        last_slot=slot,
    )


def last_slot_of(s: Schedule) -> datetime | None:
    """The campaign's last slot (the last of the latest day that has one)."""
    day = s.date_fin
    while day >= s.date_debut:
        slots = day_slots(s, day)
        if slots:
            return slots[-1]
        day -= timedelta(days=1)
    return None


def capacity(s: Schedule) -> int:
    """How many recipients the calendar can carry from acceptance on."""
    days = 0
    day = max(s.date_debut, local_day(s.accepted_at, s.zone))
    while day <= s.date_fin:
        if day_slots(s, day):
            days += 1
        day += timedelta(days=1)
    return days * s.nb_par_jour


def check_dates(
    date_debut: date, date_fin: date, today: date
) -> list[tuple[str, str]]:
    """The contract's date rules: (field, French message) for each one broken."""
    faults: list[tuple[str, str]] = []
    if date_debut < today:
        faults.append(
            ("dateDebut", f"La date de début ne peut pas être passée (aujourd'hui : {today.isoformat()}).")
        )
    if date_fin < date_debut:
        faults.append(("dateFin", "La date de fin doit être égale ou postérieure à la date de début."))
    elif (date_fin - date_debut).days + 1 > MAX_SPAN_DAYS:
        faults.append(
            ("dateFin", f"Une campagne dure au plus {MAX_SPAN_DAYS} jours (dates incluses).")
        )
    return faults
