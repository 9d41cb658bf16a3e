"""The deadline rule (Art. 28), pure: when a case is due, when it is due soon, and its light.

- A case submitted on local day D with N working days is due at **23:59:59 local time on the
  N-th working day after D** (D itself never counts). N is set per kind (services/deadlines).
- An extension of M working days moves the due date M working days past the old due date, to
  23:59:59 local time on that day.
- A case is **due soon** when it is not overdue and is due by the end of the next working day
  after today (so across a weekend or a holiday it is due soon on the last working day before).
- A case is **overdue** once the current instant is past its due instant.

Nothing here touches Flask or the database: the working-day calendar and the time zone are
passed in, so every adapter and service computes deadlines through these functions alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from .workdays import DEFAULT_TZ, WorkCalendar, local_date

# The last second of a local day: a deadline "on day X" ends then.
END_OF_DAY = time(23, 59, 59)

# A deadline's light, with the one wording both surfaces show for it.
LIGHT_LABELS = {
    "ok": _l("正常"),
    "soon": _l("即将到期"),
    "overdue": _l("已超期"),
    "done": _l("已办结"),
}


def end_of_local_day(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """23:59:59 local time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, END_OF_DAY, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def start_of_local_day(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """00:00 local time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def due_at(submitted_at: datetime, n: int, calendar: WorkCalendar, tz: str = DEFAULT_TZ) -> datetime:
    """Aware UTC deadline: 23:59:59 local on the nth working day after the local submission date."""
    if submitted_at.tzinfo is None:
        submitted_at = submitted_at.replace(tzinfo=timezone.utc)
    day = calendar.add_working_days(submitted_at.astimezone(ZoneInfo(tz)).date(), n)
    return end_of_local_day(day, tz)


def extended_due_at(old_due_at: datetime, n: int, calendar: WorkCalendar, tz: str = DEFAULT_TZ) -> datetime:
    """The due instant after an extension: 23:59:59 local on the nth working day after the old due date."""
    return end_of_local_day(calendar.add_working_days(local_date(old_due_at, tz), n), tz)


def due_soon_until(now: datetime, calendar: WorkCalendar, tz: str = DEFAULT_TZ) -> datetime:
    """The last instant a case may be due at to count as due soon at `now`: the end of the next working day."""
    return end_of_local_day(calendar.add_working_days(local_date(now, tz), 1), tz)


def is_overdue(due: datetime, now: datetime) -> bool:
    """Whether an open case due at `due` is past its deadline at `now`."""
    return now > due


def is_due_soon(due: datetime, now: datetime, calendar: WorkCalendar, tz: str = DEFAULT_TZ) -> bool:
    """Whether an open case due at `due` is due soon at `now` (not overdue, due by the end of the next working day)."""
    return not is_overdue(due, now) and due <= due_soon_until(now, calendar, tz)


@dataclass(frozen=True)
class Deadline:
    """What a case shows about its deadline."""

    due_at: datetime
    due_date: date
    days_left: int  # working days from today to the due date (negative when late)
    light: str  # "ok", "soon", "overdue" while open; "done" once answered
    working_days_used: int | None
    on_time: bool | None

    @property
    def days_late(self) -> int:
        """Working days past the due date (0 when not late)."""
        return max(0, -self.days_left)

def deadline_of(due: datetime, is_open: bool, calendar: WorkCalendar, now: datetime, tz: str = DEFAULT_TZ, *,
                working_days_used: int | None = None, on_time: bool | None = None) -> Deadline:
    """The due date, working days left and light of a deadline at `now` (O(1))."""
    due_date = local_date(due, tz)
    days_left = calendar.working_days_between(local_date(now, tz), due_date)
    if not is_open:
        light = "done"
    elif is_overdue(due, now):
        light = "overdue"
    elif is_due_soon(due, now, calendar, tz):
        light = "soon"
    else:
        light = "ok"
    return Deadline(due, due_date, days_left, light, working_days_used, on_time)


def working_days_used(submitted_on: date, answered_at: datetime, calendar: WorkCalendar,
                      tz: str = DEFAULT_TZ) -> int:
    """Working days from the submission day (excluded) to the answer's local day (included)."""
    return max(0, calendar.working_days_between(submitted_on, local_date(answered_at, tz)))
