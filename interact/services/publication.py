"""What the public may see of a case (Art. 17): reviewed, masked copies only; and how many.

A case becomes a published record only through `set_published`, which keeps the record tallies
(published records per department, kind and local reply month, see RecordTally) in step in the
same transaction. `published_total` answers the records pages' and the API's "how many" from
those rows, so no request counts every published case.

`public_version` names the state of everything the public pages show (published records,
departments, sites, deadlines): any flush that changes one of them writes a new random version
in the same transaction (see `_note_public_changes`), so a page cached under the old version is
never served again once the change commits, on every host.
"""
from __future__ import annotations

import json
import secrets
from collections import Counter

from sqlalchemy import delete, event, func, insert, inspect, select

from ..domain.db import db, upsert_insert
from ..domain.models import Case, CalendarYear, Department, KindSetting, RecordTally, Setting, Site, WorkdayOverride
from ..domain.privacy import MASKS, is_mobile, mask_name
from ..domain.timeutil import local_tz, utcnow
from . import masks


def _own_details(text: str, case: Case) -> str:
    """Hide the citizen's own phone, e-mail and name wherever they still appear verbatim."""
    # A safety net under the stored masks: the reviewer may lift a mask, never these.
    if not text:
        return text
    phone_mask = MASKS["mobile"] if case.phone and is_mobile(case.phone) else MASKS["landline"]
    for literal, label in ((case.phone, phone_mask), (case.email, MASKS["email"])):
        if literal and len(literal) >= 5:
            text = text.replace(literal, label)
    if case.name and len(case.name) >= 2:
        text = text.replace(case.name, mask_name(case.name))
    return text


def public_copy(case: Case, rows=None) -> dict[str, str]:
    """The masked name, title, content and reply the public would see, from the stored masks."""
    rows = masks.case_masks(case) if rows is None else rows
    texts = masks.field_texts(case)
    copy = {field: _own_details(masks.masked_text(case, field, texts[field], rows), case)
            for field in masks.FIELDS}
    copy["name"] = mask_name(case.name)
    return copy


def prepare_public_copy(case: Case) -> None:
    """Store the masked copy the public pages and API show; they never read the raw fields."""
    # The case is mid-approval (published, not yet replied): reading the masks must not flush it.
    with db.session.no_autoflush:
        copy = public_copy(case, masks.masks_for_publication(case))
    case.public_name = copy["name"]
    case.public_title = copy["title"]
    case.public_content = copy["content"]
    case.public_reply = copy["reply"]


def clear_public_copy(case: Case) -> None:
    """Withdraw a case from publication."""
    set_published(case, False)
    case.public_name = case.public_title = case.public_content = case.public_reply = None


# --- tallies ---------------------------------------------------------------------------------

def tally_month(case: Case) -> str:
    """The local month (YYYY-MM) a published case is counted in: that of its reply."""
    return f"{case.replied_at.astimezone(local_tz()):%Y-%m}"


def _bump(department_id: int, kind: str, month: str, delta: int) -> None:
    """Add `delta` to one tally row, creating it: one atomic upsert, safe under concurrency."""
    db.session.execute(
        upsert_insert(db.session)(RecordTally)
        .values(department_id=department_id, kind=kind, month=month, published=delta)
        .on_conflict_do_update(index_elements=[RecordTally.department_id, RecordTally.kind, RecordTally.month],
                               set_={"published": RecordTally.published + delta})
    )


def set_published(case: Case, published: bool) -> None:
    """Publish or withdraw `case`, keeping the record tallies in step (in the caller's transaction).

    A published case must have its reply time set first: it is counted in that month.
    """
    published = bool(published)
    if bool(case.published) == published:
        case.published = published
        return
    kind = case.kind.value if hasattr(case.kind, "value") else str(case.kind)
    # The case may be mid-approval (published before its status is replied): no autoflush here.
    with db.session.no_autoflush:
        _bump(case.department_id or 0, kind, tally_month(case), 1 if published else -1)
    case.published = published


def published_total(department_id: int | None = None, kind: str | None = None, month: str | None = None) -> int:
    """How many published records match the filters, from the tallies (a SUM over few rows)."""
    stmt = select(func.coalesce(func.sum(RecordTally.published), 0))
    if department_id is not None:
        stmt = stmt.where(RecordTally.department_id == department_id)
    if kind is not None:
        stmt = stmt.where(RecordTally.kind == kind)
    if month is not None:
        stmt = stmt.where(RecordTally.month == month)
    return int(db.session.scalar(stmt) or 0)


def rebuild_tallies() -> int:
    """Recount every tally from the published cases (after a bulk load or a repair); returns the
    number of published records. Reads the cases in one pass, a column at a time."""
    counts: Counter = Counter()
    rows = db.session.execute(select(Case.department_id, Case.kind, Case.replied_at)
                              .where(Case.published.is_(True)).execution_options(yield_per=10_000))
    tz = local_tz()
    for department_id, kind, replied_at in rows:
        counts[(department_id or 0, kind.value, f"{replied_at.astimezone(tz):%Y-%m}")] += 1
    db.session.execute(delete(RecordTally))
    if counts:
        db.session.execute(insert(RecordTally), [
            {"department_id": d, "kind": k, "month": m, "published": n} for (d, k, m), n in counts.items()])
    return sum(counts.values())



# --- the public state's version ----------------------------------------------------------------

PUBLIC_VERSION_KEY = "public_version"
# Rows whose every change shows on public pages (names, lists, deadlines).
PUBLIC_MODELS = (Department, Site, KindSetting, WorkdayOverride, CalendarYear)


_VERSION_QUERY = select(Setting.value).where(Setting.key == PUBLIC_VERSION_KEY)


def public_version() -> str | None:
    """The current (committed) version of the public state, or None before anything public was
    ever written. Read on a pooled connection of its own, outside the session: a cached page then
    costs no session at all, and the answer is the latest commit, not an older snapshot."""
    with db.engine.connect() as conn:
        raw = conn.execute(_VERSION_QUERY).scalar()
    return json.loads(raw) if raw else None


def touch_public(session=None) -> None:
    """Give the public state a new version (in the session's transaction)."""
    session = session or db.session
    value, now = json.dumps(secrets.token_hex(8)), utcnow()
    session.execute(upsert_insert(session)(Setting).values(key=PUBLIC_VERSION_KEY, value=value, updated_at=now)
                    .on_conflict_do_update(index_elements=[Setting.key], set_={"value": value, "updated_at": now}))


def _changes_public(obj) -> bool:
    """Whether writing `obj` changes what a public page shows."""
    if isinstance(obj, PUBLIC_MODELS):
        return True
    if isinstance(obj, Setting):
        return obj.key != PUBLIC_VERSION_KEY
    if isinstance(obj, Case):
        # A published case shows every change (a rating, say); others only when (un)published.
        # So submissions, dispatches and drafts leave the public pages' caches alone.
        return bool(obj.published) or inspect(obj).attrs.published.history.has_changes()
    return False


def _note_public_changes(session, _flush_context, _instances) -> None:
    """Before a flush: a new public version when the flush changes anything public."""
    if any(_changes_public(obj) for objs in (session.new, session.dirty, session.deleted) for obj in objs):
        touch_public(session)


def watch_public_changes(session_factory) -> None:
    """Make every session of `session_factory` give the public state a new version when it
    changes it (called once at start-up, see create_app)."""
    if not event.contains(session_factory, "before_flush", _note_public_changes):
        event.listen(session_factory, "before_flush", _note_public_changes)
