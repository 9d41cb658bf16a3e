"""Deadline reminders and the supervision of overdue cases (Art. 28), queued by `interact remind`.

Three thresholds, each told once per case and due date:

- ``due_soon``: the case is due by the end of the next working day after today (so across a
  weekend or a holiday the reminder comes on the last working day before the due date). The
  department's handlers are told (its reviewers too while a draft waits for them); for a case
  with no department, the dispatchers.
- ``overdue``: from the first overdue working day, the department's handlers and reviewers (the
  dispatchers for a case with no department).
- ``supervision``: from the second overdue working day, the dispatch office (督办).

The cases come from the stored ``due_at`` through the ``(status, due_at)`` index; the calendar
only turns "now" into the instants those queries compare with. Every notification carries a
dedupe key made of the case, its due date and the threshold, so running the command twice
queues nothing new, and an extension (a new due date) arms the reminders again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..domain import deadlines as rule
from ..domain.db import db
from ..domain.models import OPEN_STATUSES, Case, Status, User
from ..domain.timeutil import utcnow
from ..domain.workdays import WorkCalendar, local_date
from . import calendar, notify
from . import deadlines

THRESHOLDS = ("due_soon", "overdue", "supervision")
TEMPLATES = {"due_soon": "reminder_due_soon", "overdue": "reminder_overdue", "supervision": "supervision_overdue"}
# A holiday is never this long; the bound only keeps a broken calendar from looping forever.
_MAX_STEP_BACK = 60


@dataclass(frozen=True)
class Boundaries:
    """The instants the reminder queries compare `due_at` with, for one run."""

    as_of: datetime
    today: date
    next_working_day: date
    due_soon_until: datetime  # due_at <= this (and not yet overdue): due soon (the deadline rule's)
    overdue_before: datetime  # due_at < this: at least one overdue working day
    supervision_before: datetime  # due_at < this: at least two overdue working days


@dataclass
class RemindResult:
    """What one run queued: cases per threshold, and notifications (mails or digest items)."""

    cases: dict[str, int] = field(default_factory=lambda: dict.fromkeys(THRESHOLDS, 0))
    notifications: int = 0

    @property
    def total_cases(self) -> int:
        """Cases that got at least one new notification, summed over the thresholds."""
        return sum(self.cases.values())


def latest_working_day(cal: WorkCalendar, day: date) -> date:
    """`day` if it is a working day, else the last working day before it."""
    for _ in range(_MAX_STEP_BACK):
        if cal.is_working_day(day):
            return day
        day -= timedelta(days=1)
    raise ValueError(f"no working day in the {_MAX_STEP_BACK} days before {day.isoformat()}")


def boundaries(as_of: datetime, cal: WorkCalendar) -> Boundaries:
    """Turn `as_of` into the reminder boundaries on the working-day calendar.

    A case is n working days late on local day D when n working days lie after its due date up
    to D, i.e. when it was due before the n-th latest working day up to D began.
    """
    tz = calendar.tz_name()
    today = local_date(as_of, tz)
    first = latest_working_day(cal, today)
    second = latest_working_day(cal, first - timedelta(days=1))
    return Boundaries(as_of, today, cal.add_working_days(today, 1), rule.due_soon_until(as_of, cal, tz),
                      rule.start_of_local_day(first, tz), rule.start_of_local_day(second, tz))


def _cases(*conditions) -> list[Case]:
    """Open cases matching `conditions`, soonest deadline first, with their departments."""
    stmt = (select(Case).options(joinedload(Case.department))
            .where(Case.status.in_(OPEN_STATUSES), *conditions).order_by(Case.due_at, Case.id))
    return list(db.session.scalars(stmt))


def due_soon_cases(b: Boundaries) -> list[Case]:
    """Open cases not yet overdue, due by the end of the next working day."""
    return _cases(Case.due_at >= b.as_of, Case.due_at <= b.due_soon_until)


def overdue_cases(b: Boundaries) -> list[Case]:
    """Open cases with at least one overdue working day."""
    return _cases(Case.due_at < b.overdue_before)


def supervision_cases(b: Boundaries) -> list[Case]:
    """Open cases with at least two overdue working days."""
    return _cases(Case.due_at < b.supervision_before)


class _Recipients:
    """Who is told, per department, looked up once per run."""

    def __init__(self):
        self._handlers: dict[int, list[User]] = {}
        self._reviewers: dict[int, list[User]] = {}
        self._dispatchers: list[User] | None = None

    def handlers(self, department_id: int) -> list[User]:
        """The department's active handlers."""
        if department_id not in self._handlers:
            self._handlers[department_id] = notify.department_handlers(department_id)
        return self._handlers[department_id]

    def reviewers(self, department_id: int) -> list[User]:
        """The department's active reviewers."""
        if department_id not in self._reviewers:
            self._reviewers[department_id] = notify.department_reviewers(department_id)
        return self._reviewers[department_id]

    def dispatchers(self) -> list[User]:
        """The active dispatchers."""
        if self._dispatchers is None:
            self._dispatchers = notify.dispatchers()
        return self._dispatchers

    def for_threshold(self, case: Case, threshold: str) -> list[User]:
        """Whom `threshold` tells about `case`."""
        if threshold == "supervision" or case.department_id is None:
            return self.dispatchers()
        users = list(self.handlers(case.department_id))
        if threshold == "overdue" or case.status == Status.pending_review:
            users += self.reviewers(case.department_id)
        return users


def dedupe_key(case: Case, threshold: str) -> str:
    """The key that makes a reminder once-only per case, due date and threshold."""
    due_day = local_date(case.due_at, calendar.tz_name())
    return f"remind:{case.id}:{due_day:%Y%m%d}:{threshold}"


def _handler_labels(cases: list[Case]) -> dict[int, str]:
    """The names of the handlers who took these cases on, in one query."""
    ids = {c.handler_id for c in cases if c.handler_id}
    if not ids:
        return {}
    return {u.id: u.label for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def queue_reminders(as_of: datetime | None = None) -> RemindResult:
    """Queue the due-soon, overdue and supervision reminders owed at `as_of` (default now)."""
    as_of = as_of or utcnow()
    cal = calendar.current_calendar()
    b = boundaries(as_of, cal)
    recipients = _Recipients()
    result = RemindResult()
    for threshold, cases in (("due_soon", due_soon_cases(b)), ("overdue", overdue_cases(b)),
                             ("supervision", supervision_cases(b))):
        handlers = _handler_labels(cases)
        for case in cases:
            deadline = deadlines.case_deadline(case, cal, as_of)
            told = notify.staff(
                recipients.for_threshold(case, threshold), TEMPLATES[threshold], case=case,
                dedupe_key=dedupe_key(case, threshold), due_date=deadline.due_date,
                days_late=deadline.days_late, handler_name=handlers.get(case.handler_id))
            if told:
                result.cases[threshold] += 1
                result.notifications += told
    db.session.flush()
    return result
