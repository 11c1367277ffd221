"""Properties of the pure campaign planner (contract section 3)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.campaigns.planner import (
    Progress,
    Schedule,
    Wave,
    advance,
    capacity,
    check_dates,
    day_slots,
    local_day,
    next_slot,
    waves,
)

ZONE = ZoneInfo("Africa/Libreville")
BASE = date(2031, 3, 10)


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[Schedule, int]:
    start_h = draw(st.integers(0, 22))
    end_h = draw(st.integers(start_h + 1, 24))
    window_end = time(23, 59) if end_h == 24 else time(end_h, 0)
    first = BASE + timedelta(days=draw(st.integers(0, 3)))
    accepted_day = first - timedelta(days=draw(st.integers(0, 2)))
    accepted_at = datetime.combine(
        accepted_day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), ZONE
    ).astimezone(UTC)
    s = Schedule(
        date_debut=first,
        date_fin=first + timedelta(days=draw(st.integers(0, 12))),
        nb_par_jour=draw(st.integers(1, 200)),
        intervalle_minutes=draw(st.sampled_from([1, 7, 15, 30, 45, 60, 90, 180, 600, 1440])),
        window_start=time(start_h, 0),
        window_end=window_end,
        zone=ZONE,
        accepted_at=accepted_at,
    )
    return s, draw(st.integers(0, 3000))


def planned(s: Schedule, total: int) -> list[Wave]:
    return list(waves(s, total, Progress(), s.accepted_at, include_empty=True))


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_every_slot_is_inside_the_window_and_dates_on_the_interval_grid(
    case: tuple[Schedule, int],
) -> None:
    s, total = case
    for wave in planned(s, total):
        assert wave.at > s.accepted_at
        wall = wave.at.astimezone(ZONE)
        assert s.date_debut <= wall.date() <= s.date_fin
        assert s.window_start <= wall.time() < s.window_end
        since_start = datetime.combine(wall.date(), wall.time()) - datetime.combine(
            wall.date(), s.window_start
        )
        assert since_start.total_seconds() % (s.intervalle_minutes * 60) == 0


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_no_day_over_quota_each_recipient_once_in_list_order(case: tuple[Schedule, int]) -> None:
    s, total = case
    plan = planned(s, total)
    per_day: dict[date, int] = defaultdict(int)
    expected_first = 0
    for wave in plan:
        assert wave.first == expected_first, "contiguous, in list order, never twice"
        expected_first += wave.count
        per_day[local_day(wave.at, ZONE)] += wave.count
    assert expected_first <= total
    assert all(n <= s.nb_par_jour for n in per_day.values())
    times = [w.at for w in plan]
    assert times == sorted(times) and len(set(times)) == len(times)


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_every_recipient_is_planned_when_the_calendar_can_carry_them(
    case: tuple[Schedule, int],
) -> None:
    s, total = case
    sent = sum(w.count for w in planned(s, total))
    assert sent == min(total, capacity(s))


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_a_day_quota_spreads_evenly_over_its_slots(case: tuple[Schedule, int]) -> None:
    s, total = case
    by_day: dict[date, list[int]] = defaultdict(list)
    for wave in planned(s, total):
        by_day[local_day(wave.at, ZONE)].append(wave.count)
    remaining = total
    for day in sorted(by_day):
        counts = by_day[day]
        if remaining > s.nb_par_jour:  # the plan goes on after this day: every slot listed
            assert len(counts) == len(day_slots(s, day))
        if remaining >= s.nb_par_jour:
            # a full day: its quota exactly, no slot more than one above another
            assert sum(counts) == s.nb_par_jour
            assert max(counts) - min(counts) <= 1
            assert counts == sorted(counts, reverse=True)
        remaining -= sum(counts)


@settings(max_examples=100, deadline=None)
@given(campaigns(), st.data())
def test_the_scheduler_stepping_slot_by_slot_follows_the_plan(
    case: tuple[Schedule, int], data: st.DataObject
) -> None:
    """What runs (one wave at a time, from the stored progress) is what was shown."""
    s, total = case
    shown = [w for w in planned(s, total) if w.count]
    progress = Progress()
    now = s.accepted_at
    ran = []
    while True:
        wave = next(waves(s, total, progress, now), None)
        if wave is None:
            break
        ran.append(wave)
        progress = advance(progress, wave.at, wave.count, ZONE)
        now = wave.at
    assert ran == shown


def test_a_missed_slot_is_sent_on_return_only_while_its_window_is_open() -> None:
    s = Schedule(BASE, BASE + timedelta(days=1), 12, 60, time(8), time(20), ZONE,
                 datetime.combine(BASE, time(6), ZONE).astimezone(UTC))

    def at(day: date, h: int, m: int = 0) -> datetime:
        return datetime.combine(day, time(h, m), ZONE).astimezone(UTC)

    done = at(BASE, 10)
    # back at 12:30 having missed 11:00 and 12:00: the latest one, once
    assert next_slot(s, done, at(BASE, 12, 30)) == at(BASE, 12)
    # back after the window closed: the next day's first slot
    assert next_slot(s, done, at(BASE, 20, 5)) == at(BASE + timedelta(days=1), 8)
    # the catch-up spreads what is left today over the slots that remain
    p = Progress(released=3, day=BASE, released_today=3, last_slot=done)
    first = next(waves(s, 12, p, at(BASE, 12, 30)))
    assert (first.at, first.first, first.count) == (at(BASE, 12), 3, 2)  # ceil(9 / 8)
    # after the last slot of dateFin: nothing
    assert next_slot(s, at(BASE + timedelta(days=1), 19), at(BASE + timedelta(days=1), 19)) is None


def test_date_rules() -> None:
    today = BASE
    assert check_dates(today, today, today) == []
    assert [f for f, _ in check_dates(today - timedelta(days=1), today, today)] == ["dateDebut"]
    assert [f for f, _ in check_dates(today, today - timedelta(days=1), today)] == ["dateFin"]
    assert check_dates(today, today + timedelta(days=365), today) == []
    assert [f for f, _ in check_dates(today, today + timedelta(days=366), today)] == ["dateFin"]
