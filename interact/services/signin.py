"""Staff sign-in: the password step, account lockout, per-IP throttling and session limits.

Five failed sign-ins for one username within 15 minutes lock that account for 15 minutes;
while it is locked even the right password is refused, with the same message as any other
failure, so a caller learns nothing about the account. Twenty failures from one address
within 15 minutes refuse every further attempt from it until the failures age out. Other
accounts and addresses keep working. Every attempt is stored (LoginAttempt) and audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.db import db
from ..domain.models import LoginAttempt, User
from ..domain.timeutil import utcnow
from . import audit

# Compared against when the username is unknown or the account locked, so every path costs one check.
_DUMMY_HASH = generate_password_hash("interact-timing-equaliser")
# Attempts older than this serve no rule any more; the audit trail keeps the record.
KEEP_ATTEMPTS = timedelta(days=1)


@dataclass(frozen=True)
class PasswordStep:
    """The outcome of the password step: the user, and whether a second factor must follow."""

    user: User | None
    refused: str | None = None  # "credentials", "locked", "disabled" or "ip_throttled"
    needs_second_factor: bool = False


def _setting(name: str, default: int) -> int:
    """One INTERACT_LOCKOUT_* / INTERACT_SESSION_* number from the configuration."""
    return int(current_app.config.get(name, default))


def threshold() -> int:
    """Failed sign-ins for one username that lock the account."""
    return max(1, _setting("INTERACT_LOCKOUT_THRESHOLD", 5))


def window() -> timedelta:
    """How far back failures count, for the account and the address alike."""
    return timedelta(minutes=max(1, _setting("INTERACT_LOCKOUT_WINDOW_MINUTES", 15)))


def lock_duration() -> timedelta:
    """How long a locked account stays locked."""
    return timedelta(minutes=max(1, _setting("INTERACT_LOCKOUT_MINUTES", 15)))


def ip_threshold() -> int:
    """Failed sign-ins from one address within the window after which it is refused."""
    return max(1, _setting("INTERACT_LOCKOUT_IP_THRESHOLD", 20))


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Whether the account is locked at `now`."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def ip_throttled(ip: str, now: datetime | None = None) -> bool:
    """Whether `ip` has failed too often within the window."""
    if not ip:
        return False
    since = (now or utcnow()) - window()
    failures = db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.ip == ip, LoginAttempt.at > since, LoginAttempt.success.is_(False)))
    return failures >= ip_threshold()


def recent_failures(username: str, now: datetime | None = None) -> int:
    """Failures for `username` within the window since its last successful sign-in."""
    now = now or utcnow()
    since = now - window()
    last_success = db.session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(True), LoginAttempt.at > since))
    if last_success is not None:
        since = last_success
    return db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.at > since, LoginAttempt.success.is_(False)))


def _failed(username: str, ip: str, reason: str, user: User | None, now: datetime) -> None:
    """Store and audit a failed attempt; lock the account when it reaches the threshold."""
    db.session.add(LoginAttempt(at=now, username=username, ip=ip, success=False))
    db.session.flush()
    audit.record("auth.login_failed", username=username, object_type="user",
                 object_id=user.id if user else "", outcome="failure", details={"reason": reason})
    if user is None or is_locked(user, now) or reason == "ip_throttled":
        return
    if recent_failures(username, now) >= threshold():
        user.locked_until = now + lock_duration()
        db.session.flush()
        audit.record("auth.lockout", username=username, object_type="user", object_id=user.id,
                     outcome="failure", details={"until": user.locked_until.isoformat(),
                                                 "failures": threshold()})


def password_step(username: str, password: str, ip: str, now: datetime | None = None) -> PasswordStep:
    """Check a username and password, with lockout and throttling; the caller commits."""
    now = now or utcnow()
    username = (username or "").strip()[:64]
    ip = (ip or "")[:45]
    if ip_throttled(ip, now):
        _failed(username, ip, "ip_throttled", None, now)
        return PasswordStep(None, "ip_throttled")
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    if user is None or is_locked(user, now):
        check_password_hash(_DUMMY_HASH, password or "")
        reason = "credentials" if user is None else "locked"
        _failed(username, ip, reason, user, now)
        return PasswordStep(None, reason)
    if not check_password_hash(user.password_hash, password or ""):
        _failed(username, ip, "credentials", user, now)
        return PasswordStep(None, "credentials")
    if not user.active:
        _failed(username, ip, "disabled", user, now)
        return PasswordStep(None, "disabled")
    if user.totp_enabled_at is not None and user.totp_secret:
        return PasswordStep(user, needs_second_factor=True)
    complete(user, ip, now, method="password")
    return PasswordStep(user)


def second_factor_allowed(user: User, ip: str, now: datetime | None = None) -> bool:
    """Whether the code step may be tried now (the account is active and not locked, the address not throttled)."""
    return user.active and not is_locked(user, now) and not ip_throttled((ip or "")[:45], now)


def second_factor_failed(user: User, ip: str, now: datetime | None = None) -> bool:
    """Count a wrong code like a wrong password; return whether the account is now locked."""
    now = now or utcnow()
    _failed(user.username, (ip or "")[:45], "second_factor", user, now)
    return is_locked(user, now)


def complete(user: User, ip: str, now: datetime | None = None, method: str = "password") -> None:
    """Record a successful sign-in (every step passed); the caller starts the session and commits."""
    now = now or utcnow()
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    db.session.add(LoginAttempt(at=now, username=user.username, ip=(ip or "")[:45], success=True))
    user.last_login_at = now
    user.locked_until = None
    db.session.flush()
    audit.record("auth.login", user=user, object_type="user", object_id=user.id, details={"method": method})


def logout(user: User) -> None:
    """End every session of `user` (the one signing out and any other)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()
    audit.record("auth.logout", user=user, object_type="user", object_id=user.id)


# --- session limits ------------------------------------------------------------------------------

def idle_limit() -> timedelta:
    """How long a staff session may go unused."""
    return timedelta(minutes=max(1, _setting("INTERACT_SESSION_IDLE_MINUTES", 30)))


def absolute_limit() -> timedelta:
    """How long a staff session may last at most, however busy."""
    return timedelta(hours=max(1, _setting("INTERACT_SESSION_MAX_HOURS", 12)))


def session_expiry(login_at: float | None, seen_at: float | None, now: datetime | None = None) -> str | None:
    """Why a session with these POSIX timestamps has ended ("idle" or "absolute"), or None."""
    if login_at is None or seen_at is None:
        return "absolute"  # a session without its times was not started by the sign-in
    now_ts = (now or utcnow()).timestamp()
    if now_ts - float(login_at) >= absolute_limit().total_seconds():
        return "absolute"
    if now_ts - float(seen_at) >= idle_limit().total_seconds():
        return "idle"
    return None
