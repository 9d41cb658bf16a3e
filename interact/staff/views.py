"""The core of the staff back office (HTML, blueprint "staff"): sign-in and sign-out, the per-role
dashboard, the case page, its actions and its attachments. The other back-office pages live in
their own modules, each with its own blueprint (see `create_app`): the admin pages in admin.py.

Every view is a thin adapter: parse the form, call a service, commit once with `unit_of_work`,
then flash and redirect (or re-render with the service's messages). The rules live in
interact/services; a handler or reviewer of another department gets the service's 404.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.errors import ValidationFailed
from ..domain.db import db
from ..domain.models import OPEN_STATUSES, Attachment, Case, Role, Status
from ..services import audit, calendar, signin
from ..services import cases as case_service
from ..services.attachments import path_of
from ..services.tx import unit_of_work
from ..web.actions import invalid_form, run_for_page
from ..web.paging import page_arg
from ..domain.timeutil import utcnow
from ..domain.workdays import WorkCalendar
from ..domain.workflow import TRANSITIONS
from . import auth, forms, sessions
from .case_page import build as build_case_page
from ..services import access
from ..services import actions
from ..services import deadlines
from ..services import listing

PER_PAGE = 30


@dataclass(frozen=True)
class Queue:
    """One dashboard list: a page of cases with their deadlines, and its page parameter."""

    page: listing.Page
    rows: list[tuple[Case, deadlines.Deadline]]
    param: str


def make_blueprint() -> Blueprint:
    """Build the core back-office blueprint ("staff", under /staff)."""
    bp = auth.staff_blueprint("staff", __name__)

    # --- sign-in ---------------------------------------------------------------------------

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        """Sign in with username and password; start a fresh session."""
        # Signed-in users see the form too, so that someone else can sign in at a shared desk.
        next_url = auth.safe_next(request.args.get("next"))
        form = forms.LoginForm()
        if form.validate_on_submit():
            with unit_of_work():  # the attempt, a lockout and the audit entries are kept
                step = signin.password_step(form.username.data, form.password.data, request.remote_addr or "")
            if step.user is not None and step.needs_second_factor:
                sessions.begin_second_factor(step.user, next_url)
                return redirect(url_for("staff_account.login_verify"))
            if step.user is not None:
                # A new session on sign-in, so a session planted before it is worth nothing.
                sessions.start(step.user)
                return redirect(next_url or url_for(".dashboard"))
            if step.refused == "ip_throttled":
                flash(_("登录失败次数过多，请稍后再试。"), "error")
                return render_template("staff/auth/login.html", form=form, next_url=next_url), 429
        if request.method == "POST":
            # One message for every failure, so it never tells which of the two was wrong.
            flash(_("用户名或密码不正确，或账号已停用。"), "error")
            return render_template("staff/auth/login.html", form=form, next_url=next_url), 401
        return render_template("staff/auth/login.html", form=form, next_url=next_url)

    @bp.route("/logout", methods=["GET", "POST"])
    @login_required
    def logout():
        """Sign out (POST with the CSRF token); GET shows a confirm button."""
        form = forms.PostForm()
        if request.method == "POST" and form.validate_on_submit():
            with unit_of_work():  # ends this user's sessions everywhere, not only this one
                signin.logout(current_user._get_current_object())
            sessions.end()
            flash(_("您已退出登录。"), "info")
            return redirect(url_for(".login"))
        return render_template("staff/auth/logout.html", form=form)

    # --- dashboard -------------------------------------------------------------------------

    @bp.get("/")
    @login_required
    def dashboard():
        """The work of each role this user holds, one section per role."""
        user = current_user._get_current_object()
        cal = calendar.current_calendar()  # once per request; each row then costs O(1)
        now = utcnow()
        context: dict = {"unconfirmed_years": calendar.unconfirmed_deadline_years()}
        if user.has_role(Role.dispatcher):
            context["dispatch"] = _queue(case_service.dispatch_queue, "dispatch_page", cal, now)
            context["dispatch_form"] = forms.dispatch_form()
        if user.department_id is not None and user.has_role(Role.handler):
            context["handling"] = _queue(
                lambda page, per_page: case_service.department_queue(
                    user.department_id, OPEN_STATUSES, page, per_page),
                "handling_page", cal, now)
            context["counts"] = deadlines.deadline_counts(user.department_id, cal, now)
        if user.department_id is not None and user.has_role(Role.reviewer):
            context["review"] = _queue(
                lambda page, per_page: case_service.department_queue(
                    user.department_id, (Status.pending_review,), page, per_page),
                "review_page", cal, now)
        return render_template("staff/dashboard/index.html", **context)

    # --- cases -----------------------------------------------------------------------------

    @bp.get("/cases/<number>")
    @login_required
    def case_page(number: str):
        """Every field of one case, its timeline, and a form per action open to this user."""
        return _render_case(number)

    @bp.post("/cases/<number>/<action>")
    @login_required
    def case_action(number: str, action: str):
        """Take one workflow action from its form."""
        if action not in forms.ACTION_FORMS:
            abort(404)
        form = forms.ACTION_FORMS[action]()
        if action == "dispatch":
            form.department.choices = forms.department_choices()
        user = current_user._get_current_object()
        back = url_for(".case_page", number=number)
        if not form.validate_on_submit():
            return invalid_form("case." + action, user, "case", number, back)

        def form_again(exc: ValidationFailed):
            """Keep what the user typed: show the page again with the form as posted."""
            flash(exc.message, "error")
            forms.attach_errors(form, exc)
            return _render_case(number, posted=(action, form), status=400)

        case, refused = run_for_page("case." + action, user, "case", number,
                                     lambda: actions.perform(user, number, action, form.body()),
                                     back=back, on_invalid=form_again)
        if refused is not None:
            return refused
        flash(_("已完成“%(action)s”：办件 %(number)s。", action=TRANSITIONS[action].label, number=number),
              "success")
        # After a transfer or a dispatch the user may no longer see the case.
        if access.can_view(user, case):
            return redirect(url_for(".case_page", number=number))
        return redirect(url_for(".dashboard"))

    @bp.get("/cases/<number>/attachments/<int:attachment_id>")
    @login_required
    def attachment(number: str, attachment_id: int):
        """One attachment of a case this user may see; never rendered as a page of this site."""
        case = access.get_case_for_staff(current_user._get_current_object(), number)
        att = db.session.get(Attachment, attachment_id)
        if att is None or att.case_id != case.id:
            abort(404)
        path = path_of(att)
        if not path.is_file():
            abort(404)
        with unit_of_work():
            audit.record("attachment.download", user=current_user._get_current_object(), object_type="attachment",
                         object_id=att.id, details={"case": case.number})
        response = send_file(path, mimetype=att.content_type,
                             as_attachment=not att.content_type.startswith("image/"),
                             download_name=att.filename)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "sandbox"
        return response

    return bp


# --- helpers ---------------------------------------------------------------------------------

def _queue(fetch, param: str, cal: WorkCalendar, now: datetime) -> Queue:
    """Fetch one page of a queue and pair each case with its deadline."""
    page = fetch(page=page_arg(param), per_page=PER_PAGE)
    return Queue(page, [(c, deadlines.case_deadline(c, cal, now)) for c in page.items], param)


def _render_case(number: str, posted: tuple[str, object] | None = None, status: int = 200):
    """Render the case page; `posted` replaces one action's form with the one just submitted."""
    page = build_case_page(current_user._get_current_object(), number, posted)
    return render_template("staff/cases/detail.html", page=page), status
