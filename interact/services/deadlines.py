"""Extensions of a case's deadline (延期): a handler asks, a dispatcher decides.

A handler of the case's department may ask, before the deadline and while the case is theirs to
work on (assigned or handling), for N more working days with a reason; one request at a time.
A dispatcher approves or denies it. On approval the due date moves N working days past the old
due date (23:59:59 local time on that day); the case counts its extension days and extensions,
while its original deadline stays recorded. On-time is then judged against the extended deadline.
"""
from __future__ import annotations

from datetime import datetime, time

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..domain.db import db
from ..domain.models import Case, ExtensionRequest, Role, Status, User
from ..domain.timeutil import local_tz, utcnow
from ..domain.workdays import WorkCalendar, local_date
from . import audit, calendar, notify
from . import cases as case_service

MAX_EXTENSION_DAYS = 15
# A handler asks while the case is in their hands; once drafted, the reviewer's step is short.
EXTENSION_STATUSES = (Status.assigned, Status.handling)
DECISIONS = ("approve", "deny")
PENDING, APPROVED, DENIED = "pending", "approved", "denied"


def pending_extension(case: Case) -> ExtensionRequest | None:
    """The request of `case` waiting for a dispatcher, if any."""
    return db.session.scalar(select(ExtensionRequest).where(ExtensionRequest.case_id == case.id,
                                                            ExtensionRequest.status == PENDING).limit(1))


def extensions_of(case: Case) -> list[ExtensionRequest]:
    """Every extension request of `case`, oldest first."""
    return list(db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.case_id == case.id)
                                   .order_by(ExtensionRequest.id)))


def _load(user: User, case: str | Case, lock: bool = True) -> Case:
    """The case if `user` may see it (NotFound otherwise)."""
    if isinstance(case, Case):
        if not case_service.can_view(user, case):
            raise NotFound(_("办件不存在。"))
        return case
    return case_service.get_case_for_staff(user, case, lock=lock)


def request_refusal(user: User, case: Case, now: datetime | None = None) -> Exception | None:
    """Why `user` may not ask for an extension of `case` now, as the error to raise, or None."""
    now = now or utcnow()
    if not user.has_role(Role.handler) or case.department_id is None or case.department_id != user.department_id:
        return Forbidden(_("只有本部门的承办人可以申请延期。"))
    if case.status not in EXTENSION_STATUSES:
        return Conflict(_("办件当前状态为“%(status)s”，不能申请延期。", status=case_service._status_label(case.status)))
    if now > case.due_at:
        return Conflict(_("办理期限已过，不能再申请延期。"))
    if pending_extension(case) is not None:
        return Conflict(_("该办件已有一项延期申请等待审批。"))
    return None


def decide_refusal(user: User, case: Case) -> Exception | None:
    """Why `user` may not decide on `case`'s extension request now, or None."""
    if not user.has_role(Role.dispatcher):
        return Forbidden(_("只有分办人员可以审批延期申请。"))
    if not case.is_open:
        return Conflict(_("办件已办结，不能再审批延期。"))
    if pending_extension(case) is None:
        return Conflict(_("该办件没有等待审批的延期申请。"))
    return None


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
    case = _load(user, case)
    refusal = request_refusal(user, case, now)
    if refusal is not None:
        raise refusal
    days = _days(days)
    reason = case_service._text(reason, "reason", _("延期理由"))
    req = ExtensionRequest(case_id=case.id, days=days, reason=reason, requested_by_id=user.id,
                           requested_at=now, status=PENDING, old_due_at=case.due_at)
    db.session.add(req)
    db.session.flush()
    case_service._event(case, user, "extension_request", case.status, case.status, now,
                        note=_("申请延期 %(n)d 个工作日：%(reason)s", n=days, reason=reason), public=False)
    audit.record("case.request_extension", user=user, object_type="case", object_id=case.number,
                 details={"days": days, "request": req.id})
    notify.staff(notify.dispatchers(), "extension_requested", case=case, extension=req, requester=user,
                 dedupe_key=f"extension:{req.id}:requested")
    db.session.flush()
    return case


def extended_due_at(old_due_at: datetime, days: int, cal: WorkCalendar | None = None) -> datetime:
    """23:59:59 local on the `days`-th working day after the old due date."""
    cal = cal or calendar.current_calendar()
    day = cal.add_working_days(local_date(old_due_at, calendar.tz_name()), days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=local_tz()).astimezone(old_due_at.tzinfo)


def decide_extension(user: User, case: str | Case, decision: str, comment: str = "",
                     now: datetime | None = None) -> Case:
    """A dispatcher approves (the deadline moves) or denies the pending extension request."""
    now = now or utcnow()
    case = _load(user, case)
    refusal = decide_refusal(user, case)
    if refusal is not None:
        raise refusal
    if decision not in DECISIONS:
        msg = _("审批结论须为批准或不批准。")
        raise ValidationFailed(msg, {"decision": msg})
    comment = case_service._text(comment, "comment", _("审批意见"), required=False)
    req = pending_extension(case)
    req.decided_by_id, req.decided_at, req.comment = user.id, now, comment or None
    details = {"decision": decision, "days": req.days, "request": req.id}
    if decision == "approve":
        old_due = case.due_at
        new_due = extended_due_at(old_due, req.days)
        req.status, req.old_due_at, req.new_due_at = APPROVED, old_due, new_due
        if case.original_due_at is None:
            case.original_due_at = old_due
        case.due_at = new_due
        case.extension_days = (case.extension_days or 0) + req.days
        case.extension_count = (case.extension_count or 0) + 1
        new_day = local_date(new_due, calendar.tz_name())
        details["due_date"] = new_day.isoformat()
        case_service._event(case, user, "extension_approve", case.status, case.status, now,
                            note=_("批准延期 %(n)d 个工作日，办理期限延至 %(day)s。%(comment)s",
                                   n=req.days, day=new_day.isoformat(), comment=comment).strip(),
                            public_note=_("已延期至 %(day)s", day=new_day.isoformat()))
    else:
        req.status, req.old_due_at = DENIED, case.due_at
        case_service._event(case, user, "extension_deny", case.status, case.status, now,
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
