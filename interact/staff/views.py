"""The staff back office (HTML): sign-in, the per-role dashboard, the case page and its actions,
and the admin pages for departments, sites, users, the calendar and per-kind deadlines.

Every view is a thin adapter: parse the form, call a service, commit once with `unit_of_work`,
then flash and redirect (or re-render with the service's messages). The rules live in
interact/services; a handler or reviewer of another department gets the service's 404.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..domain.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from ..domain.db import db
from ..domain.kinds import KINDS
from ..domain.models import OPEN_STATUSES, Attachment, Case, Role, Status
from ..services import audit, calendar, directory, signin
from ..services import cases as case_service
from ..services.attachments import path_of
from ..services.tx import unit_of_work
from ..domain.timeutil import utcnow
from ..domain.workdays import WorkCalendar, local_date
from ..domain.workflow import TRANSITIONS
from . import auth, forms, sessions

PER_PAGE = 30

LIGHT_LABELS = {
    "ok": _l("正常"),
    "soon": _l("即将到期"),
    "overdue": _l("已超期"),
    "done": _l("已办结"),
}
WEEKDAYS = [_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日")]
DRAFT_KINDS = {"reply": _l("答复"), "decline": _l("不予受理")}
# Where a service names a field differently from the form that carries it.
FIELD_ALIASES = {"url": "base_url", "role": "roles"}


@dataclass(frozen=True)
class Queue:
    """One dashboard list: a page of cases with their deadlines, and its page parameter."""

    page: case_service.Page
    rows: list[tuple[Case, calendar.Deadline]]
    param: str


def make_blueprint() -> Blueprint:
    """Build the back-office blueprint under /staff."""
    bp = Blueprint("staff", __name__, url_prefix="/staff")
    # Flask-Login is wired only when this blueprint is registered, i.e. never on the public surface.
    bp.record_once(auth.init_login)

    @bp.context_processor
    def staff_globals():
        """Labels every back-office template uses."""
        return {"ROLE_LABELS": auth.ROLE_LABELS, "LIGHT_LABELS": LIGHT_LABELS, "Role": Role,
                "DRAFT_KINDS": DRAFT_KINDS, "WEEKDAYS": WEEKDAYS}

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
                return redirect(url_for(".login_verify"))
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
            context["dispatch_form"] = _dispatch_form(formdata=None)
        if user.department_id is not None and user.has_role(Role.handler):
            context["handling"] = _queue(
                lambda page, per_page: case_service.department_queue(
                    user.department_id, OPEN_STATUSES, page, per_page),
                "handling_page", cal, now)
            context["counts"] = calendar.deadline_counts(user.department_id, cal, now)
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
            form.department.choices = _department_choices()
        if not form.validate_on_submit():
            flash(_("表单无效，请刷新页面后重试。"), "error")
            return redirect(url_for(".case_page", number=number))
        user = current_user._get_current_object()
        try:
            with unit_of_work():
                case = case_service.perform(user, number, action, form.body())
        except DomainError as exc:
            # A refused action is audited too; what it changed was rolled back.
            audit.record_refusal("case." + action, exc, user=user, object_type="case", object_id=number)
            if isinstance(exc, ValidationFailed):
                # Keep what the user typed: show the page again with the form as posted.
                flash(exc.message, "error")
                _attach_errors(form, exc)
                return _render_case(number, posted=(action, form), status=400)
            if isinstance(exc, (Conflict, Forbidden)):
                flash(exc.message, "error")
                return redirect(url_for(".case_page", number=number))
            raise
        flash(_("已完成“%(action)s”：办件 %(number)s。", action=TRANSITIONS[action].label, number=number),
              "success")
        # After a transfer or a dispatch the user may no longer see the case.
        if case_service.can_view(user, case):
            return redirect(url_for(".case_page", number=number))
        return redirect(url_for(".dashboard"))

    @bp.get("/cases/<number>/attachments/<int:attachment_id>")
    @login_required
    def attachment(number: str, attachment_id: int):
        """One attachment of a case this user may see; never rendered as a page of this site."""
        case = case_service.get_case_for_staff(current_user._get_current_object(), number)
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

    # --- administration --------------------------------------------------------------------

    @bp.route("/admin/departments", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_departments():
        """List departments and add one."""
        form = forms.DepartmentForm()
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    dept = directory.create_department(form.code.data, form.name.data, form.mailbox_name.data,
                                                       actor=current_user._get_current_object())
            except ValidationFailed as exc:
                return _form_failed("staff/admin/departments.html", form, exc,
                                    departments=directory.all_departments())
            flash(_("已添加部门：%(name)s。", name=dept.name), "success")
            return redirect(url_for(".admin_departments"))
        return render_template("staff/admin/departments.html", form=form, departments=directory.all_departments())

    @bp.route("/admin/departments/<code>", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_department(code: str):
        """Edit one department's name, state and leader mailbox."""
        dept = directory.department_by_code(code, active_only=False)
        form = forms.DepartmentEditForm(obj=dept)
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    directory.update_department(dept, name=form.name.data, active=form.active.data,
                                                mailbox_name=form.mailbox_name.data,
                                                actor=current_user._get_current_object())
            except ValidationFailed as exc:
                return _form_failed("staff/admin/department.html", form, exc, dept=dept)
            flash(_("已保存部门：%(name)s。", name=dept.name), "success")
            return redirect(url_for(".admin_departments"))
        return render_template("staff/admin/department.html", form=form, dept=dept)

    @bp.route("/admin/sites", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_sites():
        """List government websites and add one."""
        form = forms.SiteForm()
        form.department.choices = _department_choices(include_inactive=True)
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    site = directory.create_site(form.department.data or "", form.name.data, form.base_url.data,
                                                 actor=current_user._get_current_object())
            except NotFound as exc:  # no such department: a mistake in this form, not a missing page
                exc = ValidationFailed(exc.message, {"department": exc.message})
                return _form_failed("staff/admin/sites.html", form, exc, sites=directory.all_sites())
            except ValidationFailed as exc:
                return _form_failed("staff/admin/sites.html", form, exc, sites=directory.all_sites())
            flash(_("已添加网站：%(name)s。", name=site.name), "success")
            return redirect(url_for(".admin_sites"))
        return render_template("staff/admin/sites.html", form=form, sites=directory.all_sites())

    @bp.route("/admin/users", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_users():
        """List staff accounts and add one."""
        form = forms.UserForm()
        form.department.choices = forms.choice_list([("", _("（不属于部门）"))]) + _department_choices()[1:]
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    user = directory.create_user(
                        form.username.data, form.password.data or "", form.roles.data or [],
                        form.department.data or None, email=(form.email.data or "").strip() or None,
                        display_name=(form.display_name.data or "").strip() or None,
                        actor=current_user._get_current_object())
            except ValidationFailed as exc:
                form.password.data = ""
                return _form_failed("staff/admin/users.html", form, exc, users=directory.all_users())
            flash(_("已添加用户：%(name)s。", name=user.username), "success")
            return redirect(url_for(".admin_users"))
        return render_template("staff/admin/users.html", form=form, users=directory.all_users())

    @bp.route("/admin/users/<username>", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_user(username: str):
        """Change one account's roles and whether it may sign in."""
        user = directory.user_by_username(username)
        form = forms.UserEditForm(data={"roles": sorted(r.value for r in user.roles), "active": user.active,
                                        "email": user.email or ""})
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    directory.set_roles(user, form.roles.data or [], actor=current_user._get_current_object())
                    directory.set_active(user, bool(form.active.data), actor=current_user._get_current_object())
                    directory.set_email(user, form.email.data, actor=current_user._get_current_object())
            except ValidationFailed as exc:
                return _form_failed("staff/admin/user.html", form, exc, account=user)
            flash(_("已保存用户：%(name)s。", name=user.username), "success")
            return redirect(url_for(".admin_users"))
        return render_template("staff/admin/user.html", form=form, account=user)

    @bp.get("/admin/calendar")
    @auth.role_required(Role.admin)
    def admin_calendar():
        """One year's days off and make-up workdays, with overrides and the confirmation."""
        cal = calendar.current_calendar()
        year = request.args.get("year", type=int) or local_date(utcnow(), calendar.tz_name()).year
        if not cal.first_year <= year <= cal.last_year:
            abort(404)
        return render_template(
            "staff/admin/calendar.html", year=year, schedule=cal.year_schedule(year),
            confirmed=year in calendar.confirmed_years(), first_year=cal.first_year, last_year=cal.last_year,
            override_form=forms.OverrideForm(formdata=None), confirm_form=forms.ConfirmYearForm(formdata=None),
        )

    @bp.post("/admin/calendar/overrides")
    @auth.role_required(Role.admin)
    def admin_set_override():
        """Make a date a day off or a working day; open cases' deadlines follow."""
        form = forms.OverrideForm()
        if not form.validate_on_submit():
            flash(_("请填写日期并选择调整为休息日或工作日。"), "error")
            return redirect(url_for(".admin_calendar", year=request.args.get("year", type=int)))
        day, working = form.day.data, form.working.data == "work"
        try:
            with unit_of_work():
                changed = calendar.set_override(day, working, form.note.data or "",
                                                actor=current_user._get_current_object())
        except ValidationFailed as exc:
            flash(exc.message, "error")
            return redirect(url_for(".admin_calendar", year=request.args.get("year", type=int)))
        flash(_("已将 %(day)s 调整为%(what)s；%(n)d 件在办办件的办理期限已重新计算。",
                day=day.isoformat(), what=_("工作日") if working else _("休息日"), n=changed), "success")
        return redirect(url_for(".admin_calendar", year=day.year))

    @bp.post("/admin/calendar/overrides/<day>/clear")
    @auth.role_required(Role.admin)
    def admin_clear_override(day: str):
        """Remove an override; open cases' deadlines follow."""
        # CSRFProtect has already refused a POST without a valid token.
        parsed = _parse_day(day)
        try:
            with unit_of_work():
                changed = calendar.clear_override(parsed, actor=current_user._get_current_object())
        except NotFound as exc:
            flash(exc.message, "error")
            return redirect(url_for(".admin_calendar", year=parsed.year))
        flash(_("已取消 %(day)s 的调整；%(n)d 件在办办件的办理期限已重新计算。", day=parsed.isoformat(), n=changed),
              "success")
        return redirect(url_for(".admin_calendar", year=parsed.year))

    @bp.post("/admin/calendar/confirm")
    @auth.role_required(Role.admin)
    def admin_confirm_year():
        """Record that a year's schedule matches the State Council notice."""
        form = forms.ConfirmYearForm()
        try:
            year = int(form.year.data or "")
            with unit_of_work():
                calendar.confirm_year(year, (form.note.data or "").strip()[:200],
                                      actor=current_user._get_current_object())
        except ValueError:
            abort(400)
        except ValidationFailed as exc:
            flash(exc.message, "error")
            return redirect(url_for(".admin_calendar"))
        flash(_("已确认 %(year)d 年的节假日安排。", year=year), "success")
        return redirect(url_for(".admin_calendar", year=year))

    @bp.route("/admin/deadlines", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_deadlines():
        """Each kind's deadline in working days, for cases submitted from now on."""
        if request.method == "POST":
            form = forms.DeadlineForm()
            if not form.validate_on_submit() or form.days.data is None:
                flash(_("办理期限须为整数个工作日。"), "error")
                return redirect(url_for(".admin_deadlines"))
            try:
                with unit_of_work():
                    calendar.set_deadline_days(form.kind.data or "", form.days.data,
                                               actor=current_user._get_current_object())
            except ValidationFailed as exc:
                flash(exc.message, "error")
                return redirect(url_for(".admin_deadlines"))
            flash(_("已将“%(kind)s”的办理期限设为 %(n)d 个工作日。", kind=form.kind_label(), n=form.days.data),
                  "success")
            return redirect(url_for(".admin_deadlines"))
        rows = [forms.DeadlineForm(formdata=None, kind=kind, days=days)
                for kind, days in calendar.deadline_settings().items()]
        return render_template("staff/admin/deadlines.html", rows=rows)

    # Further back-office pages live in their own modules; each adds its routes to `bp`.
    from . import account
    account.register(bp)
    from . import masks
    masks.register(bp)
    from . import audit_views
    audit_views.register(bp)
    from . import security_admin
    security_admin.register(bp)
    from . import outbox
    outbox.register(bp)
    from . import supervision
    supervision.register(bp)
    # (extra staff route modules: keep this line last)
    return bp


# --- helpers ---------------------------------------------------------------------------------

def _page_arg(name: str) -> int:
    """A positive page number from the query string."""
    return max(1, request.args.get(name, 1, type=int) or 1)


def _queue(fetch, param: str, cal: WorkCalendar, now: datetime) -> Queue:
    """Fetch one page of a queue and pair each case with its deadline."""
    page = fetch(page=_page_arg(param), per_page=PER_PAGE)
    return Queue(page, [(c, calendar.deadline_of(c, cal, now)) for c in page.items], param)


def _department_choices(include_inactive: bool = False) -> list:
    """(code, name) choices for a department select, led by an empty "please choose"."""
    depts = directory.all_departments() if include_inactive else directory.active_departments()
    return forms.choice_list([("", _("请选择"))] + [
        (d.code, d.name if d.active else _("%(name)s（已停用）", name=d.name)) for d in depts])


def _dispatch_form(formdata=None) -> forms.DispatchForm:
    """A dispatch form listing the active departments."""
    form = forms.DispatchForm(formdata=formdata)
    form.department.choices = _department_choices()
    return form


def _action_forms(case: Case) -> dict[str, object]:
    """An empty form for every action this user may take on `case`, prefilled where useful."""
    result: dict[str, object] = {}
    for t in case_service.available_actions(current_user._get_current_object(), case):
        if t.action == "dispatch":
            form = _dispatch_form()
        elif t.action == "reply":
            # After a return, the handler revises the reply the reviewer sent back.
            returned_reply = case.draft_text if case.draft_reason is None else None
            form = forms.ReplyForm(formdata=None, text=returned_reply)
        elif t.action == "decline":
            form = forms.DeclineForm(formdata=None, reason=case.draft_reason or "",
                                     explanation=case.draft_text if case.draft_reason else None)
        elif t.action == "review":
            # Publication defaults to what the citizen chose; without consent it cannot happen.
            form = forms.ReviewForm(formdata=None, publish=case.publish_consent)
        else:
            form = forms.ACTION_FORMS[t.action](formdata=None)
        result[t.action] = (t, form)
    return result


def _render_case(number: str, posted: tuple[str, object] | None = None, status: int = 200):
    """Render the case page; `posted` replaces one action's form with the one just submitted."""
    user = current_user._get_current_object()
    case = case_service.case_with_details(case_service.get_case_for_staff(user, number))
    cal = calendar.current_calendar()
    actions = _action_forms(case)
    if posted is not None and posted[0] in actions:
        actions[posted[0]] = (actions[posted[0]][0], posted[1])
    return render_template(
        "staff/cases/detail.html", case=case, deadline=calendar.deadline_of(case, cal), actions=actions,
        kind=KINDS.get(case.kind), draft_author=case.draft_by.label if case.draft_by else None,
    ), status


def _attach_errors(form, exc: DomainError) -> None:
    """Show the service's per-field messages next to the form's fields."""
    for name, message in (exc.fields or {}).items():
        field = getattr(form, FIELD_ALIASES.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]


def _form_failed(template: str, form, exc: DomainError, **context):
    """Re-render an admin form with the service's messages (400), keeping what was typed."""
    flash(exc.message, "error")
    _attach_errors(form, exc)
    return render_template(template, form=form, **context), 400


def _parse_day(text: str) -> date:
    """A YYYY-MM-DD path segment as a date, or 404."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)
