"""The administrator's pages of the back office (blueprint "staff_admin", under /staff/admin):
departments, government websites, staff accounts, the working-day calendar and per-kind deadlines.

Thin adapters like interact/staff/views.py: parse the form, call the service in one unit of
work, then flash and redirect, or show the form again (400) with the service's messages. The
account resets on a user's page post to interact/staff/account.py; the security settings and
the outbox have their own modules.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..domain.errors import DomainError, NotFound, ValidationFailed
from ..domain.models import Role, User
from ..domain.timeutil import utcnow
from ..domain.workdays import local_date
from ..services import audit, calendar, deadlines, directory, overrides, passwords, settings
from ..services.tx import unit_of_work
from . import auth, forms
from .account import ResetPasswordForm


def make_blueprint() -> Blueprint:
    """Build the blueprint of the administrator's pages ("staff_admin")."""
    bp = auth.staff_blueprint("staff_admin", __name__)

    @bp.route("/admin/departments", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_departments():
        """List departments and add one."""
        form = forms.DepartmentForm()
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    dept = directory.create_department(
                        form.code.data, form.name.data, form.mailbox_name.data,
                        actor=current_user._get_current_object(),
                        public_contacts=settings.split_lines(form.public_contacts.data or ""))
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
        if not form.is_submitted():
            form.public_contacts.data = "\n".join(directory.department_contacts(dept))
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    directory.update_department(dept, name=form.name.data, active=form.active.data,
                                                mailbox_name=form.mailbox_name.data,
                                                actor=current_user._get_current_object(),
                                                public_contacts=settings.split_lines(form.public_contacts.data or ""))
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
        form.department.choices = forms.department_choices(include_inactive=True)
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
        form.department.choices = forms.choice_list([("", _("（不属于部门）"))]) + forms.department_choices()[1:]
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    user = directory.create_user(
                        form.username.data, form.password.data or "", form.roles.data or [],
                        form.department.data or None, email=(form.email.data or "").strip() or None,
                        display_name=(form.display_name.data or "").strip() or None,
                        actor=current_user._get_current_object())
            except ValidationFailed as exc:
                _audit_role_refusal("user.create", exc, form.username.data, form.roles.data)
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
                _audit_role_refusal("user.roles", exc, user.username, form.roles.data)
                return _form_failed("staff/admin/user.html", form, exc, **_user_page(user))
            flash(_("已保存用户：%(name)s。", name=user.username), "success")
            return redirect(url_for(".admin_users"))
        return render_template("staff/admin/user.html", form=form, **_user_page(user))

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
                changed = overrides.set_override(day, working, form.note.data or "",
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
                changed = overrides.clear_override(parsed, actor=current_user._get_current_object())
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
                    deadlines.set_deadline_days(form.kind.data or "", form.days.data,
                                               actor=current_user._get_current_object())
            except ValidationFailed as exc:
                flash(exc.message, "error")
                return redirect(url_for(".admin_deadlines"))
            flash(_("已将“%(kind)s”的办理期限设为 %(n)d 个工作日。", kind=form.kind_label(), n=form.days.data),
                  "success")
            return redirect(url_for(".admin_deadlines"))
        rows = [forms.DeadlineForm(formdata=None, kind=kind, days=days)
                for kind, days in deadlines.deadline_settings().items()]
        return render_template("staff/admin/deadlines.html", rows=rows)

    return bp


def _user_page(account: User) -> dict:
    """What the user page shows besides its own form: the account, the reset form and the password policy."""
    return {"account": account, "reset_password_form": ResetPasswordForm(formdata=None),
            "password_hint": passwords.policy_hint()}


def _audit_role_refusal(action: str, exc: ValidationFailed, username: str | None, roles: list[str] | None) -> None:
    """Record a refused role grant (a forbidden pair, one's own roles): the auditor should see the attempt."""
    if "roles" in (exc.fields or {}):
        audit.record_refusal(action, exc, user=current_user._get_current_object(), object_type="user",
                             object_id=(username or "").strip(),
                             details={"roles": sorted(str(r)[:16] for r in roles or [])[:8]})


def _form_failed(template: str, form, exc: DomainError, **context):
    """Re-render an admin form with the service's messages (400), keeping what was typed."""
    flash(exc.message, "error")
    forms.attach_errors(form, exc)
    return render_template(template, form=form, **context), 400


def _parse_day(text: str) -> date:
    """A YYYY-MM-DD path segment as a date, or 404."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)
