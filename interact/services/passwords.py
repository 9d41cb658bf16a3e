"""The staff password policy (MLPS level 3, OWASP ASVS level 2): strength, history, rotation.

A password is 12 to 128 characters, is not in the common-password list that ships with the
project (interact/data/common-passwords.txt), mixes enough character classes, and is none of
the user's last five. Passwords are hashed with werkzeug's scrypt unless configured otherwise.
A password an operator set, or one older than the rotation period, must be changed before the
user can do anything else. Every change ends the user's other sessions.
"""
from __future__ import annotations

import string
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.errors import ValidationFailed
from ..domain.db import db
from ..domain.models import PasswordHistory, User
from ..domain.timeutil import utcnow
from . import audit

MIN_LENGTH = 12
MAX_LENGTH = 128
CLASS_COUNT = 4


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercased; read once per process."""
    text = resources.files("interact").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """Whether `password` is on the common-password list (case-insensitive)."""
    return (password or "").strip().lower() in common_passwords()


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and symbols `password` uses."""
    checks = (str.islower, str.isupper, str.isdigit)
    found = {i for ch in password for i, check in enumerate(checks) if check(ch)}
    # Anything else (punctuation, spaces, Chinese characters) counts as a symbol.
    if any(not (ch.islower() or ch.isupper() or ch.isdigit()) for ch in password):
        found.add(3)
    return len(found)


def min_classes() -> int:
    """The configured number of character classes a password needs (1 to 4)."""
    return max(1, min(CLASS_COUNT, int(current_app.config.get("INTERACT_PASSWORD_MIN_CLASSES", 3))))


def _refuse(message: str, field: str = "password") -> ValidationFailed:
    """A policy refusal on the password field."""
    return ValidationFailed(message, {field: message})


def check_policy(password: str, *, field: str = "password") -> None:
    """Refuse a password that is too short or long, common, or of too few character classes."""
    password = password or ""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise _refuse(_("密码长度须为%(lo)d至%(hi)d个字符。", lo=MIN_LENGTH, hi=MAX_LENGTH), field)
    if is_common(password):
        raise _refuse(_("该密码过于常见，容易被猜中，请换一个。"), field)
    needed = min_classes()
    if character_classes(password) < needed:
        raise _refuse(_("密码须至少包含小写字母、大写字母、数字、符号中的%(n)d类。", n=needed), field)


def policy_hint() -> str:
    """The policy in one sentence, for the password forms."""
    text = _("密码长度%(lo)d至%(hi)d个字符，至少包含小写字母、大写字母、数字、符号中的%(n)d类，不能是常见密码，也不能与最近%(k)d次使用过的密码相同。",  # noqa: E501
             lo=MIN_LENGTH, hi=MAX_LENGTH, n=min_classes(), k=history_size())
    return text


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt unless a test suite lowers the cost)."""
    return generate_password_hash(password, method=current_app.config.get("INTERACT_PASSWORD_METHOD", "scrypt"))


def history_size() -> int:
    """How many recent passwords (the current one included) may not be used again."""
    return max(1, int(current_app.config.get("INTERACT_PASSWORD_HISTORY", 5)))


def max_age() -> timedelta | None:
    """How long a staff password lasts before it must be changed; None when rotation is off."""
    days = int(current_app.config.get("INTERACT_PASSWORD_MAX_AGE_DAYS", 90))
    return timedelta(days=days) if days > 0 else None


def _recent_hashes(user: User) -> list[str]:
    """The current hash and the previous ones the history rule covers, newest first."""
    earlier = db.session.scalars(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(history_size() - 1)
    ).all() if user.id is not None else []
    return [user.password_hash, *earlier] if user.password_hash else list(earlier)


def _remember_and_prune(user: User, old_hash: str) -> None:
    """Keep the outgoing hash, and no more history than the rule needs."""
    db.session.add(PasswordHistory(user_id=user.id, password_hash=old_hash, created_at=utcnow()))
    db.session.flush()
    keep = db.session.scalars(
        select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(history_size())
    ).all()
    for row in db.session.scalars(select(PasswordHistory).where(
            PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(keep))):
        db.session.delete(row)


def initial_password(user: User, password: str, *, must_change: bool) -> None:
    """Give a new account its first password (checked against the policy)."""
    check_policy(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change


def _set_password(user: User, password: str, *, must_change: bool) -> None:
    """Replace a password after the policy and history checks; end every session of the user."""
    check_policy(password, field="new_password")
    if any(check_password_hash(h, password) for h in _recent_hashes(user)):
        raise _refuse(_("新密码不能与最近%(k)d次使用过的密码相同。", k=history_size()), "new_password")
    old = user.password_hash
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    user.session_version = (user.session_version or 0) + 1
    if old:
        _remember_and_prune(user, old)
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password, proving the current one first."""
    if not check_password_hash(user.password_hash, current or ""):
        audit.record_now("auth.password_change", user=user, object_type="user", object_id=user.id,
                         details={"reason": "wrong_current_password"})
        msg = _("当前密码不正确。")
        raise ValidationFailed(msg, {"current_password": msg})
    _set_password(user, new, must_change=False)
    audit.record("auth.password_change", user=user, object_type="user", object_id=user.id)


def reset_password(actor: User | None, user: User, new: str) -> None:
    """An operator sets a user's password; the user must change it at the next sign-in."""
    if actor is not None and actor.id == user.id:
        msg = _("请在“我的账号”中修改自己的密码。")
        raise ValidationFailed(msg, {"new_password": msg})
    _set_password(user, new, must_change=True)
    audit.record("user.password_reset", user=actor, object_type="user", object_id=user.id,
                 details={"username": user.username}, username=None if actor else "cli")


def change_reason(user: User, now=None) -> str | None:
    """Why `user` must change their password before anything else: "operator", "expired" or None."""
    if user.must_change_password:
        return "operator"
    limit = max_age()
    if limit is None:
        return None
    changed = user.password_changed_at or user.created_at
    if changed is None or (now or utcnow()) - changed >= limit:
        return "expired"
    return None


# Symbols that a generated password may use; no quotes or spaces, which trip up shells and forms.
_SYMBOLS = "-_.!@#%+="


def generate(length: int = 16) -> str:
    """A random password that meets the policy (for demo accounts and operator resets)."""
    import secrets

    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _i in range(length))
        # A leading "-" reads as an option on a command line.
        if candidate[0] not in _SYMBOLS and character_classes(candidate) == CLASS_COUNT \
                and not is_common(candidate):
            return candidate
