"""Back-office account pages: the sign-in code step, the account page, password changes,
two-factor enrolment and recovery codes, and the administrator's password and 2FA resets.

Thin adapters over interact/services/passwords.py, signin.py and twofactor.py, in the blueprint
"staff_account". The guard in interact/staff/sessions.py runs before every back-office request
(every staff blueprint has it) and sends a user who must change their password or enrol a
second factor to the page that does it.
"""
from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired

from ..domain.errors import Conflict, ValidationFailed
from ..domain.models import Role
from ..services import directory, passwords, signin, twofactor
from ..services.tx import unit_of_work
from . import auth, sessions


class CodeForm(FlaskForm):
    """The code step of sign-in: a TOTP code or a recovery code."""

    code = StringField(_l("验证码或恢复码"), validators=[InputRequired()])


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField(_l("当前密码"), validators=[InputRequired()])
    new_password = PasswordField(_l("新密码"), validators=[InputRequired()])
    confirm_password = PasswordField(_l("再次输入新密码"), validators=[InputRequired()])


class EnrolForm(FlaskForm):
    """Confirm an authenticator app with the code it shows."""

    code = StringField(_l("手机应用显示的6位验证码"), validators=[InputRequired()])


class ProveForm(FlaskForm):
    """Password and a current code, to disable 2FA or renew the recovery codes."""

    password = PasswordField(_l("当前密码"), validators=[InputRequired()])
    code = StringField(_l("验证码或恢复码"), validators=[InputRequired()])


class ResetPasswordForm(FlaskForm):
    """An administrator sets a new password that the user must change at next sign-in."""

    new_password = PasswordField(_l("新密码"), validators=[InputRequired()])


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as inline SVG, drawn on the server (no outside service, no script)."""
    # A viewBox instead of a fixed width and height: the page scales the code to fit, whole,
    # quiet zone included; with a fixed size, CSS shrinking the box cut the code off.
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, light="#fff", dark="#000",
                                                 title=_("两步验证二维码"), omitsize=True)


def _form_error(form, exc: ValidationFailed) -> None:
    """Flash a service refusal and show its per-field messages on `form`."""
    flash(exc.message, "error")
    for name, message in (exc.fields or {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*list(field.errors or []), message]


def make_blueprint() -> Blueprint:
    """Build the blueprint of the account pages and the administrator's resets ("staff_account")."""
    bp = auth.staff_blueprint("staff_account", __name__)

    @bp.route("/login/verify", methods=["GET", "POST"])
    def login_verify():
        """The second sign-in step: a code from the authenticator app, or a recovery code."""
        user, next_url = sessions.pending_user()
        if user is None:
            flash(_("请重新登录。"), "info")
            return redirect(url_for("staff.login"))
        form = CodeForm()
        if form.validate_on_submit():
            ip = request.remote_addr or ""
            method, locked = None, False
            with unit_of_work():
                if signin.second_factor_allowed(user, ip):
                    method = twofactor.verify(user, form.code.data)
                    if method is not None:
                        signin.complete(user, ip, method=method)
                    else:
                        locked = signin.second_factor_failed(user, ip)
                else:
                    locked = True
            if method is not None:
                sessions.start(user)
                if method == "recovery":
                    flash(_("您使用了一个恢复码，还剩 %(n)d 个。恢复码用完前请在“我的账号”中重新生成。",
                            n=twofactor.unused_recovery_codes(user)), "warning")
                return redirect(next_url or url_for("staff.dashboard"))
            if locked:
                sessions.end()
                flash(_("用户名或密码不正确，或账号已停用。"), "error")
                return redirect(url_for("staff.login"))
            flash(_("验证码不正确。"), "error")
            return render_template("staff/account/verify.html", form=form), 401
        return render_template("staff/account/verify.html", form=form)

    @bp.get("/account")
    @login_required
    def account():
        """The signed-in user's account: password age, two-factor status, recovery codes left."""
        user = current_user._get_current_object()
        return render_template(
            "staff/account/index.html", required=twofactor.required(user), enabled=twofactor.enabled(user),
            codes_left=twofactor.unused_recovery_codes(user) if twofactor.enabled(user) else 0,
            max_age=passwords.max_age(), prove_form=ProveForm(formdata=None))

    @bp.route("/account/password", methods=["GET", "POST"])
    @login_required
    def change_password():
        """Change one's own password (forced after an operator set it or it expired)."""
        user = current_user._get_current_object()
        form = PasswordChangeForm()
        reason = passwords.change_reason(user)
        if form.validate_on_submit():
            if form.new_password.data != form.confirm_password.data:
                msg = _("两次输入的新密码不一致。")
                _form_error(form, ValidationFailed(msg, {"confirm_password": msg}))
                return render_template("staff/account/password.html", form=form, reason=reason,
                                       hint=passwords.policy_hint()), 400
            try:
                with unit_of_work():
                    passwords.change_password(user, form.current_password.data, form.new_password.data)
            except ValidationFailed as exc:
                _form_error(form, exc)
                return render_template("staff/account/password.html", form=form, reason=reason,
                                       hint=passwords.policy_hint()), 400
            # The change ended every session of this user; this one goes on as a fresh session.
            sessions.start(user)
            flash(_("密码已修改。您在其他地方的登录已全部失效。"), "success")
            return redirect(url_for("staff.dashboard") if reason else url_for(".account"))
        return render_template("staff/account/password.html", form=form, reason=reason,
                               hint=passwords.policy_hint())

    @bp.route("/account/2fa", methods=["GET", "POST"])
    @login_required
    def enrol_two_factor():
        """Enrol an authenticator app: scan the QR code (or type the key), then confirm a code."""
        user = current_user._get_current_object()
        if twofactor.enabled(user):
            flash(_("已启用两步验证。"), "info")
            return redirect(url_for(".account"))
        form = EnrolForm()
        with unit_of_work():  # keeps the new secret, so a reload shows the same QR code
            secret = twofactor.pending_secret(user)
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    codes = twofactor.confirm_enrolment(user, form.code.data)
            except ValidationFailed as exc:
                _form_error(form, exc)
                return _enrol_page(user, secret, form, 400)
            flash(_("两步验证已启用。"), "success")
            return render_template("staff/account/recovery_codes.html", codes=codes)
        return _enrol_page(user, secret, form)

    @bp.post("/account/2fa/disable")
    @login_required
    def disable_two_factor():
        """Turn two-factor authentication off (password and a current code required)."""
        user = current_user._get_current_object()
        _done, refused = _with_proof(lambda password, code: twofactor.disable(user, password, code))
        if refused is not None:
            return refused
        flash(_("两步验证已停用。") if not twofactor.required(user)
              else _("两步验证已停用。您的角色必须使用两步验证，请重新绑定。"), "success")
        return redirect(url_for(".account"))

    @bp.post("/account/2fa/recovery-codes")
    @login_required
    def regenerate_recovery_codes():
        """Replace the recovery codes (password and a current code required); show them once."""
        user = current_user._get_current_object()
        codes, refused = _with_proof(
            lambda password, code: twofactor.regenerate_recovery_codes(user, password, code))
        if refused is not None:
            return refused
        flash(_("已生成新的恢复码，旧的恢复码全部失效。"), "success")
        return render_template("staff/account/recovery_codes.html", codes=codes)

    @bp.post("/admin/users/<username>/password")
    @auth.role_required(Role.admin)
    def admin_reset_password(username: str):
        """Set a user's password; they must change it at the next sign-in, and their sessions end."""
        account = directory.user_by_username(username)
        form = ResetPasswordForm()
        if not form.validate_on_submit():
            flash(_("请填写新密码。"), "error")
            return redirect(url_for("staff_admin.admin_user", username=username))
        try:
            with unit_of_work():
                passwords.reset_password(current_user._get_current_object(), account, form.new_password.data)
        except ValidationFailed as exc:
            flash(exc.message, "error")
            for message in (exc.fields or {}).values():
                if message != exc.message:
                    flash(message, "error")
            return redirect(url_for("staff_admin.admin_user", username=username))
        flash(_("已重置 %(name)s 的密码；该用户下次登录时必须修改密码。", name=account.username), "success")
        return redirect(url_for("staff_admin.admin_user", username=username))

    @bp.post("/admin/users/<username>/2fa/reset")
    @auth.role_required(Role.admin)
    def admin_reset_two_factor(username: str):
        """Remove a user's authenticator (lost phone and codes); they enrol again at next sign-in."""
        account = directory.user_by_username(username)
        form = FlaskForm()
        if not form.validate_on_submit():
            flash(_("表单无效，请刷新页面后重试。"), "error")
            return redirect(url_for("staff_admin.admin_user", username=username))
        with unit_of_work():
            twofactor.reset(account, current_user._get_current_object())
        flash(_("已解除 %(name)s 的两步验证绑定。", name=account.username), "success")
        return redirect(url_for("staff_admin.admin_user", username=username))

    return bp


def _enrol_page(user, secret: str, form: EnrolForm, status: int = 200):
    """The enrolment page with the QR code and the key in text."""
    uri = twofactor.provisioning_uri(user, secret)
    # Groups of four are easier to type into an app by hand.
    spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("staff/account/enrol.html", form=form, qr=qr_svg(uri), secret=spaced,
                           required=twofactor.required(user)), status


def _with_proof(call):
    """Run a two-factor change that needs the password and a current code from ProveForm:
    (its result, None), or (None, the account page with the reason)."""
    form = ProveForm()
    if not form.validate_on_submit():
        flash(_("请填写当前密码和验证码。"), "error")
        return None, redirect(url_for(".account"))
    try:
        with unit_of_work():
            return call(form.password.data, form.code.data), None
    except (ValidationFailed, Conflict) as exc:
        flash(exc.message, "error")
        return None, redirect(url_for(".account"))
