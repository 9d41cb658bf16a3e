"""The platform's working-day clock: library calendar plus stored overrides, and case deadlines."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..domain.errors import NotFound, ValidationFailed
from ..domain.db import db
from ..domain.kinds import DEFAULT_DEADLINE_DAYS, KINDS
from ..domain.models import OPEN_STATUSES, CalendarYear, Case, KindSetting, User, WorkdayOverride
from ..domain.timeutil import local_tz, utcnow
from ..domain.workdays import WorkCalendar, due_at, local_date
from . import audit

# Building a calendar costs ~0.1 s, so keep a few, keyed by the exact set of overrides.
_CACHE: OrderedDict[tuple, WorkCalendar] = OrderedDict()
_CACHE_SIZE = 4


def current_calendar() -> WorkCalendar:
    """The working-day calendar with every stored override applied."""
    rows = db.session.execute(
        select(WorkdayOverride.day, WorkdayOverride.working, WorkdayOverride.note).order_by(WorkdayOverride.day)
    ).all()
    key = tuple((r.day, r.working, r.note) for r in rows)
    cal = _CACHE.get(key)
    if cal is None:
        cal = WorkCalendar({r.day: (r.working, r.note) for r in rows})
        _CACHE[key] = cal
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return cal


def tz_name() -> str:
    """The configured time zone's name."""
    return local_tz().key


def deadline_days(kind: str) -> int:
    """The number of working days allowed for `kind` (an admin may change it)."""
    setting = db.session.get(KindSetting, kind)
    return setting.deadline_days if setting else DEFAULT_DEADLINE_DAYS


def deadline_settings() -> dict[str, int]:
    """Every kind's deadline in working days."""
    stored = dict(db.session.execute(select(KindSetting.kind, KindSetting.deadline_days)).all())
    return {code: stored.get(code, DEFAULT_DEADLINE_DAYS) for code in KINDS}


def set_deadline_days(kind: str, days: int, actor: User | None = None) -> None:
    """Change the deadline of `kind` for cases submitted from now on."""
    if kind not in KINDS:
        raise ValidationFailed(_("未知的类别。"), {"kind": _("未知的类别。")})
    if not 1 <= days <= 60:
        raise ValidationFailed(_("办理期限须在1到60个工作日之间。"), {"days": _("办理期限须在1到60个工作日之间。")})
    setting = db.session.get(KindSetting, kind)
    before = setting.deadline_days if setting else DEFAULT_DEADLINE_DAYS
    if setting is None:
        db.session.add(KindSetting(kind=kind, deadline_days=days))
    else:
        setting.deadline_days = days
    db.session.flush()
    audit.record("deadline.set", user=actor, object_type="kind", object_id=kind,
                 details={"from": before, "to": days})


def compute_due_at(submitted_at: datetime, days: int, calendar: WorkCalendar | None = None) -> datetime:
    """23:59:59 local time on the `days`-th working day after the submission's local date."""
    return due_at(submitted_at, days, calendar or current_calendar(), tz_name())


def set_override(day: date, working: bool, note: str = "", actor: User | None = None) -> int:
    """Mark `day` as a working day or a day off, and recompute open cases' deadlines."""
    if not current_calendar().covers(day):
        # Outside the precomputed range the calendar cannot be rebuilt with this override.
        msg = _("%(day)s 超出工作日历的范围。", day=day.isoformat())
        raise ValidationFailed(msg, {"day": msg})
    row = db.session.get(WorkdayOverride, day)
    if row is None:
        row = WorkdayOverride(day=day)
        db.session.add(row)
    row.working = working
    row.note = (note or "").strip()[:200]
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor else None
    db.session.flush()
    note = row.note
    changed = recompute_open_deadlines()
    audit.record("calendar.override", user=actor, object_type="day", object_id=day.isoformat(),
                 details={"working": working, "note": note, "recomputed": changed})
    return changed


def clear_override(day: date, actor: User | None = None) -> int:
    """Remove the override of `day`, and recompute open cases' deadlines."""
    row = db.session.get(WorkdayOverride, day)
    if row is None:
        raise NotFound(_("%(day)s 没有调整记录。", day=day.isoformat()))
    working = row.working
    db.session.delete(row)
    db.session.flush()
    changed = recompute_open_deadlines()
    audit.record("calendar.clear", user=actor, object_type="day", object_id=day.isoformat(),
                 details={"was_working": working, "recomputed": changed})
    return changed


def recompute_open_deadlines() -> int:
    """Recompute `due_at` (and the original deadline) of every open case; returns how many
    cases changed.

    Cases are grouped by (submission date, allowed days, extension days), so the work grows
    with the number of distinct submission days, not with the number of cases.
    """
    cal = current_calendar()
    groups = db.session.execute(
        select(Case.submitted_on, Case.deadline_days, Case.extension_days)
        .where(Case.status.in_(OPEN_STATUSES)).distinct()
    ).all()
    changed = 0
    tz = tz_name()
    for submitted_on, days, extra in groups:
        anchor = datetime(submitted_on.year, submitted_on.month, submitted_on.day, 12, tzinfo=local_tz())
        original = due_at(anchor, days, cal, tz)
        new_due = due_at(anchor, days + extra, cal, tz)
        result = db.session.execute(
            update(Case)
            .where(Case.status.in_(OPEN_STATUSES), Case.submitted_on == submitted_on,
                   Case.deadline_days == days, Case.extension_days == extra,
                   (Case.due_at != new_due) | (Case.original_due_at != original)
                   | Case.original_due_at.is_(None))
            .values(due_at=new_due, original_due_at=original)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0
    db.session.expire_all()
    return changed


def confirm_year(year: int, note: str = "", actor: User | None = None) -> None:
    """Record that `year`'s schedule was checked against the State Council notice."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("年份无效。"), {"year": _("年份无效。")})
    row = db.session.get(CalendarYear, year)
    if row is None:
        db.session.add(CalendarYear(year=year, note=note))
    else:
        row.note = note or row.note
    db.session.flush()
    audit.record("calendar.confirm", user=actor, object_type="year", object_id=year, details={"note": note})


def confirmed_years() -> set[int]:
    """The years whose schedule is confirmed."""
    return set(db.session.scalars(select(CalendarYear.year)))


def unconfirmed_deadline_years() -> list[int]:
    """Years, not yet confirmed, in which some open case's deadline falls."""
    lo, hi = db.session.execute(
        select(func.min(Case.due_at), func.max(Case.due_at)).where(Case.status.in_(OPEN_STATUSES))
    ).one()
    if lo is None:
        return []
    tz = tz_name()
    years = range(local_date(lo, tz).year, local_date(hi, tz).year + 1)
    confirmed = confirmed_years()
    return [y for y in years if y not in confirmed]


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


def deadline_of(case: Case, calendar: WorkCalendar, now: datetime | None = None) -> Deadline:
    """The deadline, working days left and traffic light of one case (O(1) per case)."""
    now = now or utcnow()
    tz = tz_name()
    due_date = local_date(case.due_at, tz)
    days_left = calendar.working_days_between(local_date(now, tz), due_date)
    if not case.is_open:
        light = "done"
    elif now > case.due_at:
        light = "overdue"
    elif days_left <= 1:
        light = "soon"
    else:
        light = "ok"
    return Deadline(case.due_at, due_date, days_left, light, case.working_days_used, case.on_time)


def working_days_used(case: Case, answered_at: datetime, calendar: WorkCalendar) -> int:
    """Working days from the submission (excluded) to the answer (included)."""
    tz = tz_name()
    return max(0, calendar.working_days_between(case.submitted_on, local_date(answered_at, tz)))


def deadline_counts(department_id: int, calendar: WorkCalendar, now: datetime | None = None) -> dict[str, int]:
    """How many of a department's open cases are overdue, and how many are due soon.

    Counted in SQL on the due_at index: "soon" means at most one working day left, i.e. due
    before the start of the second working day after today (the light rule of deadline_of).
    """
    now = now or utcnow()
    today = local_date(now, tz_name())
    soon_before = datetime.combine(calendar.add_working_days(today, 2), time(0), tzinfo=local_tz())
    open_cases = select(func.count(Case.id)).where(Case.department_id == department_id,
                                                   Case.status.in_(OPEN_STATUSES))
    return {
        "overdue": db.session.scalar(open_cases.where(overdue_filter(now))) or 0,
        "soon": db.session.scalar(open_cases.where(Case.due_at >= now, Case.due_at < soon_before)) or 0,
    }


def overdue_filter(now: datetime | None = None):
    """An SQL condition selecting open cases past their deadline, using the due_at index."""
    return (Case.status.in_(OPEN_STATUSES)) & (Case.due_at < (now or utcnow()))

