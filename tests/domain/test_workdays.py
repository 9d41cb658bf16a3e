"""Tests for interact.domain.workdays: the Art. 28 working-day clock.

Expected values come from the State Council holiday notices transcribed in
tests/data/cn-holiday-notices.json, never from the holidays library itself,
so a library regression (or an index bug) shows up here.
"""

from __future__ import annotations

import json
import random
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from interact.domain.deadlines import due_at
from interact.domain.workdays import (
    ScheduleDay,
    WorkCalendar,
    local_date,
    parse_when,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICES = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "cn-holiday-notices.json").read_text(encoding="utf-8")
)
NOTICE_YEARS = sorted(int(y) for y in NOTICES["years"])


def _notice_sets(year: int) -> tuple[set[date], set[date]]:
    """(days_off, make_up_workdays) of one year's notice."""
    entry = NOTICES["years"][str(year)]
    return (
        {date.fromisoformat(s) for s in entry["days_off"]},
        {date.fromisoformat(s) for s in entry["make_up_workdays"]},
    )


def notice_is_working(d: date) -> bool:
    """The notice's own rule: make-up day works, else day off rests, else Mon-Fri."""
    days_off, make_up = _notice_sets(d.year)
    if d in make_up:
        return True
    if d in days_off:
        return False
    return d.weekday() < 5


def notice_add_working_days(start: date, n: int) -> date:
    """Day-by-day oracle for the deadline rule, driven only by the notice JSON."""
    d, left = start, n
    while left:
        d += timedelta(days=1)
        if notice_is_working(d):
            left -= 1
    return d


def days_of_year(year: int):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


# --- the calendar matches the official notices --------------------------------


@pytest.mark.parametrize("year", NOTICE_YEARS)
def test_every_day_of_notice_year_matches_notice_rule(cal, year):
    mismatches = [
        (d.isoformat(), cal.is_working_day(d))
        for d in days_of_year(year)
        if cal.is_working_day(d) != notice_is_working(d)
    ]
    assert mismatches == [], f"{year}: (date, calendar says working) disagreeing with notice"


@pytest.mark.parametrize("year", NOTICE_YEARS)
def test_make_up_workdays_are_working_and_days_off_are_not(cal, year):
    days_off, make_up = _notice_sets(year)
    assert make_up, "notice data must list make-up workdays"
    assert all(d.weekday() >= 5 for d in make_up), "make-up workdays fall on weekends"
    assert [d for d in sorted(make_up) if not cal.is_working_day(d)] == []
    assert [d for d in sorted(days_off) if cal.is_working_day(d)] == []


def test_index_agrees_with_library_over_whole_range(cal):
    # Guards the precomputed index (weekday arithmetic, filtering) for years
    # the notices do not cover.
    lib = holidays.China(years=range(cal.first_year, cal.last_year + 1))
    d, end = date(cal.first_year, 1, 1), date(cal.last_year, 12, 31)
    bad = []
    while d <= end:
        if cal.is_working_day(d) != lib.is_working_day(d):
            bad.append(d)
        d += timedelta(days=1)
    assert bad == []


# --- deadline rule: submission day excluded, Nth working day ------------------

# (submitted local date, n, expected due date) -- worked out by hand from the notices.
HAND_CASES = [
    # Spring Festival 2025: 01-26 (Sun) make-up, 01-28..02-04 off, 02-08 (Sat) make-up.
    (date(2025, 1, 24), 3, date(2025, 2, 5)),  # 01-26, 01-27, 02-05
    (date(2025, 1, 27), 4, date(2025, 2, 8)),  # 02-05, 02-06, 02-07, 02-08 (Sat)
    # Spring Festival 2026: 02-14 (Sat) make-up, 02-15..02-23 off, 02-28 (Sat) make-up.
    (date(2026, 2, 13), 3, date(2026, 2, 25)),  # 02-14, 02-24, 02-25
    (date(2026, 2, 26), 3, date(2026, 3, 2)),  # 02-27, 02-28 (Sat), 03-02
    # National Day 2024: 09-29 (Sun) make-up, 10-01..10-07 off, 10-12 (Sat) make-up.
    (date(2024, 9, 27), 3, date(2024, 10, 8)),  # 09-29, 09-30, 10-08
    (date(2024, 10, 10), 3, date(2024, 10, 14)),  # 10-11, 10-12 (Sat), 10-14
    # National Day 2025: 09-28 (Sun) make-up, 10-01..10-08 off, 10-11 (Sat) make-up.
    (date(2025, 9, 26), 3, date(2025, 9, 30)),  # 09-28, 09-29, 09-30
    (date(2025, 9, 30), 3, date(2025, 10, 11)),  # 10-09, 10-10, 10-11 (Sat)
    (date(2025, 10, 3), 1, date(2025, 10, 9)),  # submitted on a holiday
    # Mid-Autumn / National Day 2026: 09-20 (Sun) make-up, 09-25..09-27 off,
    # 10-01..10-07 off, 10-10 (Sat) make-up.
    (date(2026, 9, 18), 3, date(2026, 9, 22)),  # 09-20, 09-21, 09-22
    (date(2026, 9, 24), 3, date(2026, 9, 30)),  # 09-28, 09-29, 09-30
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # 10-08, 10-09, 10-10 (Sat)
]


@pytest.mark.parametrize("start,n,expected", HAND_CASES, ids=lambda v: str(v))
def test_due_date_is_nth_working_day_after_submission_day(cal, start, n, expected):
    # The hand computation must itself follow the notice rule...
    assert notice_add_working_days(start, n) == expected
    # ...and the calendar must agree with it.
    assert cal.add_working_days(start, n) == expected


@pytest.mark.parametrize("start,n,expected", HAND_CASES, ids=lambda v: str(v))
def test_due_at_is_2359_shanghai_on_due_date(cal, start, n, expected):
    submitted = datetime(start.year, start.month, start.day, 10, 0, tzinfo=SHANGHAI)
    due = due_at(submitted, n, cal)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due == datetime(
        expected.year, expected.month, expected.day, 15, 59, 59, tzinfo=timezone.utc
    )
    local = due.astimezone(SHANGHAI)
    assert (local.date(), local.hour, local.minute, local.second) == (expected, 23, 59, 59)


def test_submission_at_2330_local_counts_that_local_day(cal):
    submitted = datetime(2025, 9, 26, 23, 30, tzinfo=SHANGHAI)
    assert due_at(submitted, 3, cal) == datetime(2025, 9, 30, 15, 59, 59, tzinfo=timezone.utc)


def test_submission_late_utc_evening_counts_next_shanghai_day(cal):
    # 2025-09-29 16:30Z is 2025-09-30 00:30 in Shanghai: count from 09-30
    # (-> 10-11), not from the UTC date 09-29 (which would give 10-10).
    submitted = datetime(2025, 9, 29, 16, 30, tzinfo=timezone.utc)
    assert local_date(submitted) == date(2025, 9, 30)
    assert due_at(submitted, 3, cal) == datetime(2025, 10, 11, 15, 59, 59, tzinfo=timezone.utc)


@pytest.fixture
def host_tz_not_utc(monkeypatch):
    """Run with a non-UTC host zone so "naive = UTC" can't pass by accident."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_datetime_is_taken_as_utc(cal, host_tz_not_utc):
    assert local_date(datetime(2025, 9, 29, 16, 30)) == date(2025, 9, 30)
    assert local_date(datetime(2025, 9, 29, 15, 59)) == date(2025, 9, 29)
    assert due_at(datetime(2025, 9, 29, 16, 30), 3, cal) == datetime(
        2025, 10, 11, 15, 59, 59, tzinfo=timezone.utc
    )


def test_local_date_honours_other_timezone():
    moment = datetime(2025, 9, 30, 2, 0, tzinfo=timezone.utc)
    assert local_date(moment, "America/New_York") == date(2025, 9, 29)
    assert local_date(moment) == date(2025, 9, 30)


def test_zero_working_days_is_submission_day(cal):
    assert cal.add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 3)
    due = due_at(datetime(2025, 10, 3, 9, 0, tzinfo=SHANGHAI), 0, cal)
    assert due == datetime(2025, 10, 3, 15, 59, 59, tzinfo=timezone.utc)


def test_negative_n_raises(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 9, 30), -1)
    with pytest.raises(ValueError):
        due_at(datetime(2025, 9, 30, tzinfo=timezone.utc), -3, cal)


# --- working_days_between ------------------------------------------------------


@pytest.mark.parametrize(
    "start,end,expected",
    [
        (date(2025, 9, 26), date(2025, 9, 30), 3),  # 09-28 (Sun make-up), 09-29, 09-30
        (date(2025, 9, 30), date(2025, 10, 11), 3),  # 10-09, 10-10, 10-11
        (date(2025, 9, 30), date(2025, 10, 8), 0),  # the whole holiday
        (date(2025, 9, 28), date(2025, 9, 29), 1),  # start (a working day) excluded
        (date(2025, 9, 27), date(2025, 9, 28), 1),  # end (a working day) included
        (date(2025, 9, 30), date(2025, 9, 30), 0),
        (date(2024, 9, 27), date(2024, 10, 12), 7),  # 09-29,09-30,10-08..10-12
        (date(2026, 9, 18), date(2026, 10, 10), 11),  # 09-20..24, 09-28..30, 10-08..10
    ],
)
def test_working_days_between_excludes_start_includes_end(cal, start, end, expected):
    naive = sum(
        notice_is_working(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )
    assert naive == expected
    assert cal.working_days_between(start, end) == expected


def test_working_days_between_reversed_is_negative(cal):
    assert cal.working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 9, 26)) == -3


# --- overrides ------------------------------------------------------------------


def test_override_monday_off_pushes_due_date():
    plain = WorkCalendar(first_year=2025, last_year=2026)
    assert plain.add_working_days(date(2025, 11, 14), 3) == date(2025, 11, 19)
    cal = WorkCalendar({date(2025, 11, 17): False}, first_year=2025, last_year=2026)
    assert not cal.is_working_day(date(2025, 11, 17))
    assert cal.add_working_days(date(2025, 11, 14), 3) == date(2025, 11, 20)


def test_override_saturday_work_pulls_due_date_in():
    cal = WorkCalendar({date(2025, 11, 15): (True, "防汛值守")}, first_year=2025, last_year=2026)
    assert cal.is_working_day(date(2025, 11, 15))
    assert cal.add_working_days(date(2025, 11, 14), 3) == date(2025, 11, 18)
    assert cal.working_days_between(date(2025, 11, 14), date(2025, 11, 18)) == 3


def test_override_beats_library():
    cal = WorkCalendar(
        {date(2025, 10, 8): (True, "值班"), date(2025, 9, 28): False},
        first_year=2025,
        last_year=2026,
    )
    assert cal.is_working_day(date(2025, 10, 8))
    assert not cal.is_working_day(date(2025, 9, 28))
    # 10-08 now works: 10-08, 10-09, 10-10.
    assert cal.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 10)
    # 09-28 now off: 09-29, 09-30, 10-08.
    assert cal.add_working_days(date(2025, 9, 26), 3) == date(2025, 10, 8)


def test_year_schedule_marks_override_and_library_sources():
    cal = WorkCalendar(
        {
            date(2025, 11, 17): (False, "停电检修"),
            date(2025, 11, 15): True,
            date(2025, 10, 8): (True, "值班"),
        },
        first_year=2025,
        last_year=2026,
    )
    sched = {s.day: s for s in cal.year_schedule(2025)}
    assert sched[date(2025, 11, 17)] == ScheduleDay(date(2025, 11, 17), False, "override", "停电检修")
    assert sched[date(2025, 11, 15)] == ScheduleDay(date(2025, 11, 15), True, "override", "")
    # An override replaces the library's entry for the same day.
    assert sched[date(2025, 10, 8)] == ScheduleDay(date(2025, 10, 8), True, "override", "值班")
    assert sched[date(2025, 10, 1)].source == "library"
    assert sched[date(2025, 9, 28)].source == "library"
    assert all(s.day.year == 2025 for s in sched.values())


def test_year_schedule_2025_lists_library_days(cal):
    sched = cal.year_schedule(2025)
    assert [s.day for s in sched] == sorted(s.day for s in sched)
    by_day = {s.day: s for s in sched}
    assert by_day[date(2025, 9, 28)] == ScheduleDay(date(2025, 9, 28), True, "library", "调休上班")
    oct1 = by_day[date(2025, 10, 1)]
    assert (oct1.working, oct1.source) == (False, "library") and oct1.name
    # Every make-up workday of the notice is listed as working; every listed
    # library day off is a day off in the notice.
    days_off, make_up = _notice_sets(2025)
    assert {s.day for s in sched if s.working} == make_up
    assert {s.day for s in sched if not s.working} <= days_off


def test_year_schedule_agrees_with_is_working_day(cal):
    for year in NOTICE_YEARS:
        for s in cal.year_schedule(year):
            assert cal.is_working_day(s.day) == s.working, s


def test_bad_overrides_rejected():
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2025, 11, 17, 0, 0): False}, first_year=2025, last_year=2025)
    with pytest.raises(TypeError):
        WorkCalendar({date(2025, 11, 17): "off"}, first_year=2025, last_year=2025)
    with pytest.raises(ValueError):
        WorkCalendar({date(2030, 1, 2): False}, first_year=2025, last_year=2026)


# --- parse_when -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,tz,expected",
    [
        ("2026-09-30", "Asia/Shanghai", date(2026, 9, 30)),
        (" 2026-09-30 ", "Asia/Shanghai", date(2026, 9, 30)),
        ("2026-09-30T23:30:00", "Asia/Shanghai", date(2026, 9, 30)),  # naive = local
        ("2026-09-30T20:00:00-04:00", "Asia/Shanghai", date(2026, 10, 1)),  # across date line
        ("2026-09-30T16:30:00Z", "Asia/Shanghai", date(2026, 10, 1)),
        ("2026-09-30T15:59:59Z", "Asia/Shanghai", date(2026, 9, 30)),
        ("2026-10-01T02:00:00+08:00", "America/New_York", date(2026, 9, 30)),
    ],
)
def test_parse_when_returns_local_date(text, tz, expected):
    result = parse_when(text, tz)
    assert type(result) is date
    assert result == expected


@pytest.mark.parametrize("text", ["", "30/09/2026", "2026-13-01", "tomorrow"])
def test_parse_when_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_when(text)


# --- range ------------------------------------------------------------------------


def test_out_of_range_dates_raise(cal):
    assert cal.covers(date(2015, 1, 1)) and cal.covers(date(2045, 12, 31))
    assert not cal.covers(date(2014, 12, 31)) and not cal.covers(date(2046, 1, 1))
    with pytest.raises(ValueError, match="outside"):
        cal.is_working_day(date(2014, 12, 31))
    with pytest.raises(ValueError, match="outside"):
        cal.add_working_days(date(2046, 1, 1), 3)
    with pytest.raises(ValueError, match="outside"):
        cal.working_days_between(date(2025, 1, 1), date(2050, 1, 1))
    with pytest.raises(ValueError):
        cal.year_schedule(2046)
    # The answer itself would fall past the range end.
    with pytest.raises(ValueError, match="past the calendar range"):
        cal.add_working_days(date(2045, 12, 29), 3)


def test_narrow_calendar_range():
    small = WorkCalendar(first_year=2025, last_year=2025)
    assert small.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    with pytest.raises(ValueError):
        small.is_working_day(date(2026, 1, 5))
    with pytest.raises(ValueError):
        WorkCalendar(first_year=2026, last_year=2025)


# --- property: the index equals a day-by-day walk ---------------------------------


def test_indexed_arithmetic_matches_day_by_day_walk(cal):
    rng = random.Random(20250928)
    lo, hi = date(2015, 1, 1).toordinal(), date(2045, 6, 30).toordinal()
    for _ in range(2000):
        start = date.fromordinal(rng.randint(lo, hi))
        n = rng.randint(0, 40)
        d, left = start, n
        while left:
            d += timedelta(days=1)
            if cal.is_working_day(d):
                left -= 1
        got = cal.add_working_days(start, n)
        assert got == d, (start, n)
        assert cal.working_days_between(start, got) == n
        assert cal.working_days_between(got, start) == -n
        if n:
            assert cal.is_working_day(got)
