"""Extension (延期) and supervision (督办) in the back office.

- `/staff/overdue`: the dispatchers' overdue board (every overdue case across departments, with
  its working days late, handler and urges) and the extension requests waiting for a decision;
- on the case page: the original and the extended deadline, the extension requests, and the
  forms to ask for an extension (handler), decide on one (dispatcher) and urge (dispatcher);
- the POST routes behind those forms.

Thin adapters over interact/services/deadlines.py and supervision.py: every rule lives there.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.widgets import NumberInput

from ..domain.errors import DomainError, NotFound
from ..domain.models import Case, ExtensionRequest, Role, User
from ..services import audit, calendar, deadlines, supervision
from ..services import cases as case_service
from ..services.tx import unit_of_work
from ..domain.timeutil import utcnow
from . import auth
from .forms import choice_list

PER_PAGE = 30
ANCHOR = "supervision-heading"
EXTENSION_STATUS_LABELS = {"pending": _l("待审批"), "approved": _l("已批准"), "denied": _l("未批准")}
# Where a form may send the user back to: the case page, or the board it was posted from.
RETURN_TO_BOARD = "board"


class ExtensionRequestForm(FlaskForm):
    """A handler asks for more working days."""

    days = StringField(_l("延期天数（工作日）"),
                       widget=NumberInput(min=1, max=deadlines.MAX_EXTENSION_DAYS, step=1))
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
    """What the case page shows about extensions and urges, and the forms open to this user."""

    requests: list[ExtensionRequest]
    pending: ExtensionRequest | None
    requesters: dict[int, User]
    request_form: ExtensionRequestForm | None
    decide_form: ExtensionDecisionForm | None
    urge_form: UrgeForm | None
    proposed_due_at: object  # the due date an approval would set, or None


def panel(case: Case) -> SupervisionPanel | None:
    """The extension and urge panel of `case` for the signed-in user, or None if there is nothing."""
    user = current_user._get_current_object()
    now = utcnow()
    requests = deadlines.extensions_of(case)
    pending = next((r for r in requests if r.status == deadlines.PENDING), None)
    request_form = (ExtensionRequestForm(formdata=None)
                    if deadlines.request_refusal(user, case, now) is None else None)
    decide_form = (ExtensionDecisionForm(formdata=None)
                   if deadlines.decide_refusal(user, case) is None else None)
    urge_form = UrgeForm(formdata=None) if supervision.urge_refusal(user, case, now) is None else None
    if not (requests or request_form or decide_form or urge_form or case.urge_count):
        return None
    requesters = supervision._users({r.requested_by_id for r in requests} | {r.decided_by_id for r in requests
                                                                              if r.decided_by_id})
    proposed = deadlines.extended_due_at(case.due_at, pending.days) if pending is not None else None
    return SupervisionPanel(requests, pending, requesters, request_form, decide_form, urge_form, proposed)


def register(bp) -> None:
    """Add the overdue board, the case-page panel and the extension and urge routes to `bp`."""

    @bp.context_processor
    def supervision_helpers():
        """The case page's extension and urge panel builder, and the request status labels."""
        return {"supervision_panel_for": panel, "EXTENSION_STATUS_LABELS": EXTENSION_STATUS_LABELS,
                "MAX_EXTENSION_DAYS": deadlines.MAX_EXTENSION_DAYS}

    @bp.get("/overdue")
    @auth.role_required(Role.dispatcher)
    def overdue_board():
        """Every overdue case across departments, and the extension requests to decide."""
        page_no = max(1, request.args.get("page", 1, type=int) or 1)
        now = utcnow()
        page, rows = supervision.overdue_board(page_no, PER_PAGE, now)
        pending = supervision.pending_extensions(now)
        cal = calendar.current_calendar()  # once per request; each row then costs O(1)
        proposed = {p.request.id: deadlines.extended_due_at(p.case.due_at, p.request.days, cal) for p in pending}
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
        return _act("case.request_extension", number, form,
                    lambda user: deadlines.request_extension(user, number, form.days.data or "",
                                                             form.reason.data or ""),
                    _("已提交延期申请，等待分办人员审批。"))

    @bp.post("/cases/<number>/extension/decide")
    @login_required
    def case_extension_decide(number: str):
        """A dispatcher approves or denies the pending extension request."""
        form = ExtensionDecisionForm()
        return _act("case.decide_extension", number, form,
                    lambda user: deadlines.decide_extension(user, number, form.decision.data or "",
                                                            form.comment.data or ""),
                    None)

    @bp.post("/cases/<number>/urge")
    @login_required
    def case_urge(number: str):
        """A dispatcher urges an overdue case."""
        form = UrgeForm()
        return _act("case.urge", number, form,
                    lambda user: supervision.urge(user, number, form.note.data or ""),
                    _("已督办办件 %(number)s，已通知承办部门。", number=number))


def _back(number: str, form) -> object:
    """Where to go after a form: the board it came from, else the case page."""
    if getattr(form, "return_to", None) is not None and form.return_to.data == RETURN_TO_BOARD:
        return redirect(url_for(".overdue_board"))
    return redirect(url_for(".case_page", number=number, _anchor=ANCHOR))


def _act(action: str, number: str, form, call, done_message: str | None):
    """Validate the form, run the service in one unit of work, flash the outcome and go back."""
    user = current_user._get_current_object()
    if not form.validate_on_submit():
        audit.record_now(action, user=user, object_type="case", object_id=number, details={"error": "invalid_form"})
        flash(_("表单无效，请刷新页面后重试。"), "error")
        return _back(number, form)
    try:
        with unit_of_work():
            case = call(user)
    except DomainError as exc:
        # A refused action is audited too; what it changed was rolled back.
        audit.record_refusal(action, exc, user=user, object_type="case", object_id=number)
        if isinstance(exc, NotFound):
            abort(404)
        flash(exc.message, "error")
        return _back(number, form)
    if done_message is None:  # the decision: say which, with the new due date
        req = deadlines.extensions_of(case)[-1]
        if req.status == deadlines.APPROVED:
            done_message = _("已批准延期：办件 %(number)s 的办理期限延至 %(day)s。", number=number,
                             day=calendar.deadline_of(case, calendar.current_calendar()).due_date.isoformat())
        else:
            done_message = _("已不批准办件 %(number)s 的延期申请，办理期限不变。", number=number)
    flash(done_message, "success")
    if not case_service.can_view(user, case) and getattr(form, "return_to", None) is not None:
        return redirect(url_for(".overdue_board"))
    return _back(number, form)
