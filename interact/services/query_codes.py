"""A new query code for a citizen who lost theirs, sent only to the address given with the case.

The citizen types the case number and that e-mail address. On a match a new code is mailed to
the case's address (the only mail that ever carries a code); only its hash is stored. The old
code keeps working until the new one is first used, then stops: whoever asked, and however late
the mail, the citizen is never locked out of their case. A second request replaces the first
new code. A mismatch, an unknown number or a
case without an address does nothing, and the adapter answers all of them alike, so the form
tells nobody whether a number exists or which address belongs to it.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.db import db
from ..domain.models import Case, CaseEvent
from ..domain.timeutil import utcnow
from . import cases, notify
from .timeline import add_event

# One new code per case in this long: the form cannot be used to flood a citizen's mailbox.
# The form's answer names it, as the time to wait before asking again.
REISSUE_INTERVAL = timedelta(minutes=5)
ACTION = "reissue_code"


def _same_address(given: str, stored: str) -> bool:
    """Whether two e-mail addresses are the same, ignoring case and surrounding spaces."""
    return hmac.compare_digest(given.strip().lower().encode(), stored.strip().lower().encode())


def reissue_query_code(number: str, email: str, now: datetime | None = None) -> bool:
    """Mail a new query code to the case's address; False if nothing was done.

    The new code replaces the old one at its first use (interact.services.cases.case_for_citizen).
    """
    number, email = (number or "").strip(), (email or "").strip()
    if not number.isdigit() or len(number) > 20 or not email or len(email) > 254:
        return False
    case = db.session.scalar(select(Case).where(Case.number == number).with_for_update())
    if case is None or not case.email or not _same_address(email, case.email):
        return False
    now = now or utcnow()
    recent = db.session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.action == ACTION, CaseEvent.at > now - REISSUE_INTERVAL))
    if recent is not None:
        return False
    code = cases.new_query_code()
    case.reissued_code_hash = cases.hash_query_code(case.number, code)
    add_event(case, None, ACTION, case.status, case.status, now, public_note=_("查询码已重新发送"))
    db.session.flush()
    notify.citizen(case, "query_code_reissued", code=cases.format_query_code(code))
    return True
