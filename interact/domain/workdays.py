"""Working-day calendar for the statutory answer clock (regulation Art. 28).

A case must be answered within N working days.  Working days are Mainland
China's official calendar as published by ``holidays.China`` (public holidays
plus the weekend make-up workdays, 调休, it knows about via
``weekend_workdays``), corrected by operator overrides that always win over
the library -- the State Council notice for a year is published late in the
previous year, so the library can lag behind it.

The deadline rule built on this calendar is in :mod:`interact.domain.deadlines`.
Instants are stored in UTC and shown in local time.

This module is pure (no Flask, no database).  A :class:`WorkCalendar`
precomputes a day index over a fixed year range so that
:meth:`WorkCalendar.add_working_days` and
:meth:`WorkCalendar.working_days_between` are O(1) list lookups; dates
outside the range raise ``ValueError`` instead of silently guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_TZ",
    "MAKE_UP_WORKDAY_NAME",
    "ScheduleDay",
    "WorkCalendar",
    "local_date",
    "parse_when",
]

DEFAULT_TZ = "Asia/Shanghai"
MAKE_UP_WORKDAY_NAME = "调休上班"  # i18n: data (the official term, stored with the schedule)

# An override value is either a bare working flag or a (working, note) pair.
OverrideValue = bool | tuple[bool, str]


@dataclass(frozen=True, slots=True)
class ScheduleDay:
    """One non-ordinary day of a year: a day off or a make-up workday."""

    day: date
    working: bool
    source: str  # "library" | "override"
    name: str


def _normalise_overrides(
    overrides: Mapping[date, OverrideValue] | None,
) -> dict[date, tuple[bool, str]]:
    """Turn the accepted override shapes into ``{date: (working, note)}``."""
    result: dict[date, tuple[bool, str]] = {}
    for day, value in (overrides or {}).items():
        # datetime is a date subclass; accepting it would hide a timezone bug.
        if not isinstance(day, date) or isinstance(day, datetime):
            raise TypeError(f"override key must be a date, got {day!r}")
        if isinstance(value, bool):
            working, note = value, ""
        elif (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], bool)
            and isinstance(value[1], str)
        ):
            working, note = value
        else:
            raise TypeError(
                f"override for {day.isoformat()} must be a bool or a (bool, str) "
                f"tuple, got {value!r}"
            )
        result[day] = (working, note)
    return result


class WorkCalendar:
    """Working days from holidays.China plus operator overrides, with a precomputed index."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | Mapping[date, tuple[bool, str]] | None = None,
        *,
        first_year: int = 2015,
        last_year: int = 2045,
    ) -> None:
        """Build the index over [first_year-01-01, last_year-12-31]; overrides map a date to True (work) / False (off), optionally as (flag, note)."""
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        self.first_year = first_year
        self.last_year = last_year
        self._first = date(first_year, 1, 1)
        self._last = date(last_year, 12, 31)
        self._base = self._first.toordinal()
        self._size = self._last.toordinal() - self._base + 1

        self._overrides = _normalise_overrides(overrides)
        for day in self._overrides:
            if not self._first <= day <= self._last:
                raise ValueError(
                    f"override date {day.isoformat()} is outside the calendar range "
                    f"{self._first.isoformat()}..{self._last.isoformat()}"
                )

        # zh_CN: names end up on citizen-facing pages next to "调休上班".
        lib = holidays.China(years=range(first_year, last_year + 1), language="zh_CN")
        weekend_days = frozenset(lib.weekend)
        # The library's set can reach outside the requested years; keep ours.
        # It only consults the set for weekend days, so only those are make-up days.
        self._lib_workdays = frozenset(
            d
            for d in lib.weekend_workdays
            if self._first <= d <= self._last and d.weekday() in weekend_days
        )
        self._lib_holidays: dict[date, str] = {
            d: name for d, name in lib.items() if self._first <= d <= self._last
        }
        holiday_ords = {d.toordinal() for d in self._lib_holidays}
        workday_ords = {d.toordinal() for d in self._lib_workdays}
        override_ords = {d.toordinal(): w for d, (w, _) in self._overrides.items()}

        # One pass with integer arithmetic; the holidays object is not touched
        # per day.  Ordinal 1 (0001-01-01) is a Monday, so weekday = (ord-1) % 7.
        working_flags = bytearray(self._size)
        cum: list[int] = [0] * self._size
        workdays: list[date] = []
        count = 0
        for i in range(self._size):
            o = self._base + i
            w = override_ords.get(o)
            if w is None:
                if (o - 1) % 7 in weekend_days:
                    w = o in workday_ords  # 调休: a weekend turned into a workday
                else:
                    w = o not in holiday_ords
            if w:
                working_flags[i] = 1
                count += 1
                workdays.append(date.fromordinal(o))
            cum[i] = count
        self._working = bytes(working_flags)
        # cum[i] = working days in [base, base+i]; workdays[k] = (k+1)-th working day.
        self._cum = cum
        self._workdays = workdays

    def _index(self, d: date) -> int:
        """Position of ``d`` in the index, or ValueError if outside the range."""
        if isinstance(d, datetime):
            raise TypeError("expected a date, got a datetime; use local_date() first")
        i = d.toordinal() - self._base
        if not 0 <= i < self._size:
            raise ValueError(
                f"{d.isoformat()} is outside the working-day calendar range "
                f"{self._first.isoformat()}..{self._last.isoformat()}; "
                "build a WorkCalendar with a wider first_year/last_year"
            )
        return i

    def covers(self, d: date) -> bool:
        """True if ``d`` lies inside the precomputed range."""
        return self._first <= d <= self._last

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day (overrides first, then the library)."""
        return self._working[self._index(d)] == 1

    def add_working_days(self, start: date, n: int) -> date:
        """The nth working day after ``start`` (start itself never counts); n == 0 returns start."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        i = self._index(start)
        if n == 0:
            return start
        # cum[i] working days lie at or before start, so the nth one after it
        # is the (cum[i] + n)-th overall, whether or not start is working.
        k = self._cum[i] + n - 1
        if k >= len(self._workdays):
            raise ValueError(
                f"{n} working days after {start.isoformat()} is past the calendar "
                f"range end {self._last.isoformat()}; build a wider WorkCalendar"
            )
        return self._workdays[k]

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; negative of the reverse count if end < start."""
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def year_schedule(self, year: int) -> list[ScheduleDay]:
        """The year's days off and make-up workdays (library and override), sorted by date."""
        if not self.first_year <= year <= self.last_year:
            raise ValueError(
                f"year {year} is outside the calendar range "
                f"{self.first_year}..{self.last_year}"
            )
        days: dict[date, ScheduleDay] = {}
        for d, name in self._lib_holidays.items():
            if d.year == year:
                days[d] = ScheduleDay(d, False, "library", name)
        for d in self._lib_workdays:
            if d.year == year:
                days[d] = ScheduleDay(d, True, "library", MAKE_UP_WORKDAY_NAME)
        # Overrides beat the library, so they replace any library entry.
        for d, (working, note) in self._overrides.items():
            if d.year == year:
                days[d] = ScheduleDay(d, working, "override", note)
        return [days[d] for d in sorted(days)]


def local_date(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    """The calendar date of ``moment`` in ``tz``; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(tz)).date()


def parse_when(text: str, tz: str = DEFAULT_TZ) -> date:
    """Parse "YYYY-MM-DD" or an ISO datetime into a local date (offsets converted to tz; naive is local)."""
    try:
        # fromisoformat also accepts a bare date (as midnight) and "Z" in 3.11+.
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not an ISO date or datetime: {text!r} "
            "(expected YYYY-MM-DD or e.g. 2026-09-30T20:00:00+08:00)"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(tz))
    return moment.date()

