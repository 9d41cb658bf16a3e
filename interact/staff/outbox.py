"""The mail outbox page for administrators (`/staff/admin/outbox`) and each user's choice of
immediate mail or a daily digest (`/staff/account/notifications`).

Thin adapters over interact/services/mail.py and notify.py, which check and audit; the blueprint
is "staff_outbox".
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.models import Role
from ..services import mail, notify
from ..web.actions import run_for_page
from . import auth

DEAD_SHOWN = 200


def make_blueprint() -> Blueprint:
    """Build the blueprint of the outbox page, the requeue action and the notification preference."""
    bp = auth.staff_blueprint("staff_outbox", __name__)

    @bp.get("/admin/outbox")
    @auth.role_required(Role.admin)
    def admin_outbox():
        """Counts by status and the messages given up on, each with a requeue button."""
        return render_template("staff/admin/outbox.html", counts=mail.status_counts(),
                               dead=mail.messages(mail.DEAD, DEAD_SHOWN), shown=DEAD_SHOWN)

    @bp.post("/admin/outbox/requeue")
    @auth.role_required(Role.admin)
    def admin_outbox_requeue():
        """Put one dead message back in the queue (its id comes from the form)."""
        user = current_user._get_current_object()
        raw = (request.form.get("message_id") or "").strip()
        message_id = int(raw) if raw.isdigit() else 0
        _done, refused = run_for_page("mail.requeue", user, "outbox", raw[:20],
                                      lambda: mail.requeue(message_id, user), back=url_for(".admin_outbox"))
        if refused is not None:
            return refused
        flash(_("邮件 %(id)d 已放回发件箱，将在下次发送时重试。", id=message_id), "success")
        return redirect(url_for(".admin_outbox"))

    @bp.post("/account/notifications")
    @login_required
    def account_notifications():
        """Choose immediate mail or one daily digest."""
        user = current_user._get_current_object()
        mode = (request.form.get("notify_mode") or "").strip()
        _done, refused = run_for_page("user.notify_mode", user, "user", user.username,
                                      lambda: notify.set_notify_mode(user, mode, actor=user), back=url_for("staff_account.account"))
        if refused is not None:
            return refused
        flash(_("已保存通知方式。"), "success")
        return redirect(url_for("staff_account.account"))

    return bp
