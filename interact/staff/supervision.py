"""Extension (延期) and supervision (督办) in the back office.

- `/staff/overdue`: the dispatchers' overdue board (every overdue case across departments, with
  its working days late, handler and urges) and the extension requests waiting for a decision;
- on the case page: the original and the extended deadline, the extension requests, and the
  forms to ask for an extension (handler), decide on one (dispatcher) and urge (dispatcher);
- the POST routes behind those forms.

The case page view calls `panel` for its data; the blueprint "staff_supervision" holds the board
and the POST routes. Thin adapters over interact/services/extensions.py and supervision.py:
every rule lives there.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.widgets import NumberInput

from ..domain.models import Case, ExtensionRequest, Role, User
from ..domain.states import ExtensionStatus
from ..services import calendar, deadlines, supervision
from ..web.actions import invalid_form, run_for_page
from ..web.paging import page_arg
from ..domain.timeutil import utcnow
from . import auth
from .forms import choice_list
from ..services import access, actions
from ..services import extensions

PER_PAGE = 30
ANCHOR = "supervision-heading"
EXTENSION_STATUS_LABELS = ExtensionStatus.titles()
# Where a form may send the user back to: the case page, or the board it was posted from.
RETURN_TO_BOARD = "board"


class ExtensionRequestForm(FlaskForm):
    """A handler asks for more working days."""

    days = StringField(_l("延期天数（工作日）"),
                       widget=NumberInput(min=1, max=extensions.MAX_EXTENSION_DAYS, step=1))
    reason = TextAreaField(_l("延期理由"))


class ExtensionDecisionForm(FlaskForm):
    """A dispatcher approves or denies a pending request."""

    decision = RadioField(_l("审批结论"), choices=choice_list([("approve", _l("批准")), ("deny", _l("不批准"))]),
                          validate_choice=False)
    comment = TextAreaField(_l("审批意见（可选）"))
    return_to = HiddenField()


class UrgeForm(FlaskForm):
    """A dispatcher urges an overdue case."""

    note = TextAreaField(_l("督办意见"))
    return_to = HiddenField()


@dataclass(frozen=True)
class SupervisionPanel:
    """What the case page shows about extensions and urges, the forms open to this user, and the labels."""

    requests: list[ExtensionRequest]
    pending: ExtensionRequest | None
    requesters: dict[int, User]
    request_form: ExtensionRequestForm | None
    decide_form: ExtensionDecisionForm | None
    urge_form: UrgeForm | None
    proposed_due_at: object  # the due date an approval would set, or None
    status_labels: ClassVar[dict] = EXTENSION_STATUS_LABELS
    max_days: ClassVar[int] = extensions.MAX_EXTENSION_DAYS


def panel(case: Case, allowed: Collection[str]) -> SupervisionPanel | None:
    """The extension and urge panel of `case`, or None if there is nothing to show.

    `allowed` names the actions open to the user now (`access.available_actions` over every
    transition): each of request_extension, decide_extension and urge in it gets its form.
    """
    requests = extensions.extensions_of(case)
    pending = next((r for r in requests if r.status == extensions.PENDING), None)
    request_form = ExtensionRequestForm(formdata=None) if "request_extension" in allowed else None
    decide_form = ExtensionDecisionForm(formdata=None) if "decide_extension" in allowed else None
    urge_form = UrgeForm(formdata=None) if "urge" in allowed else None
    if not (requests or request_form or decide_form or urge_form or case.urge_count):
        return None
    requesters = supervision.users_by_id({r.requested_by_id for r in requests} | {r.decided_by_id for r in requests
                                                                              if r.decided_by_id})
    proposed = deadlines.extended_due(case.due_at, pending.days) if pending is not None else None
    return SupervisionPanel(requests, pending, requesters, request_form, decide_form, urge_form, proposed)


def make_blueprint() -> Blueprint:
    """Build the blueprint of the overdue board and the extension and urge routes ("staff_supervision")."""
    bp = auth.staff_blueprint("staff_supervision", __name__)

    @bp.get("/overdue")
    @auth.role_required(Role.dispatcher)
    def overdue_board():
        """Every overdue case across departments, and the extension requests to decide."""
        page_no = page_arg()
        now = utcnow()
        page, rows = supervision.overdue_board(page_no, PER_PAGE, now)
        pending = supervision.pending_extensions(now)
        cal = calendar.current_calendar()  # once per request; each row then costs O(1)
        proposed = {p.request.id: deadlines.extended_due(p.case.due_at, p.request.days, cal) for p in pending}
        return render_template(
            "staff/supervision/overdue.html", page=page, rows=rows, pending=pending, proposed=proposed,
            urge_form=UrgeForm(formdata=None, return_to=RETURN_TO_BOARD),
            decide_form=ExtensionDecisionForm(formdata=None, return_to=RETURN_TO_BOARD),
        )

    @bp.post("/cases/<number>/extension")
    @login_required
    def case_extension_request(number: str):
        """A handler asks for an extension of the deadline."""
        form = ExtensionRequestForm()
        return _act("request_extension", number, form, {"days": form.days.data, "reason": form.reason.data},
                    _("已提交延期申请，等待分办人员审批。"))

    @bp.post("/cases/<number>/extension/decide")
    @login_required
    def case_extension_decide(number: str):
        """A dispatcher approves or denies the pending extension request."""
        form = ExtensionDecisionForm()
        return _act("decide_extension", number, form,
                    {"decision": form.decision.data, "comment": form.comment.data}, None)

    @bp.post("/cases/<number>/urge")
    @login_required
    def case_urge(number: str):
        """A dispatcher urges an overdue case."""
        form = UrgeForm()
        return _act("urge", number, form, {"note": form.note.data},
                    _("已督办办件 %(number)s，已通知承办部门。", number=number))

    return bp


def _back(number: str, form) -> str:
    """Where to go after a form: the board it came from, else the case page."""
    if getattr(form, "return_to", None) is not None and form.return_to.data == RETURN_TO_BOARD:
        return url_for(".overdue_board")
    return url_for("staff.case_page", number=number, _anchor=ANCHOR)


def _act(action: str, number: str, form, body: dict, done_message: str | None):
    """Validate the form, take the action as the API would, flash the outcome and go back."""
    user = current_user._get_current_object()
    if not form.validate_on_submit():
        return invalid_form("case." + action, user, "case", number, _back(number, form))
    case, refused = run_for_page("case." + action, user, "case", number,
                                 lambda: actions.perform(user, number, action, body), back=_back(number, form))
    if refused is not None:
        return refused
    if done_message is None:  # the decision: say which, with the new due date
        req = extensions.extensions_of(case)[-1]
        if req.status == extensions.APPROVED:
            done_message = _("已批准延期：办件 %(number)s 的办理期限延至 %(day)s。", number=number,
                             day=deadlines.case_deadline(case, calendar.current_calendar()).due_date.isoformat())
        else:
            done_message = _("已不批准办件 %(number)s 的延期申请，办理期限不变。", number=number)
    flash(done_message, "success")
    if not access.can_view(user, case) and getattr(form, "return_to", None) is not None:
        return redirect(url_for(".overdue_board"))
    return redirect(_back(number, form))
