"""Operator corrections to the working-day calendar (the State Council's notice can beat the
library); each one moves the stored deadlines of every open case with it."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from ..domain.db import db
from ..domain.errors import NotFound, ValidationFailed
from ..domain.models import User, WorkdayOverride
from ..domain.timeutil import utcnow
from . import audit
from .calendar import current_calendar
from .deadlines import recompute_open_deadlines


def set_override(day: date, working: bool, note: str = "", actor: User | None = None) -> int:
    """Mark `day` as a working day or a day off, and recompute open cases' deadlines."""
    if not current_calendar().covers(day):
        # Outside the precomputed range the calendar cannot be rebuilt with this override.
        msg = _("%(day)s 超出工作日历的范围。", day=day.isoformat())
        raise ValidationFailed(msg, {"day": msg})
    row = db.session.get(WorkdayOverride, day)
    if row is None:
        row = WorkdayOverride(day=day)
        db.session.add(row)
    row.working = working
    row.note = (note or "").strip()[:200]
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor else None
    db.session.flush()
    note = row.note
    changed = recompute_open_deadlines()
    audit.record("calendar.override", user=actor, object_type="day", object_id=day.isoformat(),
                 details={"working": working, "note": note, "recomputed": changed})
    return changed


def clear_override(day: date, actor: User | None = None) -> int:
    """Remove the override of `day`, and recompute open cases' deadlines."""
    row = db.session.get(WorkdayOverride, day)
    if row is None:
        raise NotFound(_("%(day)s 没有调整记录。", day=day.isoformat()))
    working = row.working
    db.session.delete(row)
    db.session.flush()
    changed = recompute_open_deadlines()
    audit.record("calendar.clear", user=actor, object_type="day", object_id=day.isoformat(),
                 details={"was_working": working, "recomputed": changed})
    return changed
