"""Deadlines of stored cases: the working days each kind allows, the due dates stored on the
cases, and the queries that find what is overdue or due soon.

The rule itself (end of the local day, due soon, extension arithmetic) is pure and lives in
interact.domain.deadlines; this module applies it with the platform's calendar, time zone and
settings, and keeps the stored `due_at` of open cases in step with the calendar.
"""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..domain import deadlines as rule
from ..domain.db import db
from ..domain.errors import ValidationFailed
from ..domain.kinds import DEFAULT_DEADLINE_DAYS, KINDS
from ..domain.models import OPEN_STATUSES, Case, KindSetting, User
from ..domain.timeutil import utcnow
from ..domain.workdays import WorkCalendar, local_date
from . import audit
from .calendar import current_calendar, tz_name

MIN_DEADLINE_DAYS, MAX_DEADLINE_DAYS = 1, 60

Deadline = rule.Deadline


# --- the working days allowed per kind ------------------------------------------------------

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
    if not MIN_DEADLINE_DAYS <= days <= MAX_DEADLINE_DAYS:
        msg = _("办理期限须在%(lo)d到%(hi)d个工作日之间。", lo=MIN_DEADLINE_DAYS, hi=MAX_DEADLINE_DAYS)
        raise ValidationFailed(msg, {"days": msg})
    setting = db.session.get(KindSetting, kind)
    before = setting.deadline_days if setting else DEFAULT_DEADLINE_DAYS
    if setting is None:
        db.session.add(KindSetting(kind=kind, deadline_days=days))
    else:
        setting.deadline_days = days
    db.session.flush()
    audit.record("deadline.set", user=actor, object_type="kind", object_id=kind,
                 details={"from": before, "to": days})


# --- the rule applied with the platform's calendar and time zone ----------------------------

def case_due_at(submitted_at: datetime, days: int, cal: WorkCalendar | None = None) -> datetime:
    """When a case submitted at `submitted_at` with `days` working days is due."""
    return rule.due_at(submitted_at, days, cal or current_calendar(), tz_name())


def extended_due(old_due_at: datetime, days: int, cal: WorkCalendar | None = None) -> datetime:
    """When a case due at `old_due_at` is due after an extension of `days` working days."""
    return rule.extended_due_at(old_due_at, days, cal or current_calendar(), tz_name())


def case_deadline(case: Case, cal: WorkCalendar | None = None, now: datetime | None = None) -> Deadline:
    """The deadline, working days left and light of one case (O(1) per case)."""
    return rule.deadline_of(case.due_at, case.is_open, cal or current_calendar(), now or utcnow(), tz_name(),
                            working_days_used=case.working_days_used, on_time=case.on_time)


def answered_working_days(case: Case, answered_at: datetime, cal: WorkCalendar | None = None) -> int:
    """Working days from the case's submission day (excluded) to the answer (included)."""
    return rule.working_days_used(case.submitted_on, answered_at, cal or current_calendar(), tz_name())


def local_day(moment: datetime) -> date:
    """The platform's local calendar date of an instant."""
    return local_date(moment, tz_name())


# --- queries on the stored due dates --------------------------------------------------------

def overdue_filter(now: datetime | None = None):
    """An SQL condition selecting open cases past their deadline, using the due_at index."""
    return (Case.status.in_(OPEN_STATUSES)) & (Case.due_at < (now or utcnow()))


def due_soon_filter(now: datetime, cal: WorkCalendar | None = None):
    """An SQL condition selecting open cases that are due soon at `now` (the rule's definition)."""
    until = rule.due_soon_until(now, cal or current_calendar(), tz_name())
    return (Case.status.in_(OPEN_STATUSES)) & (Case.due_at >= now) & (Case.due_at <= until)


def deadline_counts(department_id: int, cal: WorkCalendar, now: datetime | None = None) -> dict[str, int]:
    """How many of a department's open cases are overdue, and how many are due soon (counted in SQL)."""
    now = now or utcnow()
    open_cases = select(func.count(Case.id)).where(Case.department_id == department_id)
    return {
        "overdue": db.session.scalar(open_cases.where(overdue_filter(now))) or 0,
        "soon": db.session.scalar(open_cases.where(due_soon_filter(now, cal))) or 0,
    }


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
        anchor = rule.start_of_local_day(submitted_on, tz)
        original = rule.due_at(anchor, days, cal, tz)
        new_due = rule.due_at(anchor, days + extra, cal, tz)
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
