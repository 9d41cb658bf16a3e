"""The JSON shapes of API v1: models turned into JSON-ready dicts (interact.api.schemas declares
them for the OpenAPI document), and the input parsing both API blueprints share.

Dates and times: every timestamp (`*_at`) is ISO 8601 in the platform's local time zone
(INTERACT_TIMEZONE, Asia/Shanghai by default) with its offset, e.g. "2026-11-27T10:15:00+08:00",
so it reads the same as on the HTML pages; dates (`due_date`) are local calendar dates "YYYY-MM-DD".

Privacy (Art. 17): `record` and everything it calls read only the reviewed, masked `public_*`
copies. Only `citizen_case` (behind the query code) and `staff_case` (behind a staff token) show
the citizen's own words, and only `staff_case` shows name, phone and e-mail.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import request
from flask_babel import gettext as _

from ..domain.errors import ValidationFailed
from ..domain.db import db
from ..domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from ..domain.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseFlag,
    Department,
    ExtensionRequest,
    Site,
    TextMask,
    User,
)
from ..services import content_rules
from ..domain.deadlines import Deadline
from ..domain.timeutil import to_local
from ..domain.workflow import EVENT_LABELS, status_label



# --- values -------------------------------------------------------------------------------

def timestamp(moment: datetime | None) -> str | None:
    """An aware datetime as local ISO 8601 with offset, or None."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else None


def local_day(moment: datetime | None) -> str | None:
    """The local calendar date of a datetime as YYYY-MM-DD, or None."""
    local = to_local(moment)
    return local.date().isoformat() if local else None


def day(value: date | None) -> str | None:
    """A date as YYYY-MM-DD, or None."""
    return value.isoformat() if value else None


def department(dept: Department | None) -> dict | None:
    """A department as {code, name}, or None."""
    return {"code": dept.code, "name": dept.name} if dept else None


def department_entry(dept: Department) -> dict:
    """A department in the public directory, with its leader mailbox if it runs one."""
    return {"code": dept.code, "name": dept.name, "mailbox_name": dept.mailbox_name}


def site(s: Site | None) -> dict | None:
    """A website that error reports can target, with its owning department."""
    if s is None:
        return None
    return {"id": s.id, "name": s.name, "base_url": s.base_url, "department": department(s.department)}


def coded(code: str | None, labels: dict) -> dict | None:
    """A registry value as {code, label}, or None."""
    if not code:
        return None
    label = labels.get(code)
    return {"code": code, "label": str(label) if label is not None else code}


def user_ref(user: User | int | None) -> dict | None:
    """A staff member as {username, name}; ids are looked up (identity-mapped, so cheap)."""
    if isinstance(user, int):
        user = db.session.get(User, user)
    if user is None:
        return None
    return {"username": user.username, "name": user.label}


# --- the channel directory (Art. 16: every channel says what it is for) ---------------------

def kinds(deadlines: dict[str, int]) -> dict:
    """Every kind with its purpose, aim, usage and deadline, plus the fixed value lists."""
    return {
        "kinds": [
            {
                "code": k.code, "label": str(k.label), "purpose": str(k.purpose), "aim": str(k.aim),
                "usage": str(k.usage), "deadline_days": deadlines[k.code],
                "needs_mailbox": k.needs_mailbox, "needs_site": k.needs_site,
            }
            for k in KINDS.values()
        ],
        "error_types": [coded(code, ERROR_TYPES) for code in ERROR_TYPES],
        "ratings": [coded(code, RATINGS) for code in RATINGS],
        "decline_reasons": [coded(code, DECLINE_REASONS) for code in DECLINE_REASONS],
    }


# --- the citizen's view (number + query code) -----------------------------------------------

def receipt(case: Case, code: str | None) -> dict:
    """What a citizen gets back after submitting: the code once, None on an idempotent replay."""
    return {"number": case.number, "query_code": code, "status": case.status.value,
            "due_date": local_day(case.due_at)}


def public_event(event: CaseEvent) -> dict:
    """A timeline entry as the citizen sees it: the citizen-visible note only."""
    return {
        "at": timestamp(event.at), "action": event.action, "label": str(EVENT_LABELS.get(event.action, event.action)),
        "from": event.from_status, "to": event.to_status, "note": event.public_note or "",
    }


def rating(case: Case) -> dict | None:
    """The citizen's rating of the reply, or None."""
    if case.rating is None:
        return None
    return {"value": case.rating, "label": str(RATINGS.get(case.rating, case.rating)),
            "comment": case.rating_comment, "rated_at": timestamp(case.rated_at)}


def _answer(case: Case) -> dict | None:
    """The approved answer (reply, or decline explanation), or None before review."""
    if case.replied_at is None:
        return None
    return {"text": case.reply_text or "", "replied_at": timestamp(case.replied_at),
            "decline_reason": coded(case.decline_reason, DECLINE_REASONS)}


def citizen_case(case: Case, events: list[CaseEvent]) -> dict:
    """The citizen's own case: their words, the public timeline, the answer and the rating."""
    return {
        "number": case.number, "kind": case.kind, "status": case.status.value,
        "status_label": str(status_label(case.status)), "department": department(case.department),
        "title": case.title, "content": case.content, "submitted_at": timestamp(case.submitted_at),
        "due_date": local_day(case.due_at), **extension(case), "events": [public_event(e) for e in events],
        "reply": _answer(case), "rating": rating(case),
    }


# --- published records (public_* fields only) -----------------------------------------------

def record(case: Case) -> dict:
    """A published handling record, built only from the reviewed, masked public copy."""
    return {
        "number": case.number, "kind": case.kind, "title": case.public_title or "",
        "content": case.public_content or "", "name": case.public_name or "",
        "department": department(case.department), "submitted_at": timestamp(case.submitted_at),
        "due_date": local_day(case.due_at), **extension(case), "replied_at": timestamp(case.replied_at),
        "reply": case.public_reply or "", "working_days_used": case.working_days_used,
        "on_time": case.on_time, "rating": case.rating,
    }


def extension(case: Case) -> dict:
    """Whether the deadline was extended (延期), by how many working days, and the original due date."""
    return {"extended": bool(case.extension_count), "extension_days": case.extension_days or 0,
            "original_due_date": local_day(case.original_due_at or case.due_at)}


def keyset_page(result, item) -> dict:
    """One page of a long list as {items, total, page, per_page, pages, next_cursor}; `page` is null
    on a page reached by cursor, `next_cursor` null on the last page."""
    return {"items": [item(x) for x in result.items], "total": result.total, "page": result.page,
            "per_page": result.per_page, "pages": result.pages, "next_cursor": result.older}


def page(result, item) -> dict:
    """One page of a list as {items, total, page, per_page, pages}."""
    return {"items": [item(x) for x in result.items], "total": result.total, "page": result.page,
            "per_page": result.per_page, "pages": result.pages}


# --- the staff view -----------------------------------------------------------------------

def _deadline(d: Deadline) -> dict:
    """Deadline facts shared by the staff list and the staff case view."""
    return {"due_at": timestamp(d.due_at), "due_date": day(d.due_date), "light": d.light,
            "days_left": d.days_left}


def staff_case_item(case: Case, deadline: Deadline) -> dict:
    """One row of a staff case list."""
    return {"number": case.number, "kind": case.kind, "status": case.status.value,
            "department": department(case.department), "title": case.title, **_deadline(deadline)}


def staff_event(event: CaseEvent) -> dict:
    """A timeline entry for staff: actor, internal note, and what the citizen sees of it."""
    return {
        "at": timestamp(event.at), "action": event.action,
        "label": str(EVENT_LABELS.get(event.action, event.action)), "from": event.from_status,
        "to": event.to_status, "actor": user_ref(event.actor), "note": event.note or "",
        "public_note": event.public_note or "", "public": event.public,
    }


def attachment(a: Attachment) -> dict:
    """An attachment's metadata (the bytes are served by the staff pages)."""
    return {"id": a.id, "purpose": a.purpose, "filename": a.filename, "content_type": a.content_type,
            "size": a.size, "created_at": timestamp(a.created_at)}


def _draft(case: Case) -> dict | None:
    """The draft waiting for review, or the returned text kept for revision, or None."""
    if case.draft_kind is None and not case.draft_text:
        return None
    return {"kind": case.draft_kind, "text": case.draft_text or "",
            "reason": coded(case.draft_reason, DECLINE_REASONS), "by": user_ref(case.draft_by),
            "drafted_at": timestamp(case.drafted_at)}


def text_mask(row: TextMask) -> dict:
    """A stored mask over a case's text: where it is and whether it will hide that stretch."""
    return {"id": row.id, "field": row.field, "label": row.label, "origin": row.origin,
            "lifted": bool(row.lifted), "start": row.start, "end": row.end}


def extension_request(req: ExtensionRequest | None) -> dict | None:
    """An extension request (延期申请) for staff, or None."""
    if req is None:
        return None
    return {"days": req.days, "reason": req.reason, "status": req.status,
            "requested_by": user_ref(req.requested_by_id), "requested_at": timestamp(req.requested_at)}


def staff_case(case: Case, deadline: Deadline, actions: list[str], masks: list[TextMask] | None = None,
               pending_extension: ExtensionRequest | None = None) -> dict:
    """Everything staff may see of a case, with the actions this user may take now.

    `masks` (what the public copy will hide) is given for a user who may review the case now;
    `pending_extension` is the extension request waiting for a dispatcher, if any.
    """
    answer = _answer(case)
    if answer is not None:
        answer.update(replied_by=user_ref(case.replied_by_id), reviewed_by=user_ref(case.reviewed_by_id))
    public = None
    if case.published:
        public = {"name": case.public_name, "title": case.public_title, "content": case.public_content,
                  "reply": case.public_reply}
    return {
        "number": case.number, "kind": case.kind, "status": case.status.value,
        "status_label": str(status_label(case.status)), "department": department(case.department),
        "site": site(case.site), "page_url": case.page_url, "error_type": coded(case.error_type, ERROR_TYPES),
        "title": case.title, "content": case.content, "name": case.name, "phone": case.phone,
        "email": case.email, "publish_consent": case.publish_consent,
        "submitted_at": timestamp(case.submitted_at), **_deadline(deadline),
        "original_due_date": local_day(case.original_due_at or case.due_at),
        "extension_days": case.extension_days or 0, "extension_count": case.extension_count or 0,
        "extension_request": extension_request(pending_extension),
        "urge_count": case.urge_count or 0, "last_urged_at": timestamp(case.last_urged_at),
        "working_days_used": case.working_days_used, "on_time": case.on_time,
        "transfer_count": case.transfer_count or 0, "last_transfer_reason": case.last_transfer_reason,
        "handler": user_ref(case.handler_id), "draft": _draft(case), "reply": answer,
        "published": case.published, "public": public, "rating": rating(case),
        "events": [staff_event(e) for e in case.events],
        "attachments": [attachment(a) for a in case.attachments],
        "actions": actions,
        "masks": [text_mask(m) for m in masks] if masks is not None else None,
        "flags": [case_flag(f) for f in content_rules.flags_for(case)],
    }


def case_flag(flag: CaseFlag) -> dict:
    """A content-rule flag for the reviewer (Art. 17): a link outside the government domains or a
    sensitive word, and the field it is in."""
    return {"kind": flag.kind, "field": flag.field, "match": flag.match,
            "created_at": timestamp(flag.created_at)}


# --- input --------------------------------------------------------------------------------

def json_object(*, empty_ok: bool = False) -> dict:
    """The request body as a JSON object; ValidationFailed if it is missing, malformed or not an object."""
    if empty_ok and not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise ValidationFailed(_("请求体须为 JSON 对象（Content-Type: application/json）。"))
    return body
