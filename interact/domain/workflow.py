"""The case status machine in one table: which action moves which status where, and who may act."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .models import Role, Status

STATUS_LABELS: dict[Status, object] = {
    Status.submitted: _l("待分办"),
    Status.assigned: _l("待受理"),
    Status.handling: _l("办理中"),
    Status.pending_review: _l("待审核"),
    Status.replied: _l("已答复"),
    Status.declined: _l("不予受理"),
}


@dataclass(frozen=True)
class Transition:
    """One action: the statuses it starts from, where it goes, and the role that may take it."""

    action: str
    label: object
    sources: frozenset[Status]
    # For "review" the target depends on the decision and the draft; see `review_target`.
    target: Status | None
    role: Role
    # Whether the acting user must belong to the case's department.
    own_department: bool


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
    )
}

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
    "urge": _l("督办"),
    "reissue_code": _l("重新发送查询码"),
    **{a: t.label for a, t in TRANSITIONS.items()},
}


def review_target(decision: str, draft_kind: str | None) -> Status:
    """Where a review decision moves a pending case."""
    if decision == "return":
        return Status.handling
    return Status.declined if draft_kind == "decline" else Status.replied


def status_label(status: Status | str) -> object:
    """The translated label of a status."""
    return STATUS_LABELS[Status(status)]
