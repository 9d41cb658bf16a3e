"""Supervision of overdue cases by the dispatch office (督办): the overdue board and urging.

Dispatchers see every overdue case across departments, with how many working days late each one
is, and every extension request waiting for them. They may urge (督办) an overdue case with a
note: the urge is recorded in the case's timeline, counted on the case, audited, and the
department's handlers and reviewers are told.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..domain.db import db
from ..domain.errors import ValidationFailed
from ..domain.models import OPEN_STATUSES, Case, ExtensionRequest, User
from ..domain.timeutil import utcnow
from . import audit, calendar, deadlines, notify
from .access import case_for_action
from .extensions import PENDING
from .listing import Page, paginate
from .timeline import add_event

URGE_NOTE_LIMIT = 1000


@dataclass(frozen=True)
class OverdueRow:
    """One line of the overdue board."""

    case: Case
    deadline: deadlines.Deadline
    handler: User | None
    pending_extension: ExtensionRequest | None


@dataclass(frozen=True)
class PendingExtension:
    """An extension request waiting for a dispatcher, with its case and requester."""

    request: ExtensionRequest
    case: Case
    requester: User
    deadline: deadlines.Deadline


def overdue_board(page: int = 1, per_page: int = 50, now: datetime | None = None) -> tuple[Page,
                                                                                            list[OverdueRow]]:
    """One page of every open case past its deadline, longest overdue first, with working days late."""
    now = now or utcnow()
    # The (status, due_at) index answers both the page and the count.
    stmt = (select(Case).options(joinedload(Case.department)).where(deadlines.overdue_filter(now))
            .order_by(Case.due_at, Case.id))
    result = paginate(stmt, page, per_page)
    cal = calendar.current_calendar()
    ids = [c.id for c in result.items]
    handlers = users_by_id({c.handler_id for c in result.items if c.handler_id})
    pending = {}
    if ids:
        pending = {r.case_id: r for r in db.session.scalars(
            select(ExtensionRequest).where(ExtensionRequest.case_id.in_(ids), ExtensionRequest.status == PENDING))}
    rows = [OverdueRow(c, deadlines.case_deadline(c, cal, now), handlers.get(c.handler_id), pending.get(c.id))
            for c in result.items]
    return result, rows


def pending_extensions(now: datetime | None = None) -> list[PendingExtension]:
    """Every extension request waiting for a decision, oldest first."""
    now = now or utcnow()
    rows = db.session.execute(
        select(ExtensionRequest, Case, User)
        .join(Case, Case.id == ExtensionRequest.case_id)
        .join(User, User.id == ExtensionRequest.requested_by_id)
        .options(joinedload(Case.department))
        # A request left pending on a case answered meanwhile has nothing left to decide.
        .where(ExtensionRequest.status == PENDING, Case.status.in_(OPEN_STATUSES))
        .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
    ).all()
    cal = calendar.current_calendar()
    return [PendingExtension(req, case, user, deadlines.case_deadline(case, cal, now)) for req, case, user in rows]


def users_by_id(ids: set[int]) -> dict[int, User]:
    """Users by id, in one query."""
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _note(value: str | None) -> str:
    """The urge's note: required, at most URGE_NOTE_LIMIT characters."""
    value = (value or "").strip()
    if not value or len(value) > URGE_NOTE_LIMIT:
        msg = (_("请填写督办意见。") if not value
               else _("督办意见不能超过%(n)d字。", n=URGE_NOTE_LIMIT))
        raise ValidationFailed(msg, {"note": msg})
    return value


def urge(user: User, case: str | Case, note: str, now: datetime | None = None) -> Case:
    """A dispatcher urges an overdue case: timeline, count, audit, and the department is told."""
    now = now or utcnow()
    case = case_for_action(user, case, "urge", now)
    note = _note(note)
    case.urge_count = (case.urge_count or 0) + 1
    case.last_urged_at = now
    days_late = deadlines.case_deadline(case, now=now).days_late
    add_event(case, user, "urge", case.status, case.status, now,
                        note=_("第 %(n)d 次督办：%(note)s", n=case.urge_count, note=note), public=False)
    audit.record("case.urge", user=user, object_type="case", object_id=case.number,
                 details={"urge_count": case.urge_count, "days_late": days_late})
    told = [*notify.department_handlers(case.department_id), *notify.department_reviewers(case.department_id)]
    notify.staff(told, "case_urged", case=case, note=note, urge_count=case.urge_count, days_late=days_late,
                 dispatcher=user, dedupe_key=f"urge:{case.id}:{case.urge_count}")
    db.session.flush()
    return case
