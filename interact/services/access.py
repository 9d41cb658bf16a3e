"""Who may see a case, and whether a user may take an action on it now.

The one place where the transition table's rules (role, own department, the statuses an action
starts from; interact/domain/workflow.py) and each action's own conditions (not one's own draft,
not past the deadline for an extension, overdue for an urge…) are applied. The services call
`case_for_action` before they change anything; the pages and the API ask `available_actions`
which buttons to show. A refusal is a typed error: NotFound (the user may not know the case
exists), Forbidden (the role or department does not allow it), Conflict (the case's state does not).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..domain.db import db
from ..domain.deadlines import is_overdue
from ..domain.errors import Conflict, DomainError, Forbidden, NotFound
from ..domain.models import Case, ExtensionRequest, Role, Status, User
from ..domain.states import ExtensionStatus
from ..domain.timeutil import utcnow
from ..domain.workflow import STATUS_ACTIONS, TRANSITIONS, Transition, status_label
from .tx import lock_rows

# Actions whose refusal for role or department says who may take them, instead of the general text.
ROLE_MESSAGES = {
    "request_extension": _l("只有本部门的承办人可以申请延期。"),
    "decide_extension": _l("只有分办人员可以审批延期申请。"),
    "urge": _l("只有分办人员可以督办。"),
}


def pending_extension(case: Case) -> ExtensionRequest | None:
    """The extension request of `case` waiting for a dispatcher, if any."""
    return db.session.scalar(select(ExtensionRequest).where(ExtensionRequest.case_id == case.id,
                                                            ExtensionRequest.status == ExtensionStatus.pending).limit(1))


def is_supervised(case: Case, now: datetime | None = None) -> bool:
    """Whether the dispatch office oversees an open case: it is overdue (督办), or an extension
    request waits for a dispatcher's decision (延期)."""
    if not case.is_open:
        return False
    if is_overdue(case.due_at, now or utcnow()):
        return True
    return pending_extension(case) is not None


def can_view(user: User, case: Case, now: datetime | None = None) -> bool:
    """Whether a staff user may see a case at all (otherwise the answer is 404)."""
    if user.has_role(Role.dispatcher) and (case.status == Status.submitted or is_supervised(case, now)):
        return True
    if user.roles & {Role.handler, Role.reviewer}:
        return case.department_id is not None and case.department_id == user.department_id
    return False


def get_case_for_staff(user: User, number: str, *, lock: bool = False, now: datetime | None = None) -> Case:
    """The case `number` if `user` may see it; NotFound otherwise, whether or not it exists."""
    if lock:  # the caller checks, then writes: no other transaction may check in between
        lock_rows(Case, Case.number == number)
    case = db.session.scalar(select(Case).where(Case.number == number))
    if case is None or not can_view(user, case, now):
        raise NotFound(_("办件不存在。"))
    return case


# --- each action's own conditions, after the table's --------------------------------------------

def _not_own_draft(user: User, case: Case, now: datetime) -> DomainError | None:
    """Nobody reviews a draft they wrote (Art. 25: separate duties)."""
    if case.draft_by_id == user.id:
        return Forbidden(_("不能审核自己拟写的稿件。"))
    return None


def _extension_askable(user: User, case: Case, now: datetime) -> DomainError | None:
    """An extension is asked for before the deadline, one request at a time."""
    if is_overdue(case.due_at, now):
        return Conflict(_("办理期限已过，不能再申请延期。"))
    if pending_extension(case) is not None:
        return Conflict(_("该办件已有一项延期申请等待审批。"))
    return None


def _extension_pending(user: User, case: Case, now: datetime) -> DomainError | None:
    """A decision needs a request waiting for it."""
    if pending_extension(case) is None:
        return Conflict(_("该办件没有等待审批的延期申请。"))
    return None


def _urgeable(user: User, case: Case, now: datetime) -> DomainError | None:
    """Only a routed case past its deadline is urged; an unrouted one is dispatched instead."""
    if case.department_id is None:
        return Conflict(_("办件尚未分办，请直接分办。"))
    if not is_overdue(case.due_at, now):
        return Conflict(_("办件尚未超期，不能督办。"))
    return None


CONDITIONS: dict[str, Callable[[User, Case, datetime], DomainError | None]] = {
    "review": _not_own_draft,
    "request_extension": _extension_askable,
    "decide_extension": _extension_pending,
    "urge": _urgeable,
}


def _status_refusal(t: Transition, case: Case) -> Conflict:
    """Why the case's status does not allow `t`, in the words staff expect for that action."""
    if t.action == "request_extension":
        return Conflict(_("办件当前状态为“%(status)s”，不能申请延期。", status=status_label(case.status)))
    if t.action == "decide_extension":
        return Conflict(_("办件已办结，不能再审批延期。"))
    if t.action == "urge":
        return Conflict(_("办件已办结，无需督办。"))
    return Conflict(_("办件当前状态为“%(status)s”，不能执行“%(action)s”。",
                      status=status_label(case.status), action=t.label))


def refusal(user: User, case: Case, action: str, now: datetime | None = None) -> DomainError | None:
    """Why `user` may not take `action` on `case` now, as the error to raise, or None if allowed."""
    t = TRANSITIONS[action]
    if action in ROLE_MESSAGES:
        in_department = case.department_id is not None and case.department_id == user.department_id
        if not user.has_role(t.role) or (t.own_department and not in_department):
            return Forbidden(str(ROLE_MESSAGES[action]))
    else:
        if not user.has_role(t.role):
            return Forbidden(_("您的角色不能执行“%(action)s”。", action=t.label))
        if t.own_department and case.department_id != user.department_id:
            return Forbidden(_("只能办理本部门的办件。"))
    if case.status not in t.sources:
        return _status_refusal(t, case)
    condition = CONDITIONS.get(action)
    return condition(user, case, now or utcnow()) if condition else None


def available_actions(user: User, case: Case, now: datetime | None = None,
                      actions: Iterable[str] = STATUS_ACTIONS) -> list[Transition]:
    """The actions (by default those of the status machine) `user` may take on `case` now."""
    if not can_view(user, case, now):
        return []
    return [TRANSITIONS[a] for a in actions if refusal(user, case, a, now) is None]


def case_for_action(user: User, case: str | Case, action: str, now: datetime | None = None) -> Case:
    """Load the case (locked), check that `user` may see it and may take `action` at `now`; raise the refusal.

    Whether the user sees the case at all is decided at the present moment, like every page view;
    `now` (a replayed or simulated instant) only times the action's own conditions.
    """
    if isinstance(case, Case):
        if not can_view(user, case):
            raise NotFound(_("办件不存在。"))
    else:
        case = get_case_for_staff(user, case, lock=True)
    found = refusal(user, case, action, now)
    if found is not None:
        raise found
    return case
