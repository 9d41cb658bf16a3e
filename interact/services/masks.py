"""Stored masks over a case's publishable text (Art. 17): what the public copy will hide.

The detector (interact.privacy) runs when a draft enters review, never on a page view: its
findings are stored as TextMask rows (origin "detector") for the case's title, content and reply
(the draft while it is under review). The reviewer of the department sees them highlighted, lifts
a false one, or masks an exact substring by hand (origin "reviewer", label "manual": every
occurrence is hidden). At approval the public copy is built from these rows. The published
contacts of the departments and of the platform (interact.services.directory) are never masked.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain import privacy
from ..domain.errors import NotFound, ValidationFailed
from ..domain.db import db
from ..domain.models import Case, TextMask, User
from ..domain.states import MaskOrigin, Status, TextField
from . import audit, directory
from .access import can_view, case_for_action, refusal

OBJECT_TYPE = "case"
FIELDS = tuple(TextField)
MAX_MANUAL = 512  # the width of TextMask.text


@dataclass(frozen=True)
class Segment:
    """A stretch of text and, when it will be masked, the mask's label."""

    text: str
    label: str | None = None


# --- reading ----------------------------------------------------------------------------------

def field_texts(case: Case) -> dict[str, str]:
    """The publishable texts of a case; the reply is the draft while one exists."""
    reply = case.draft_text if case.draft_text is not None else case.reply_text
    return {"title": case.title or "", "content": case.content or "", "reply": reply or ""}


def case_masks(case: Case) -> list[TextMask]:
    """Every stored mask of `case`, by field (title, content, reply) and position."""
    rows = db.session.scalars(
        select(TextMask).where(TextMask.object_type == OBJECT_TYPE, TextMask.object_id == case.id)
        .order_by(TextMask.start, TextMask.id)
    ).all()
    return sorted(rows, key=_order)


def _order(row: TextMask) -> tuple[int, int, int]:
    """Sort key: field (title, content, reply), then position, then age."""
    return (FIELDS.index(row.field) if row.field in FIELDS else len(FIELDS), row.start, row.id or 0)


def _spans(rows: Iterable[TextMask], field: str, text: str) -> list[tuple[int, int, str]]:
    """Where the active masks of `field` fall in `text`."""
    spans = []
    for row in rows:
        if row.field != field or row.lifted or not row.text:
            continue
        # (A finding longer than the column keeps only its start in `text`, hence startswith.)
        if row.origin == MaskOrigin.detector and text[row.start:row.end].startswith(row.text):
            spans.append((row.start, row.end, row.label))
            continue
        # A manual mask hides every occurrence; a detector row whose text moved is still honoured.
        at = text.find(row.text)
        while at >= 0:
            spans.append((at, at + len(row.text), row.label))
            at = text.find(row.text, at + len(row.text))
    return privacy.merge(spans)


def masked_text(case: Case, field: str, text: str, rows: Iterable[TextMask] | None = None) -> str:
    """`text` (the case's `field`) with the stored, non-lifted masks applied."""
    rows = case_masks(case) if rows is None else rows
    matches = [privacy.Match(s, e, label, text[s:e]) for s, e, label in _spans(rows, field, text)]
    return privacy.mask(text, matches)


def segments(field: str, text: str, rows: Iterable[TextMask]) -> list[Segment]:
    """`text` cut into plain and to-be-masked stretches, for highlighting."""
    out, pos = [], 0
    for start, end, label in _spans(rows, field, text):
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], label))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def masks_for_publication(case: Case) -> list[TextMask]:
    """The stored masks; a case drafted before masks were stored is scanned once, now."""
    rows = case_masks(case)
    return rows or detect_case_masks(case)


# --- detection --------------------------------------------------------------------------------

def detect_case_masks(case: Case, published: frozenset[str] | None = None) -> list[TextMask]:
    """Run the detector over the case's texts and store its findings, keeping lifted decisions.

    `published`: the published contacts' keys, when the caller scans many cases with one list.
    """
    if case.id is None:
        db.session.flush()  # a new case needs its id
    existing = case_masks(case)
    result = [r for r in existing if r.origin != MaskOrigin.detector]
    published = directory.published_contact_keys() if published is None else published
    for field, text in field_texts(case).items():
        old = [r for r in existing if r.field == field and r.origin == MaskOrigin.detector]
        lifted = {(r.label, r.text) for r in old if r.lifted}
        kept = {(r.start, r.end, r.label, r.text): r for r in old}
        for match in privacy.find(text):
            if privacy.is_published_contact(match, published):
                continue  # the government's own phone or mailbox, quoted: not personal data
            key = (match.start, match.end, match.label, match.text)
            row = kept.pop(key, None)
            if row is None:
                row = TextMask(
                    object_type=OBJECT_TYPE, object_id=case.id, field=field, start=match.start,
                    end=match.end, text=match.text[:MAX_MANUAL], label=match.label, origin=MaskOrigin.detector,
                    lifted=(match.label, match.text) in lifted,
                )
                db.session.add(row)
            result.append(row)
        # Findings in text that changed (a revised reply) go; the same finding keeps its row.
        for row in kept.values():
            db.session.delete(row)
    return sorted(result, key=_order)


# How many cases one rescan transaction looks at.
RESCAN_BATCH = 200


def rescan_batch(after_id: int = 0, limit: int = RESCAN_BATCH) -> tuple[list[Case], int, int]:
    """Run the detector again over the next cases waiting for review (by id, after `after_id`).

    For cases drafted before a rule changed (a department listed its published contacts, the
    detector learnt a new kind): their stored findings follow the rule of today, while what a
    reviewer decided (lifted or added masks) stays. Returns the cases looked at and how many
    detector masks went and came.
    """
    cases = list(db.session.scalars(
        select(Case).where(Case.status == Status.pending_review, Case.id > after_id)
        .order_by(Case.id).limit(limit)))
    removed = added = 0
    published = directory.published_contact_keys()  # read once for the batch
    for case in cases:
        before = {(r.field, r.start, r.end, r.label) for r in case_masks(case) if r.origin == MaskOrigin.detector}
        after = {(r.field, r.start, r.end, r.label) for r in detect_case_masks(case, published)
                 if r.origin == MaskOrigin.detector}
        removed += len(before - after)
        added += len(after - before)
    db.session.flush()
    return cases, removed, added


# --- the reviewer's control -------------------------------------------------------------------

def can_edit_masks(user: User, case: Case) -> bool:
    """Whether `user` may change the masks of `case` now: they may review it."""
    return can_view(user, case) and refusal(user, case, "review") is None


def _for_review(user: User, case: Case | str) -> Case:
    """The case, if `user` may review it now; otherwise the same refusal the review would get."""
    return case_for_action(user, case, "review")


def _field(field: str) -> str:
    """A mask field name, checked."""
    if field not in FIELDS:
        msg = _("请选择要遮盖的内容（标题、来信内容或答复）。")
        raise ValidationFailed(msg, {"field": msg})
    return field


def add_manual_mask(case: Case | str, field: str, text: str, user: User) -> TextMask:
    """A reviewer masks an exact substring of a field; every occurrence is hidden."""
    case = _for_review(user, case)
    field = _field(field)
    text = (text or "").strip()
    if not text:
        msg = _("请填写要遮盖的文字。")
        raise ValidationFailed(msg, {"text": msg})
    if len(text) > MAX_MANUAL:
        msg = _("要遮盖的文字不能超过%(n)d字。", n=MAX_MANUAL)
        raise ValidationFailed(msg, {"text": msg})
    start = field_texts(case)[field].find(text)
    if start < 0:
        msg = _("所选内容中没有这段文字，请原样复制要遮盖的文字。")
        raise ValidationFailed(msg, {"text": msg})
    row = db.session.scalar(select(TextMask).where(
        TextMask.object_type == OBJECT_TYPE, TextMask.object_id == case.id, TextMask.field == field,
        TextMask.origin == MaskOrigin.reviewer, TextMask.text == text))
    if row is None:
        row = TextMask(object_type=OBJECT_TYPE, object_id=case.id, field=field, start=start,
                       end=start + len(text), text=text, label="manual", origin=MaskOrigin.reviewer,
                       lifted=False, created_by_id=user.id)
        db.session.add(row)
    else:
        row.lifted = False
    audit.record("case.mask_add", user=user, object_type="case", object_id=case.number,
                 details={"field": field, "label": "manual"})
    db.session.flush()
    return row


def lift_mask(case: Case | str, mask_id: int, user: User, lifted: bool = True) -> TextMask:
    """A reviewer lifts a mask that hides nothing personal, or restores it."""
    case = _for_review(user, case)
    row = db.session.get(TextMask, mask_id)
    if row is None or row.object_type != OBJECT_TYPE or row.object_id != case.id:
        raise NotFound(_("遮盖记录不存在。"))
    row.lifted = bool(lifted)
    audit.record("case.mask_lift", user=user, object_type="case", object_id=case.number,
                 details={"field": row.field, "label": row.label, "lifted": row.lifted})
    db.session.flush()
    return row
