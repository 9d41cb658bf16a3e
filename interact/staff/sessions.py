"""Staff sessions: starting one at sign-in, the two-step sign-in state, and the per-request guard.

A staff session stores the account's session version, its sign-in time and its last request
time. The user loader refuses a session whose version is older than the account's (logout,
a password change or disabling raise it), and the guard ends sessions idle for 30 minutes or
older than 12 hours. Until a user has changed an operator-set or expired password, and (for
administrators and reviewers) enrolled a second factor, the guard lets them reach nothing else.
"""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..domain.db import db
from ..domain.models import User
from ..services import audit, passwords, signin, twofactor
from ..domain.timeutil import utcnow
from ..web.pages import safe_next

# The session key holding the account's session version at sign-in (the user loader in
# interact/staff/auth.py compares it with the account's).
SESSION_VERSION = "_sv"
LOGIN_AT = "_login_at"
SEEN_AT = "_seen_at"
PENDING = "_pending_2fa"
# The code step must follow the password step promptly.
PENDING_SECONDS = 300

# Reachable whatever the account still has to do first.
ALWAYS_OPEN = frozenset({"staff.login", "staff.logout", "staff_account.login_verify"})
PASSWORD_PAGES = frozenset({"staff_account.change_password"})
ENROL_PAGES = frozenset({"staff_account.enrol_two_factor"})


def start(user: User) -> None:
    """A fresh session for `user`: nothing planted before sign-in survives."""
    session.clear()
    login_user(user)
    now = utcnow().timestamp()
    session[SESSION_VERSION] = user.session_version
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def end() -> None:
    """Forget the signed-in user and everything in the session."""
    logout_user()
    session.clear()


def begin_second_factor(user: User, next_url: str | None) -> None:
    """Remember who passed the password step, briefly, in a fresh session (not signed in yet)."""
    session.clear()
    session[PENDING] = {"uid": user.id, "at": utcnow().timestamp(), "v": user.session_version,
                        "next": next_url or ""}


def pending_user() -> tuple[User | None, str | None]:
    """The user waiting for the code step and where to go afterwards, or (None, None)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    if utcnow().timestamp() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None, None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or user.session_version != pending.get("v"):
        session.pop(PENDING, None)
        return None, None
    return user, safe_next(pending.get("next"))


def guard():
    """Before each back-office request: end expired sessions and hold back users with duties."""
    if "_user_id" not in session:
        return None
    reason = signin.session_expiry(session.get(LOGIN_AT), session.get(SEEN_AT))
    if reason is not None:
        user = current_user._get_current_object() if current_user.is_authenticated else None
        if user is not None:
            audit.record_now("auth.session_expired", user=user, object_type="user", object_id=user.id,
                             outcome="success", details={"reason": reason})
        end()
        flash(_("登录已超时，请重新登录。") if reason == "idle" else _("登录时间已达上限，请重新登录。"), "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("staff.login", next=safe_next(target)))
    if not current_user.is_authenticated:
        # Ended elsewhere (logout, password change, disabled): drop the stale cookie's content.
        session.clear()
        return None
    session[SEEN_AT] = utcnow().timestamp()
    endpoint = request.endpoint or ""
    if endpoint in ALWAYS_OPEN or endpoint == "static":
        return None
    user = current_user._get_current_object()
    if passwords.change_reason(user) is not None:
        if endpoint not in PASSWORD_PAGES:
            return redirect(url_for("staff_account.change_password"))
        return None
    if twofactor.must_enrol(user) and endpoint not in ENROL_PAGES:
        return redirect(url_for("staff_account.enrol_two_factor"))
    return None
