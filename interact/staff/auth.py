"""Staff sign-in plumbing: the Flask-Login wiring, role checks and safe post-login redirects.

Only the staff blueprint imports this module, so the public surface never gets a user loader.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..web import pages as web
from ..domain.db import db
from ..web.extensions import login_manager
from ..domain.models import Role, User
from ..services import audit

ROLE_LABELS: dict[Role, object] = {
    Role.admin: _l("系统管理员"),
    Role.dispatcher: _l("分办员"),
    Role.handler: _l("承办人"),
    Role.reviewer: _l("审核人"),
    Role.auditor: _l("审计员"),
}

# The session key holding the account's session version at sign-in (see interact/staff/sessions.py).
SESSION_VERSION = "_sv"


def load_user(user_id: str) -> User | None:
    """The active staff user stored in the session, or None (which logs the session out)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active:
        return None
    # Logout, a password change or disabling raise the version: every older session ends here.
    if session.get(SESSION_VERSION) != user.session_version:
        return None
    return user


def init_login(state) -> None:
    """Bind Flask-Login's loader and login page when the staff blueprint is registered."""
    login_manager.user_loader(load_user)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("请先登录办件管理后台。")
    login_manager.login_message_category = "info"
    # The message is lazy; flash the translated text, which the session can store.
    login_manager.localize_callback = str


def role_required(role: Role) -> Callable:
    """Decorate a view so that only signed-in users holding `role` reach it (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                # An attempt to reach another role's page is a security event worth keeping.
                audit.record_now("access.denied", user=current_user._get_current_object(),
                                 object_type="route", object_id=request.endpoint or "",
                                 details={"required_role": role.value, "method": request.method})
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# One rule for every redirect target taken from a request, kept with the shared web helpers.
safe_next = web.safe_next
