"""Extensions of a case's deadline (延期): a handler asks, a dispatcher decides.

A handler of the case's department may ask, before the deadline and while the case is theirs to
work on (assigned or handling), for N more working days with a reason; one request at a time.
A dispatcher approves or denies it. On approval the due date moves N working days past the old
due date (23:59:59 local time on that day); the case counts its extension days and extensions,
while its original deadline stays recorded. On-time is then judged against the extended deadline.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.db import db
from ..domain.errors import ValidationFailed
from ..domain.models import Case, ExtensionRequest, User
from ..domain.states import ExtensionStatus
from ..domain.timeutil import utcnow
from . import audit, deadlines, notify
from .access import case_for_action, pending_extension
from .inputs import clean_text
from .timeline import add_event

MAX_EXTENSION_DAYS = 15
DECISIONS = ("approve", "deny")
PENDING, APPROVED, DENIED = ExtensionStatus.pending, ExtensionStatus.approved, ExtensionStatus.denied


def extensions_of(case: Case) -> list[ExtensionRequest]:
    """Every extension request of `case`, oldest first."""
    return list(db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.case_id == case.id)
                                   .order_by(ExtensionRequest.id)))


def _days(value) -> int:
    """The number of working days asked for, from JSON (int) or a form (digits)."""
    msg = _("延期天数须为1到%(n)d之间的整数（工作日）。", n=MAX_EXTENSION_DAYS)
    if isinstance(value, bool):
        raise ValidationFailed(msg, {"days": msg})
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= MAX_EXTENSION_DAYS:
        raise ValidationFailed(msg, {"days": msg})
    return value


def request_extension(user: User, case: str | Case, days, reason: str, now: datetime | None = None) -> Case:
    """A handler of the department asks for `days` more working days, with a reason."""
    now = now or utcnow()
    case = case_for_action(user, case, "request_extension", now)
    days = _days(days)
    reason = clean_text(reason, "reason", _("延期理由"))
    req = ExtensionRequest(case_id=case.id, days=days, reason=reason, requested_by_id=user.id,
                           requested_at=now, status=PENDING, old_due_at=case.due_at)
    db.session.add(req)
    db.session.flush()
    add_event(case, user, "extension_request", case.status, case.status, now,
                        note=_("申请延期 %(n)d 个工作日：%(reason)s", n=days, reason=reason), public=False)
    audit.record("case.request_extension", user=user, object_type="case", object_id=case.number,
                 details={"days": days, "request": req.id})
    notify.staff(notify.dispatchers(), "extension_requested", case=case, extension=req, requester=user,
                 dedupe_key=f"extension:{req.id}:requested")
    db.session.flush()
    return case


def decide_extension(user: User, case: str | Case, decision: str, comment: str = "",
                     now: datetime | None = None) -> Case:
    """A dispatcher approves (the deadline moves) or denies the pending extension request."""
    now = now or utcnow()
    case = case_for_action(user, case, "decide_extension", now)
    if decision not in DECISIONS:
        msg = _("审批结论须为批准或不批准。")
        raise ValidationFailed(msg, {"decision": msg})
    comment = clean_text(comment, "comment", _("审批意见"), required=False)
    req = pending_extension(case)
    req.decided_by_id, req.decided_at, req.comment = user.id, now, comment or None
    details = {"decision": decision, "days": req.days, "request": req.id}
    if decision == "approve":
        old_due = case.due_at
        new_due = deadlines.extended_due(old_due, req.days)
        req.status, req.old_due_at, req.new_due_at = APPROVED, old_due, new_due
        if case.original_due_at is None:
            case.original_due_at = old_due
        case.due_at = new_due
        case.extension_days = (case.extension_days or 0) + req.days
        case.extension_count = (case.extension_count or 0) + 1
        new_day = deadlines.local_day(new_due)
        details["due_date"] = new_day.isoformat()
        add_event(case, user, "extension_approve", case.status, case.status, now,
                            note=_("批准延期 %(n)d 个工作日，办理期限延至 %(day)s。%(comment)s",
                                   n=req.days, day=new_day.isoformat(), comment=comment).strip(),
                            public_note=_("已延期至 %(day)s", day=new_day.isoformat()))
    else:
        req.status, req.old_due_at = DENIED, case.due_at
        add_event(case, user, "extension_deny", case.status, case.status, now,
                            note=_("不批准延期。%(comment)s", comment=comment).strip(), public=False)
    audit.record("case.decide_extension", user=user, object_type="case", object_id=case.number, details=details)
    db.session.flush()
    _tell_decision(case, req, user)
    return case


def _tell_decision(case: Case, req: ExtensionRequest, dispatcher: User) -> None:
    """Tell the handlers (and the requester) the decision, and the citizen an approval."""
    approved = req.status == APPROVED
    requester = db.session.get(User, req.requested_by_id)
    handlers = [requester, *notify.department_handlers(case.department_id)]
    notify.staff(handlers, "extension_decided", case=case, extension=req, approved=approved,
                 dispatcher=dispatcher, dedupe_key=f"extension:{req.id}:decided")
    if approved:
        notify.citizen(case, "extension_granted", extension=req, days=req.days, reason=req.reason,
                       new_due_at=req.new_due_at, old_due_at=req.old_due_at,
                       dedupe_key=f"extension:{req.id}:citizen")
