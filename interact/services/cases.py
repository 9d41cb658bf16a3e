"""The case workflow: submission, the status machine's actions, rating, and case queries."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..domain.db import db, upsert_insert
from ..domain.deadlines import is_overdue
from ..domain.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from ..domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from ..domain.models import Case, CaseCounter, CaseEvent, Department, Role, Site, Status, User
from ..domain.states import AttachmentPurpose, DraftKind
from ..domain.timeutil import local_tz, utcnow
from ..domain.workflow import TRANSITIONS, review_target
from . import attachments as attachment_service
from . import audit, content_rules, deadlines, notify, publication
from . import masks as mask_service
from .access import case_for_action
from .directory import valid_http_url
from .inputs import LIMITS, clean_text, is_valid_email
from .listing import KeysetPage, Page, keyset_page, paginate
from .timeline import add_event

# Query codes avoid look-alike characters (0/O, 1/I/L) because citizens copy them by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,22}[0-9]$")


@dataclass
class Submission:
    """What a citizen sends, as parsed by an adapter (strings as typed, not yet validated)."""

    kind: str
    title: str = ""
    content: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    department: str = ""  # department code, or for a mailbox the leader's office code
    site: str | int | None = None  # site id, for corrections
    page_url: str = ""
    error_type: str = ""
    # None: the citizen made no choice (the HTML form has no default), which is refused.
    publish: bool | None = True
    uploads: list[attachment_service.Upload] = field(default_factory=list)
    screenshot: attachment_service.Upload | None = None


# --- query codes and numbers -------------------------------------------------------------

def normalise_code(code: str) -> str:
    """Upper-case a typed query code and drop spaces and hyphens."""
    return re.sub(r"[\s-]", "", code or "").upper()


def _pepper() -> bytes:
    """The server-side secret mixed into query-code hashes."""
    return (current_app.config.get("INTERACT_QUERY_CODE_PEPPER") or current_app.config["SECRET_KEY"]).encode()


def hash_query_code(number: str, code: str) -> str:
    """Peppered HMAC of a query code, bound to its case number."""
    return hmac.new(_pepper(), f"{number}:{normalise_code(code)}".encode(), hashlib.sha256).hexdigest()


def new_query_code() -> str:
    """A random query code of CODE_LENGTH characters."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_query_code(code: str) -> str:
    """Group a code in fours so it is easier to copy: ABCD-EFGH-JKMN."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def next_case_number(day: date) -> str:
    """The next number of `day`: YYYYMMDD and a five-digit daily sequence, e.g. 2026112700042."""
    # One atomic upsert, so concurrent submissions never get the same number.
    stmt = (
        upsert_insert(db.session)(CaseCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1})
        .returning(CaseCounter.last)
    )
    seq = db.session.execute(stmt).scalar_one()
    return f"{day:%Y%m%d}{seq:05d}"


# --- submission ---------------------------------------------------------------------------

def _validate(sub: Submission) -> tuple[Department | None, Site | None, dict[str, str]]:
    """Check a submission; return its routing target and the errors per field."""
    errors: dict[str, str] = {}
    kind = KINDS.get(sub.kind)
    if kind is None:
        raise ValidationFailed(_("未知的类别。"), {"kind": _("未知的类别。")})
    for name, label in (("title", _("标题")), ("content", _("内容")), ("name", _("姓名")), ("phone", _("联系电话"))):
        value = (getattr(sub, name) or "").strip()
        if not value:
            errors[name] = _("请填写%(field)s。", field=label)
        elif name in LIMITS and len(value) > LIMITS[name]:
            errors[name] = _("%(field)s不能超过%(n)d字。", field=label, n=LIMITS[name])
    if "phone" not in errors and not PHONE_RE.match(sub.phone.strip()):
        errors["phone"] = _("请填写正确的联系电话。")
    if sub.email and not is_valid_email(sub.email.strip()):
        errors["email"] = _("电子邮箱格式不正确。")
    if sub.publish is None:
        errors["publish"] = _("请选择是否公开您的来信。")

    department = site = None
    if kind.needs_site:
        site = _site(sub.site)
        if site is None:
            errors["site"] = _("请选择出错的网站。")
        else:
            department = site.department
        url = (sub.page_url or "").strip()
        if not url:
            errors["page_url"] = _("请填写出错页面的网址。")
        elif len(url) > 1024 or not valid_http_url(url):
            errors["page_url"] = _("网址须以 http:// 或 https:// 开头。")
        if sub.error_type not in ERROR_TYPES:
            errors["error_type"] = _("请选择错误类型。")
    elif sub.department:
        department = db.session.scalar(
            select(Department).where(Department.code == sub.department, Department.active)
        )
        if department is None or (kind.needs_mailbox and not department.mailbox_name):
            errors["department"] = _("请选择有效的部门。")
            department = None
    elif kind.needs_mailbox:
        errors["department"] = _("请选择领导信箱。")
    return department, site, errors


def _site(value: str | int | None) -> Site | None:
    """The active site with this id, or None."""
    try:
        site_id = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    site = db.session.get(Site, site_id) if site_id else None
    return site if site and site.active and site.department.active else None


def submit_case(sub: Submission, now: datetime | None = None) -> tuple[Case, str]:
    """Register a citizen's case; return it with its query code (shown once, only hashed)."""
    department, site, errors = _validate(sub)
    checked, screenshot, too_large = [], None, False
    try:
        checked = attachment_service.check_uploads(sub.uploads)
    except (ValidationFailed, PayloadTooLarge) as exc:
        errors["attachments"] = exc.message
        too_large = isinstance(exc, PayloadTooLarge)
    if sub.screenshot is not None and sub.screenshot.data:
        try:
            screenshot = attachment_service.check_uploads(
                [sub.screenshot], images_only=True, field="screenshot")[0]
        except (ValidationFailed, PayloadTooLarge) as exc:
            errors["screenshot"] = exc.message
            too_large = too_large or isinstance(exc, PayloadTooLarge)
    if too_large:  # answered with 413, the other fields' errors shown too
        raise PayloadTooLarge(_("上传的文件过大，请检查后重新提交。"), errors)
    if errors:
        raise ValidationFailed(_("提交的信息有误，请检查后重新提交。"), errors)

    now = now or utcnow()
    submitted_on = deadlines.local_day(now)
    days = deadlines.deadline_days(sub.kind)
    due = deadlines.case_due_at(now, days)
    number = next_case_number(submitted_on)
    code = new_query_code()
    status = Status.assigned if department is not None else Status.submitted
    case = Case(
        number=number, kind=sub.kind, status=status, department=department, site=site,
        page_url=(sub.page_url or "").strip() or None if site else None,
        error_type=sub.error_type if site else None,
        title=sub.title.strip(), content=sub.content.strip(), name=sub.name.strip(),
        phone=sub.phone.strip(), email=(sub.email or "").strip() or None,
        publish_consent=bool(sub.publish), query_code_hash=hash_query_code(number, code),
        submitted_at=now, submitted_on=submitted_on, deadline_days=days,
        due_at=due, original_due_at=due, transfer_count=0, extension_days=0, extension_count=0,
    )
    for item in checked:
        case.attachments.append(attachment_service.store(item))
    if screenshot is not None:
        case.attachments.append(attachment_service.store(screenshot, purpose=AttachmentPurpose.screenshot))
    note = _("已提交至%(dept)s", dept=department.name) if department else ""
    add_event(case, None, "submit", None, status, now, public_note=note, department=department)
    db.session.add(case)
    db.session.flush()
    # Links outside the government domains and sensitive words, for the reviewer (Art. 17).
    content_rules.flag_case(case)
    _notify_submitted(case)
    return case, code


def _notify_submitted(case: Case) -> None:
    """The receipt to the citizen (never the code); the department's handlers, or the dispatchers."""
    notify.citizen(case, "case_receipt", dedupe_key=f"case:{case.number}:receipt")
    if case.department is not None:
        notify.staff(notify.department_handlers(case.department), "case_assigned", case=case)
    else:
        notify.staff(notify.dispatchers(), "case_unassigned", case=case)


def _move(case: Case, actor: User, action: str, target: Status, now: datetime | None, **event) -> CaseEvent:
    """Change the status, write the event and the audit entry in one step."""
    now = now or utcnow()
    source = case.status
    case.status = target
    dept = event.get("department") or case.department
    # Codes and statuses only: the texts may hold a citizen's personal data.
    details = {"from": source.value, "to": target.value, "department": dept.code if dept else None}
    if action in ("approve", "return"):
        details["decision"] = action
    if action == "approve":
        details["published"] = bool(case.published)
    if action == "decline":
        details["reason"] = case.draft_reason
    audit.record("case." + action, user=actor, object_type="case", object_id=case.number, details=details)
    return add_event(case, actor, action, source, target, now, **event)


# --- actions --------------------------------------------------------------------------------

def dispatch_case(user: User, case: str | Case, department_code: str, now: datetime | None = None) -> Case:
    """Route an unassigned or transferred case to a department (the deadline is kept)."""
    case = case_for_action(user, case, "dispatch", now)
    dept = db.session.scalar(select(Department).where(Department.code == (department_code or ""),
                                                      Department.active))
    if dept is None:
        msg = _("请选择有效的部门。")
        raise ValidationFailed(msg, {"department": msg})
    case.department = dept
    case.handler_id = None
    db.session.flush()
    _move(case, user, "dispatch", TRANSITIONS["dispatch"].target, now, note=dept.name,
          public_note=_("已分办至%(dept)s", dept=dept.name), department=dept)
    db.session.flush()
    notify.staff(notify.department_handlers(dept), "case_assigned", case=case)
    # The citizen hears of a transfer once it has a new department (not while it waits for one).
    transferred_from = _last_transfer_department_id(case)
    if transferred_from is not None and transferred_from != dept.id:
        notify.citizen(case, "case_rerouted")
    return case


def _last_transfer_department_id(case: Case) -> int | None:
    """The department that last sent `case` back to the dispatch office, if it ever was."""
    for event in reversed(case.events):
        if event.action == "transfer":
            return event.department_id
    return None


def accept_case(user: User, case: str | Case, now: datetime | None = None) -> Case:
    """A handler of the department takes the case on."""
    case = case_for_action(user, case, "accept", now)
    case.handler_id = user.id
    _move(case, user, "accept", TRANSITIONS["accept"].target, now, public_note=_("%(dept)s已受理", dept=case.department.name))
    db.session.flush()
    return case


def transfer_case(user: User, case: str | Case, reason: str, now: datetime | None = None) -> Case:
    """Send a case that is not the department's back to the dispatch office, with a reason."""
    case = case_for_action(user, case, "transfer", now)
    reason = clean_text(reason, "reason", _("退回理由"))
    old = case.department
    case.department = None
    case.department_id = None
    case.handler_id = None
    case.transfer_count = (case.transfer_count or 0) + 1
    case.last_transfer_reason = reason
    case.draft_kind = case.draft_text = case.draft_reason = None
    _move(case, user, "transfer", TRANSITIONS["transfer"].target, now, note=reason,
          public_note=_("办件正在重新分办"), department=old)
    db.session.flush()
    notify.staff(notify.dispatchers(), "case_transferred", case=case, from_department=old)
    return case


def _notify_reviewers(case: Case, author: User) -> None:
    """Tell the department's reviewers a draft waits; not its author, who may not review it."""
    reviewers = [u for u in notify.department_reviewers(case.department) if u.id != author.id]
    notify.staff(reviewers, "review_waiting", case=case)


def draft_reply(user: User, case: str | Case, text: str, now: datetime | None = None) -> Case:
    """A handler drafts the reply; it waits for a reviewer."""
    case = case_for_action(user, case, "reply", now)
    text = clean_text(text, "text", _("答复内容"))
    now = now or utcnow()
    case.draft_kind, case.draft_text, case.draft_reason = DraftKind.reply, text, None
    case.draft_by_id, case.drafted_at = user.id, now
    _move(case, user, "reply", TRANSITIONS["reply"].target, now, note=text, public=False)
    content_rules.flag_draft(case)
    # Once per draft, so that no page view ever runs the detector (Art. 17).
    mask_service.detect_case_masks(case)
    db.session.flush()
    _notify_reviewers(case, user)
    return case


def draft_decline(user: User, case: str | Case, reason: str, explanation: str = "",
                  now: datetime | None = None) -> Case:
    """A handler proposes not to accept the case, for one of the fixed reasons."""
    case = case_for_action(user, case, "decline", now)
    if reason not in DECLINE_REASONS:
        msg = _("请选择不予受理的理由。")
        raise ValidationFailed(msg, {"reason": msg})
    explanation = clean_text(explanation, "explanation", _("说明"), required=False)
    now = now or utcnow()
    if case.status == Status.assigned:
        case.handler_id = user.id
    case.draft_kind, case.draft_text, case.draft_reason = DraftKind.decline, explanation, reason
    case.draft_by_id, case.drafted_at = user.id, now
    _move(case, user, "decline", TRANSITIONS["decline"].target, now, note=f"{DECLINE_REASONS[reason]} {explanation}".strip(),
          public=False)
    content_rules.flag_draft(case)
    mask_service.detect_case_masks(case)
    db.session.flush()
    _notify_reviewers(case, user)
    return case


def review_draft(user: User, case: str | Case, decision: str, comment: str = "", publish: bool = False,
                 now: datetime | None = None) -> Case:
    """A reviewer of the department, not the draft's author, approves or returns the draft."""
    case = case_for_action(user, case, "review", now)
    if decision not in ("approve", "return"):
        msg = _("审核结论须为通过或退回。")
        raise ValidationFailed(msg, {"decision": msg})
    comment = clean_text(comment, "comment", _("审核意见"), required=(decision == "return"))
    now = now or utcnow()
    target = review_target(decision, case.draft_kind)
    if decision == "return":
        case.draft_kind = None  # the text stays, so the handler can revise it
        _move(case, user, "return", target, now, note=comment, public=False)
        db.session.flush()
        notify.staff(notify.department_handlers(case.department), "draft_returned", case=case,
                     comment=comment)
        return case

    case.replied_at = now
    case.replied_by_id = case.draft_by_id
    case.reviewed_by_id = user.id
    case.working_days_used = deadlines.answered_working_days(case, now)
    case.on_time = not is_overdue(case.due_at, now)
    if target == Status.declined:
        case.decline_reason = case.draft_reason
        case.reply_text = case.draft_text or ""
        publication.clear_public_copy(case)  # declined cases are never listed
        public_note = _("不予受理：%(reason)s", reason=DECLINE_REASONS[case.decline_reason])
    else:
        case.reply_text = case.draft_text
        publication.set_published(case, bool(publish) and case.publish_consent)
        if case.published:
            publication.prepare_public_copy(case)
        else:
            publication.clear_public_copy(case)
        public_note = ""
    case.draft_kind = case.draft_text = case.draft_reason = None
    _move(case, user, "approve", target, now, note=comment, public_note=public_note)
    db.session.flush()
    notify.citizen(case, "case_replied", dedupe_key=f"case:{case.number}:answered")
    return case


# --- citizens -------------------------------------------------------------------------------

def case_for_citizen(number: str, code: str) -> Case:
    """The case matching a number and query code; a wrong code looks like an unknown number.

    The code mailed by the lost-code form is accepted beside the old one; its first use retires
    the old one (a change the caller's unit of work commits).
    """
    number = (number or "").strip()
    case = db.session.scalar(select(Case).where(Case.number == number)) if number.isdigit() else None
    expected = case.query_code_hash if case else hash_query_code("0", "x")
    reissued = (case.reissued_code_hash if case else None) or hash_query_code("0", "y")
    given = hash_query_code(number, code)
    # Both comparisons always run, so the time taken tells nothing about which code matched.
    old_ok, new_ok = hmac.compare_digest(expected, given), hmac.compare_digest(reissued, given)
    if case is None or not (old_ok or new_ok):
        raise NotFound(_("办件编号或查询码不正确。"))
    if new_ok:
        case.query_code_hash, case.reissued_code_hash = given, None
        db.session.flush()
    return case


def rate_case(case: Case, rating: str, comment: str = "", now: datetime | None = None) -> Case:
    """The citizen rates the approved reply, once."""
    if rating not in RATINGS:
        msg = _("请选择满意度。")
        raise ValidationFailed(msg, {"rating": msg})
    if case.status != Status.replied:
        raise Conflict(_("办件答复后才能评价。"))
    if case.rating is not None:
        raise Conflict(_("该办件已经评价过了。"))
    comment = clean_text(comment, "comment", _("评价意见"), required=False)
    now = now or utcnow()
    case.rating, case.rating_comment, case.rated_at = rating, comment or None, now
    add_event(case, None, "rate", case.status, case.status, now, note=comment,
           public_note=str(RATINGS[rating]))
    db.session.flush()
    return case


# --- queries --------------------------------------------------------------------------------

def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC start and end of a local calendar month given as YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", (month or "").strip())
    # Years near 1 or 9999 overflow once converted to UTC; no record is that old or new.
    if not match or not 1900 <= int(match[1]) <= 9000 or not 1 <= int(match[2]) <= 12:
        raise ValidationFailed(_("月份格式应为 YYYY-MM。"), {"month": _("月份格式应为 YYYY-MM。")})
    year, mon = int(match[1]), int(match[2])
    start = datetime(year, mon, 1, tzinfo=local_tz())
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=local_tz())
    return start, end


def published_records(department: str | None = None, kind: str | None = None, month: str | None = None,
                      page: int | None = 1, per_page: int = 20, *, older_than: str | None = None,
                      newer_than: str | None = None, last: bool = False,
                      cursor_field: str = "cursor") -> KeysetPage:
    """Published handling records, newest reply first: a page by number (up to
    listing.MAX_NUMBERED_PAGE), the page older or newer than a cursor, or the last page.

    The total comes from the record tallies (publication.published_total), not from counting.
    """
    # The check constraint guarantees published ⇒ replied, so the indexes alone answer this.
    stmt = select(Case).options(joinedload(Case.department)).where(Case.published.is_(True))
    department_id = None
    if department:
        # Resolved first, so the query filters on the indexed id instead of joining.
        department_id = db.session.scalar(select(Department.id).where(Department.code == department)) or -1
        stmt = stmt.where(Case.department_id == department_id)
    if kind:
        # An unknown kind matches nothing (the kind column cannot even be compared with it).
        stmt = stmt.where(Case.kind.in_([kind] if kind in KINDS else []))
    month_key = None
    if month:
        start, end = month_bounds(month)
        stmt = stmt.where(Case.replied_at >= start, Case.replied_at < end)
        month_key = f"{start:%Y-%m}"
    if (kind and kind not in KINDS) or department_id == -1:
        total = 0
    else:
        total = publication.published_total(department_id, kind or None, month_key)
    return keyset_page(stmt, Case.replied_at, Case.id, total=total, page=page, per_page=per_page,
                       older_than=older_than, newer_than=newer_than, last=last, cursor_field=cursor_field)


def published_record(number: str) -> Case:
    """One published record, or NotFound."""
    case = db.session.scalar(select(Case).options(joinedload(Case.department))
                             .where(Case.number == (number or ""), Case.published.is_(True),
                                    Case.status == Status.replied))
    if case is None:
        raise NotFound(_("记录不存在或未公开。"))
    return case


def staff_cases(user: User, status: str | None = None, department: str | None = None,
                page: int = 1, per_page: int = 50) -> Page:
    """The cases `user` may see, soonest deadline first."""
    stmt = select(Case).options(joinedload(Case.department))
    visible = []
    if user.has_role(Role.dispatcher):
        visible.append(Case.status == Status.submitted)
    if user.roles & {Role.handler, Role.reviewer} and user.department_id:
        visible.append(Case.department_id == user.department_id)
    if not visible:
        return Page([], 0, 1, per_page)
    stmt = stmt.where(or_(*visible))
    if status:
        try:
            stmt = stmt.where(Case.status == Status(status))
        except ValueError as exc:
            raise ValidationFailed(_("未知的状态。"), {"status": _("未知的状态。")}) from exc
    if department:
        stmt = stmt.join(Case.department).where(Department.code == department)
    stmt = stmt.order_by(Case.due_at, Case.id)
    return paginate(stmt, page, per_page)


def dispatch_queue(page: int = 1, per_page: int = 50) -> Page:
    """Cases with no department (new and transferred), soonest deadline first."""
    stmt = select(Case).where(Case.status == Status.submitted).order_by(Case.due_at, Case.id)
    return paginate(stmt, page, per_page)


def department_queue(department_id: int, statuses: tuple[Status, ...] | None = None,
                     page: int = 1, per_page: int = 50) -> Page:
    """A department's cases, soonest deadline first."""
    stmt = select(Case).where(Case.department_id == department_id)
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    stmt = stmt.order_by(Case.due_at, Case.id)
    return paginate(stmt, page, per_page)


def case_with_details(case: Case) -> Case:
    """Load a case's events, actors and attachments in a fixed number of queries."""
    return db.session.scalar(
        select(Case).where(Case.id == case.id).options(
            selectinload(Case.events).joinedload(CaseEvent.actor),
            selectinload(Case.attachments),
            joinedload(Case.department), joinedload(Case.site),
        )
    )
