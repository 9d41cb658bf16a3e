"""Staff sign-in plumbing: the Flask-Login wiring, role checks and safe post-login redirects.

Only the staff blueprint imports this module, so the public surface never gets a user loader.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from ..models import Role, User

ROLE_LABELS: dict[Role, object] = {
    Role.admin: _l("系统管理员"),
    Role.dispatcher: _l("分办员"),
    Role.handler: _l("承办人"),
    Role.reviewer: _l("审核人"),
    Role.auditor: _l("审计员"),
}


def load_user(user_id: str) -> User | None:
    """The active staff user stored in the session, or None (which logs the session out)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


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
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """`target` if it is a same-site absolute path, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "/\evil" as "//evil" and drop tabs and newlines, so refuse them all.
    if "\\" in target or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    return target
