"""The mail outbox page for administrators (`/staff/admin/outbox`) and each user's choice of
immediate mail or a daily digest (`/staff/account/notifications`).

Thin adapters over interact/services/mail.py and notify.py, which check and audit.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.errors import DomainError
from ..domain.models import Role
from ..services import audit, mail, notify
from ..services.tx import unit_of_work
from . import auth

DEAD_SHOWN = 200


def register(bp: Blueprint) -> None:
    """Add the outbox page, the requeue action and the notification preference."""

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
        try:
            with unit_of_work():
                mail.requeue(message_id, user)
        except DomainError as exc:
            audit.record_refusal("mail.requeue", exc, user=user, object_type="outbox", object_id=raw[:20])
            flash(exc.message, "error")
            return redirect(url_for(".admin_outbox"))
        flash(_("邮件 %(id)d 已放回发件箱，将在下次发送时重试。", id=message_id), "success")
        return redirect(url_for(".admin_outbox"))

    @bp.post("/account/notifications")
    @login_required
    def account_notifications():
        """Choose immediate mail or one daily digest."""
        user = current_user._get_current_object()
        try:
            with unit_of_work():
                notify.set_notify_mode(user, (request.form.get("notify_mode") or "").strip(), actor=user)
        except DomainError as exc:
            audit.record_refusal("user.notify_mode", exc, user=user, object_type="user", object_id=user.username)
            flash(exc.message, "error")
            return redirect(url_for(".account"))
        flash(_("已保存通知方式。"), "success")
        return redirect(url_for(".account"))
