"""Who is told what: notifications to staff and to the citizen of a case.

Everything here only writes to the database in the current transaction (the outbox or the
digest), so a rolled-back change tells nobody. Staff choose immediate mail (one message per
notification) or one daily digest (`interact mail digest`); citizens always get immediate
mail, and only ever at the address given with their own case.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.errors import ValidationFailed
from ..domain.db import db
from ..domain.models import Case, Department, DigestItem, OutboxMessage, Role, User, UserRole
from ..domain.timeutil import utcnow
from ..domain.privacy import mask_name
from ..domain.states import NotifyMode
from ..domain.workdays import local_date
from . import audit, calendar, mail
from .tx import add_once

DIGEST = NotifyMode.digest
IMMEDIATE = NotifyMode.immediate
NOTIFY_MODES = tuple(NotifyMode)


def _user_key(dedupe_key: str | None, user: User) -> str | None:
    """The dedupe key of one recipient's copy of a staff notification."""
    return f"{dedupe_key}:u{user.id}" if dedupe_key else None


def staff(users: Iterable[User], template: str, *, case: Case | None = None,
          dedupe_key: str | None = None, **ctx) -> int:
    """Tell each active staff user with an email: now by mail, or in their daily digest.

    Returns how many users were told (not counting duplicates already told under `dedupe_key`).
    """
    told, seen = 0, set()
    for user in users:
        if user is None or user.id in seen or not user.active or not (user.email or "").strip():
            continue
        seen.add(user.id)
        key = _user_key(dedupe_key, user)
        context = dict(ctx, case=case, user=user)
        if (user.notify_mode or IMMEDIATE) == DIGEST:
            if _digest(user, template, case, key, context):
                told += 1
        elif mail.queue(user.email.strip(), template, dedupe_key=key, **context) is not None:
            told += 1
    return told


def _digest(user: User, template: str, case: Case | None, key: str | None, context: dict) -> bool:
    """Hold a notification for the user's next digest; False if `key` was already held."""
    if key and db.session.scalar(select(DigestItem.id).where(DigestItem.dedupe_key == key)):
        return False
    # The summary is the mail's own subject line, so both modes say the same thing.
    summary = mail.render(template, **context).subject
    item = DigestItem(user_id=user.id, template=template, case_id=case.id if case is not None else None,
                      summary=summary, dedupe_key=key)
    if key is None:
        db.session.add(item)
        db.session.flush()
        return True
    return add_once(item)


def citizen(case: Case, template: str, *, dedupe_key: str | None = None, **ctx):
    """Mail the citizen of `case` at the address given with it (never anyone else); None if none."""
    address = (case.email or "").strip()
    if not address:
        return None
    return mail.queue(address, template, dedupe_key=dedupe_key, case=case,
                      greeting=citizen_greeting(case), **ctx)


def citizen_greeting(case: Case) -> str:
    """How a citizen mail addresses its reader: the masked name (张*), never the full name."""
    masked = mask_name(case.name or "")
    return masked or ""


def _role_users(role: Role, department: Department | int | None = None) -> list[User]:
    """Active users holding `role`, optionally in one department, in a stable order."""
    stmt = (select(User).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.active.is_(True)).order_by(User.id))
    if department is not None:
        dept_id = department if isinstance(department, int) else department.id
        stmt = stmt.where(User.department_id == dept_id)
    return list(db.session.scalars(stmt).unique())


def department_handlers(department: Department | int | None) -> list[User]:
    """The active handlers of a department (none without a department)."""
    return [] if department is None else _role_users(Role.handler, department)


def department_reviewers(department: Department | int | None) -> list[User]:
    """The active reviewers of a department (none without a department)."""
    return [] if department is None else _role_users(Role.reviewer, department)


def dispatchers() -> list[User]:
    """The active dispatchers (the dispatch office)."""
    return _role_users(Role.dispatcher)


# --- preferences and digests ------------------------------------------------------------------

def set_notify_mode(user: User, mode: str, actor: User | None = None) -> None:
    """Choose immediate mail or one daily digest for a staff user (audited)."""
    if mode not in NOTIFY_MODES:
        msg = _("请选择通知方式。")
        raise ValidationFailed(msg, {"notify_mode": msg})
    before = user.notify_mode or IMMEDIATE
    user.notify_mode = mode
    db.session.flush()
    audit.record("user.notify_mode", user=actor or user, object_type="user", object_id=user.username,
                 details={"from": before, "to": mode})


@dataclass(frozen=True)
class DigestLine:
    """One line of a digest mail."""

    summary: str
    case_number: str | None


def digest_key(user: User, day) -> str:
    """The outbox dedupe key of a user's digest of one local day."""
    return f"digest:{user.id}:{day.isoformat()}"


def queue_digests(as_of: datetime | None = None) -> int:
    """Queue, for each user with held notifications, one digest mail for the local day of `as_of`.

    Idempotent: a user gets at most one digest per local day (its dedupe key); notifications
    held after that day's digest wait for the next one. Returns how many digests were queued.
    """
    as_of = as_of or utcnow()
    day = local_date(as_of, calendar.tz_name())
    pending = (select(DigestItem).where(DigestItem.sent_at.is_(None), DigestItem.created_at <= as_of)
               .order_by(DigestItem.user_id, DigestItem.created_at, DigestItem.id))
    by_user: dict[int, list[DigestItem]] = {}
    for item in db.session.scalars(pending):
        by_user.setdefault(item.user_id, []).append(item)
    queued = 0
    for user_id, items in by_user.items():
        user = db.session.get(User, user_id)
        # Held items of a user who has since lost their address or been disabled stay held.
        if user is None or not user.active or not (user.email or "").strip():
            continue
        key = digest_key(user, day)
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        case_numbers = _case_numbers({i.case_id for i in items if i.case_id is not None})
        lines = [DigestLine(i.summary, case_numbers.get(i.case_id)) for i in items]
        if mail.queue(user.email.strip(), "staff_digest", dedupe_key=key, user=user, day=day,
                      items=lines) is None:
            continue
        for item in items:
            item.sent_at = as_of
        queued += 1
    db.session.flush()
    return queued


def _case_numbers(case_ids: set[int]) -> dict[int, str]:
    """Case id → number, in one query."""
    if not case_ids:
        return {}
    return dict(db.session.execute(select(Case.id, Case.number).where(Case.id.in_(case_ids))).all())
