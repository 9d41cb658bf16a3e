"""The administrator's security settings page (`/staff/admin/security`, blueprint "staff_security").

The page switches the public forms' image CAPTCHA on or off and maintains the government
domains and the sensitive words of the content rules (Art. 17). The service
(interact.services.settings) validates, stores and audits every change; the flags those rules
raise on a case are read by the case page (interact/staff/case_page.py).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField

from ..domain.errors import ValidationFailed
from ..domain.models import Role
from ..services import audit, settings
from ..services.tx import unit_of_work
from . import auth


class SecurityForm(FlaskForm):
    """The CAPTCHA switch and the two lists, one entry per line."""

    captcha_enabled = BooleanField(_l("公众提交表单启用图片验证码"))
    gov_domains = TextAreaField(_l("政府网站域名（每行一个，含其下级域名）"))
    sensitive_words = TextAreaField(_l("敏感词（每行一个）"))
    platform_contacts = TextAreaField(_l("平台公开的联系电话和电子邮箱（每行一个，如 12345 热线的座机）"))


def make_blueprint() -> Blueprint:
    """Build the blueprint of the security settings page ("staff_security")."""
    bp = auth.staff_blueprint("staff_security", __name__)

    @bp.route("/admin/security", methods=["GET", "POST"])
    @auth.role_required(Role.admin)
    def admin_security():
        """Show and save the CAPTCHA switch, the government domains and the sensitive words."""
        form = SecurityForm()
        if form.validate_on_submit():
            actor = current_user._get_current_object()
            try:
                with unit_of_work():
                    changed = settings.update(
                        actor, **{settings.CAPTCHA: bool(form.captcha_enabled.data),
                                  settings.GOV_DOMAINS: settings.split_lines(form.gov_domains.data or ""),
                                  settings.SENSITIVE_WORDS: settings.split_lines(form.sensitive_words.data or ""),
                                  settings.PLATFORM_CONTACTS: settings.split_lines(form.platform_contacts.data or "")})
            except ValidationFailed as exc:
                audit.record_now("settings.change", user=actor, object_type="setting",
                                 details={"fields": sorted(exc.fields)})
                flash(exc.message, "error")
                for name, message in exc.fields.items():
                    getattr(form, name).errors = [message]
                return _page(form), 400
            flash(_("已保存安全设置。") if changed else _("设置没有变化。"), "success" if changed else "info")
            return redirect(url_for(".admin_security"))
        if not form.is_submitted():
            form.captcha_enabled.data = settings.captcha_enabled()
            form.gov_domains.data = "\n".join(settings.gov_domains())
            form.sensitive_words.data = "\n".join(settings.sensitive_words())
            form.platform_contacts.data = "\n".join(settings.platform_contacts())
        return _page(form)

    return bp


def _page(form: SecurityForm) -> str:
    """The settings page."""
    return render_template("staff/admin/security.html", form=form,
                           domain_count=len(settings.gov_domains()), word_count=len(settings.sensitive_words()))
