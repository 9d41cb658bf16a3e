"""The case status machine in one table: which action moves which status where, and who may act."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .models import OPEN_STATUSES, Role, Status
from .states import DraftKind

# The titles live with the enum (interact.domain.states); this mapping keeps its old callers.
STATUS_LABELS: dict[Status, object] = {s: s.title for s in Status}


@dataclass(frozen=True)
class Transition:
    """One case action: the statuses it starts from, where it goes, and the role that may take it."""

    action: str
    label: object
    sources: frozenset[Status]
    # For "review" the target depends on the decision and the draft; see `review_target`.
    # None for the actions around the statuses (extension, urging): the status stays.
    target: Status | None
    role: Role
    # Whether the acting user must belong to the case's department.
    own_department: bool
    # False for the actions that work around the statuses (延期, 督办) without changing them.
    changes_status: bool = True


OPEN = frozenset(OPEN_STATUSES)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("dispatch", _l("分办"), frozenset({Status.submitted}), Status.assigned,
                   Role.dispatcher, own_department=False),
        Transition("accept", _l("受理"), frozenset({Status.assigned}), Status.handling,
                   Role.handler, own_department=True),
        Transition("transfer", _l("退回分办"), frozenset({Status.assigned, Status.handling}),
                   Status.submitted, Role.handler, own_department=True),
        Transition("reply", _l("拟写答复"), frozenset({Status.handling}), Status.pending_review,
                   Role.handler, own_department=True),
        Transition("decline", _l("拟不予受理"), frozenset({Status.assigned, Status.handling}),
                   Status.pending_review, Role.handler, own_department=True),
        Transition("review", _l("审核"), frozenset({Status.pending_review}), None,
                   Role.reviewer, own_department=True),
        # A handler asks while the case is in their hands; once drafted, the reviewer's step is short.
        Transition("request_extension", _l("申请延期"), frozenset({Status.assigned, Status.handling}), None,
                   Role.handler, own_department=True, changes_status=False),
        Transition("decide_extension", _l("审批延期"), OPEN, None,
                   Role.dispatcher, own_department=False, changes_status=False),
        Transition("urge", _l("督办"), OPEN, None,
                   Role.dispatcher, own_department=False, changes_status=False),
    )
}

# The actions that move a case from one status to another (the status machine proper).
STATUS_ACTIONS: tuple[str, ...] = tuple(a for a, t in TRANSITIONS.items() if t.changes_status)

# Timeline labels for events that are not actions of the table.
EVENT_LABELS: dict[str, object] = {
    "submit": _l("提交"),
    "approve": _l("审核通过"),
    "return": _l("退回修改"),
    "rate": _l("评价"),
    "recompute_due": _l("办理期限调整"),
    "extension_request": _l("申请延期"),
    "extension_approve": _l("批准延期"),
    "extension_deny": _l("不批准延期"),
    "reissue_code": _l("重新发送查询码"),
    **{a: t.label for a, t in TRANSITIONS.items()},
}


def review_target(decision: str, draft_kind: str | None) -> Status:
    """Where a review decision moves a pending case."""
    if decision == "return":
        return Status.handling
    return Status.declined if draft_kind == DraftKind.decline else Status.replied


def status_label(status: Status | str) -> object:
    """The translated label of a status."""
    return STATUS_LABELS[Status(status)]
