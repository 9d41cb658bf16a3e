"""Two-factor authentication for staff: TOTP (RFC 6238, via pyotp) and one-time recovery codes.

Enrolment stores a new secret but enables it only once the user has typed a code from the
authenticator app, so a half-finished enrolment never locks anyone out. On confirmation the
user gets ten recovery codes, shown once; only their hashes are stored, and each works once.
Administrators and reviewers must enrol (MLPS level 3); every other staff user may.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from ..domain.errors import Conflict, ValidationFailed
from ..domain.db import db
from ..domain.models import RecoveryCode, Role, User
from ..domain.timeutil import utcnow
from . import audit

REQUIRED_ROLES = frozenset({Role.admin, Role.reviewer})
RECOVERY_CODE_COUNT = 10
# 16 characters of base32 carry 80 bits: out of reach of an offline search even with a fast hash.
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_CODE_GROUPS = 4
_CODE_GROUP_LEN = 4


def required(user: User) -> bool:
    """Whether the user's roles require two-factor authentication."""
    return bool(user.roles & REQUIRED_ROLES)


def enabled(user: User) -> bool:
    """Whether the user has confirmed a TOTP authenticator."""
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def must_enrol(user: User) -> bool:
    """Whether the user must enrol before doing anything else."""
    return required(user) and not enabled(user)


def issuer() -> str:
    """The name authenticator apps show for this platform's accounts."""
    return current_app.config.get("INTERACT_TOTP_ISSUER") or _("政民互动平台")


def pending_secret(user: User) -> str:
    """The secret being enrolled, created on first use and kept until confirmed."""
    if enabled(user):
        raise Conflict(_("已启用两步验证。如需更换设备，请先停用再重新绑定。"))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        db.session.flush()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI the QR code carries."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer())


def _normalise(code: str) -> str:
    """A code as typed, without spaces and hyphens, lower case."""
    return "".join(ch for ch in (code or "") if ch not in " -\t").lower()


def _totp_step(secret: str, code: str, after: int | None = None) -> int | None:
    """The time step whose TOTP is `code` (now, or one step either side for clock drift), if
    it is later than `after`; None otherwise."""
    code = _normalise(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_totp(user: User, code: str) -> bool:
    """Accept a TOTP code once: a code already used (or an older one) is refused as a replay."""
    step = _totp_step(user.totp_secret or "", code, after=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _code_hash(code: str) -> str:
    """SHA-256 of a normalised recovery code."""
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; return them (only hashes are kept)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    now = utcnow()
    for _i in range(RECOVERY_CODE_COUNT):
        groups = ["".join(secrets.choice(_CODE_ALPHABET) for _j in range(_CODE_GROUP_LEN))
                  for _g in range(_CODE_GROUPS)]
        code = "-".join(groups)
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(code), created_at=now))
    db.session.flush()
    return codes


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Enable TOTP once the app shows the right code; return the new recovery codes."""
    if enabled(user):
        raise Conflict(_("已启用两步验证。"))
    if not user.totp_secret or not _use_totp(user, code):
        msg = _("验证码不正确，请核对手机上的时间后重新输入。")
        raise ValidationFailed(msg, {"code": msg})
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(user)
    audit.record("auth.totp_enable", user=user, object_type="user", object_id=user.id)
    return codes


def unused_recovery_codes(user: User) -> int:
    """How many recovery codes the user has left."""
    return len(db.session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def verify(user: User, code: str) -> str | None:
    """Check a second-factor code: "totp", "recovery" (now used up), or None when wrong."""
    if not enabled(user):
        return None
    if _use_totp(user, code):
        return "totp"
    normalised = _normalise(code)
    if len(normalised) != _CODE_GROUPS * _CODE_GROUP_LEN:
        return None
    row = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(normalised),
        RecoveryCode.used_at.is_(None)).with_for_update())
    if row is None:
        return None
    row.used_at = utcnow()
    db.session.flush()
    audit.record("auth.recovery_code_used", user=user, object_type="user", object_id=user.id,
                 details={"left": unused_recovery_codes(user)})
    return "recovery"


def _prove(user: User, password: str, code: str, action: str) -> str:
    """Refuse (and audit `action` as failed) unless both the password and a second-factor code are right."""
    errors = {}
    if not check_password_hash(user.password_hash, password or ""):
        errors["password"] = _("密码不正确。")
    method = verify(user, code) if not errors else None
    if not errors and method is None:
        errors["code"] = _("验证码不正确。")
    if errors:
        audit.record_now(action, user=user, object_type="user", object_id=user.id,
                         details={"reason": "wrong_password" if "password" in errors else "wrong_code"})
        raise ValidationFailed(_("密码或验证码不正确。"), errors)
    return method


def disable(user: User, password: str, code: str) -> None:
    """Turn two-factor authentication off, with the password and a current code."""
    if not enabled(user):
        raise Conflict(_("尚未启用两步验证。"))
    _prove(user, password, code, "auth.totp_disable")
    _clear(user)
    audit.record("auth.totp_disable", user=user, object_type="user", object_id=user.id)


def regenerate_recovery_codes(user: User, password: str, code: str) -> list[str]:
    """Replace the recovery codes (all old ones stop working), with the password and a current code."""
    if not enabled(user):
        raise Conflict(_("尚未启用两步验证。"))
    _prove(user, password, code, "auth.recovery_codes_regenerate")
    codes = _new_recovery_codes(user)
    audit.record("auth.recovery_codes_regenerate", user=user, object_type="user", object_id=user.id)
    return codes


def reset(user: User, actor: User | None = None) -> None:
    """An operator removes a user's authenticator (lost phone and codes); the user enrols again."""
    _clear(user)
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()
    audit.record("user.totp_reset", user=actor, object_type="user", object_id=user.id,
                 details={"username": user.username})


def _clear(user: User) -> None:
    """Forget the secret and every recovery code."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()

