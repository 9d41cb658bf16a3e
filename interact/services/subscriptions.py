"""Readers following newly published records (Art. 18): e-mail subscriptions and the feeds' records.

Anyone may subscribe an address to all published records, one department's or one kind's,
as immediate mail or a daily digest. Subscriptions are double opt-in: a confirmation mail
carries a signed, expiring link, and nothing else is ever sent to an unconfirmed address.
Every subscriber mail carries a signed one-click unsubscribe link, also as the
`List-Unsubscribe` header (RFC 2369) with `List-Unsubscribe-Post` (RFC 8058).

Links are signed with itsdangerous (the app's secret key, one salt per purpose), so no token
table is needed: a confirmation link expires after CONFIRM_MAX_AGE, an unsubscribe link never.

Subscriber mail and the feeds carry only the reviewed, masked public copy of a record
(public_title, public_content, public_reply), never a citizen's name or contact details.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from ..domain.errors import NotFound, ValidationFailed
from ..domain.db import db
from ..domain.kinds import KINDS
from ..domain.models import Case, Department, Subscription
from ..domain.states import Frequency, SubscriptionScope
from ..domain.timeutil import local_tz, to_local, utcnow
from . import mail
from .directory import department_by_code
from .inputs import is_valid_email

SCOPES = SubscriptionScope.titles()
# The form's explanation of each choice; the frequency's name is its title (Frequency).
FREQUENCIES = {Frequency.immediate.value: _l("即时（有新公开的办理结果就发送）"),
               Frequency.daily.value: _l("每日摘要（每天最多一封）")}
CONFIRM_MAX_AGE = timedelta(days=3)
CONFIRM_SALT = "interact.subscription.confirm"
UNSUBSCRIBE_SALT = "interact.subscription.unsubscribe"
# A record approved a moment before a run may still be committing: a run covers replies up to
# this long ago, and the next run takes the rest, so no record falls between two runs.
SETTLE = timedelta(seconds=60)
# The newest records a single mail lists; the rest are one click away on the records page.
MAX_ITEMS = 30
EXCERPT_CHARS = 200
FEED_SIZE = 50


@dataclass(frozen=True)
class RecordItem:
    """What a subscriber mail or a feed shows of one published record: the public copy only."""

    number: str
    kind: str
    kind_label: str
    title: str
    content: str
    reply: str
    department: str
    replied_at: datetime

    @property
    def content_excerpt(self) -> str:
        """The start of the masked letter."""
        return excerpt(self.content)

    @property
    def reply_excerpt(self) -> str:
        """The start of the reply."""
        return excerpt(self.reply)


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def normal_email(email: str | None) -> str:
    """The address as stored and compared: trimmed and lower-case."""
    return (email or "").strip().lower()


def mask_email(email: str | None) -> str:
    """An address as pages may show it: z***@example.com."""
    local, _at, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def scope_label(scope: str, value: str, department_names: dict[str, str] | None = None) -> str:
    """What a subscription covers, in words: 全部办理结果, 市交通运输局的办理结果, 投诉类办理结果."""
    if scope == SubscriptionScope.department:
        if department_names is not None:
            name = department_names.get(value)
        else:
            name = db.session.scalar(select(Department.name).where(Department.code == value))
        return _("%(department)s的办理结果", department=name or value)
    if scope == SubscriptionScope.kind:
        return _("%(kind)s类办理结果", kind=KINDS[value].label if value in KINDS else value)
    return str(SubscriptionScope.all.title)


def frequency_label(frequency: str) -> str:
    """即时 or 每日摘要."""
    return str((Frequency.daily if frequency == Frequency.daily else Frequency.immediate).title)


# --- tokens ------------------------------------------------------------------------------------

def _confirm_serializer() -> URLSafeTimedSerializer:
    """Signs confirmation links (they expire)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def _unsubscribe_serializer() -> URLSafeSerializer:
    """Signs unsubscribe links (they never expire: old mail must still work)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def _state(sub: Subscription) -> str:
    """A mark of the subscription's last unsubscription, bound into confirmation links."""
    # After an unsubscribe, an older confirmation link must not switch the mail back on.
    return sub.unsubscribed_at.isoformat() if sub.unsubscribed_at else ""


def confirm_token(sub: Subscription, frequency: str | None = None) -> str:
    """The signed confirmation token; confirming it also sets `frequency`."""
    return _confirm_serializer().dumps({"id": sub.id, "f": frequency or sub.frequency, "s": _state(sub)})


def unsubscribe_token(sub: Subscription) -> str:
    """The signed, non-expiring unsubscribe token of a subscription."""
    return _unsubscribe_serializer().dumps({"id": sub.id})


def _public_url() -> str:
    """The public site's base URL, for links in mail."""
    return current_app.config["INTERACT_PUBLIC_URL"].rstrip("/")


def confirm_url(sub: Subscription, frequency: str | None = None) -> str:
    """The link in the confirmation mail."""
    return f"{_public_url()}/subscribe/confirm/{confirm_token(sub, frequency)}"


def unsubscribe_url(sub: Subscription) -> str:
    """The one-click unsubscribe link of every subscriber mail."""
    return f"{_public_url()}/unsubscribe/{unsubscribe_token(sub)}"


def unsubscribe_headers(sub: Subscription) -> dict[str, str]:
    """List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058, one-click) headers."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(sub)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _invalid_link() -> ValidationFailed:
    """The refusal of a damaged or forged link."""
    return ValidationFailed(_("链接无效。请检查链接是否完整，或重新订阅。"))


def _subscription(sub_id) -> Subscription:
    """The subscription a valid token names, or NotFound."""
    sub = db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None
    if sub is None:
        raise NotFound(_("该订阅不存在。"))
    return sub


# --- subscribing -------------------------------------------------------------------------------

def subscribe(email: str, scope: str, scope_value: str = "", frequency: str = Frequency.immediate,
              now: datetime | None = None) -> Subscription | None:
    """Ask to subscribe `email`: queue a confirmation mail (double opt-in); no duplicate rows.

    The caller answers the same whatever happened, so nobody learns whether an address is
    subscribed. Returns the subscription, or None when nothing needed to be sent.
    """
    now = now or utcnow()
    address = normal_email(email)
    scope = (scope or "").strip()
    scope_value = (scope_value or "").strip() if scope in (SubscriptionScope.department, SubscriptionScope.kind) else ""
    frequency = (frequency or "").strip()
    errors = {}
    if not address:
        errors["email"] = _("请填写电子邮箱。")
    elif not is_valid_email(address):
        errors["email"] = _("电子邮箱格式不正确。")
    if scope not in SCOPES:
        errors["scope"] = _("请选择订阅范围。")
    elif scope == SubscriptionScope.department:
        try:
            department_by_code(scope_value)
        except NotFound:
            errors["department"] = _("请选择部门。")
    elif scope == SubscriptionScope.kind and scope_value not in KINDS:
        errors["kind"] = _("请选择办件类别。")
    if frequency not in FREQUENCIES:
        errors["frequency"] = _("请选择发送频率。")
    if errors:
        raise ValidationFailed(_("订阅信息有误，请检查后重新提交。"), errors)

    sub = db.session.scalar(select(Subscription).where(
        Subscription.email == address, Subscription.scope == scope, Subscription.scope_value == scope_value,
    ).order_by(Subscription.id).limit(1))
    if sub is None:
        sub = Subscription(email=address, scope=scope, scope_value=scope_value, frequency=frequency,
                           created_at=now)
        db.session.add(sub)
        db.session.flush()
    elif sub.confirmed_at and not sub.unsubscribed_at and sub.frequency == frequency:
        return None  # already receiving exactly this
    # Only the address's owner may change what it receives: a new frequency takes effect on
    # confirmation. At most one confirmation per subscription, frequency and hour, so that
    # nobody can flood an address through this form.
    hour = to_local(now).strftime("%Y%m%d%H")
    queued = mail.queue(
        sub.email, "subscription_confirm", dedupe_key=f"subconfirm:{sub.id}:{frequency}:{hour}",
        headers=unsubscribe_headers(sub), confirm_url=confirm_url(sub, frequency),
        unsubscribe_url=unsubscribe_url(sub), scope_text=scope_label(sub.scope, sub.scope_value),
        frequency_text=frequency_label(frequency), expires_days=CONFIRM_MAX_AGE.days,
    )
    return sub if queued is not None else None


def confirm(token: str, now: datetime | None = None) -> Subscription:
    """Confirm a subscription from its signed link; ValidationFailed if damaged or expired."""
    now = now or utcnow()
    try:
        data = _confirm_serializer().loads(token or "", max_age=int(CONFIRM_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise ValidationFailed(_("确认链接已过期（有效期%(n)d天），请重新订阅。", n=CONFIRM_MAX_AGE.days)) from None
    except BadSignature:
        raise _invalid_link() from None
    if not isinstance(data, dict) or data.get("f") not in FREQUENCIES:
        raise _invalid_link()
    sub = _subscription(data.get("id"))
    if data.get("s", "") != _state(sub):
        raise ValidationFailed(_("该确认链接已失效（订阅已被退订），请重新订阅。"))
    if sub.confirmed_at is None or sub.unsubscribed_at is not None:
        # A (re)started subscription gets records published from now on, not the backlog.
        sub.confirmed_at, sub.unsubscribed_at, sub.last_sent_at = now, None, None
    sub.frequency = data["f"]
    db.session.flush()
    return sub


def subscription_for_unsubscribe(token: str) -> Subscription:
    """The subscription an unsubscribe link names; ValidationFailed if the link is damaged."""
    try:
        data = _unsubscribe_serializer().loads(token or "")
    except BadSignature:
        raise _invalid_link() from None
    if not isinstance(data, dict):
        raise _invalid_link()
    return _subscription(data.get("id"))


def unsubscribe(token: str, now: datetime | None = None) -> Subscription:
    """Stop all mail to a subscription (idempotent)."""
    sub = subscription_for_unsubscribe(token)
    if sub.unsubscribed_at is None:
        sub.unsubscribed_at = now or utcnow()
        db.session.flush()
    return sub


# --- sending -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendReport:
    """What one run of `send_due` queued."""

    immediate: int
    daily: int


def _day_start(moment: datetime) -> datetime:
    """Local midnight at the start of `moment`'s local day, as an aware datetime."""
    return datetime.combine(to_local(moment).date(), time(0), tzinfo=local_tz())


def send_due(now: datetime | None = None) -> SendReport:
    """Queue the mail due to confirmed subscribers: immediate ones, and each day's digests.

    An immediate subscriber gets one mail with every record replied since the last one; a
    daily subscriber at most one digest per local day with the records of the days before.
    Idempotent: `last_sent_at` marks how far a subscription is covered, and each mail's
    dedupe key (the period it covers) keeps concurrent runs from sending it twice.
    """
    now = now or utcnow()
    upper = now - SETTLE
    today_start = _day_start(now)
    subs = list(db.session.scalars(
        select(Subscription).where(Subscription.confirmed_at.is_not(None), Subscription.unsubscribed_at.is_(None))
        .order_by(Subscription.id)))
    windows = []
    for sub in subs:
        since = sub.last_sent_at or sub.confirmed_at
        if sub.frequency == Frequency.daily:
            until, period = min(today_start, upper), "d" + to_local(now).date().isoformat()
        else:
            until, period = upper, "i" + since.isoformat()
        if since < until:
            windows.append((sub, since, until, period))
    if not windows:
        return SendReport(0, 0)
    records = records_between(min(w[1] for w in windows), max(w[2] for w in windows))
    names = {code: name for code, name in db.session.execute(select(Department.code, Department.name))}
    # A digest sent on day D covers the records up to the end of day D-1.
    covered_day = to_local(now).date() - timedelta(days=1)
    counts = dict.fromkeys(Frequency, 0)
    for sub, since, until, period in windows:
        matching = [r.item for r in records if since < r.replied_at <= until and _in_scope(sub, r)]
        if not matching:
            sub.last_sent_at = until  # nothing was published for it in the window
            continue
        matching.reverse()  # newest first
        queued = mail.queue(
            sub.email, "subscription_records", dedupe_key=f"sub:{sub.id}:{period}",
            headers=unsubscribe_headers(sub), records=matching[:MAX_ITEMS],
            more=max(0, len(matching) - MAX_ITEMS), daily=sub.frequency == Frequency.daily,
            day=covered_day, scope_text=scope_label(sub.scope, sub.scope_value, names),
            unsubscribe_url=unsubscribe_url(sub),
        )
        if queued is not None:
            # A concurrent run that queued this period first moved the mark itself.
            sub.last_sent_at = until
            counts[sub.frequency] += 1
    db.session.flush()
    return SendReport(counts[Frequency.immediate], counts[Frequency.daily])


def _in_scope(sub: Subscription, record: _ScopedItem) -> bool:
    """Whether a record falls under a subscription's scope."""
    if sub.scope == SubscriptionScope.department:
        return record.department_code == sub.scope_value
    if sub.scope == SubscriptionScope.kind:
        return record.item.kind == sub.scope_value
    return True


@dataclass(frozen=True)
class _ScopedItem:
    """A record with what scopes are matched on."""

    item: RecordItem
    department_code: str

    @property
    def replied_at(self) -> datetime:
        """When the record's reply was approved (and published)."""
        return self.item.replied_at


def _public_columns():
    """The only columns of a case that readers' mail and feeds select: the public copy."""
    return (Case.number, Case.kind, Case.replied_at, Case.public_title, Case.public_content,
            Case.public_reply, Department.code, Department.name)


def _items(rows: Iterable) -> list[RecordItem]:
    """RecordItems from rows of `_public_columns()`."""
    return [_scoped(row).item for row in rows]


def _scoped(row) -> _ScopedItem:
    """One row of `_public_columns()` as a scoped item."""
    number, kind, replied_at, title, content, reply, dept_code, dept_name = row
    label = str(KINDS[kind].label) if kind in KINDS else kind
    item = RecordItem(number=number, kind=kind, kind_label=label, title=title or "", content=content or "",
                      reply=reply or "", department=dept_name or "", replied_at=replied_at)
    return _ScopedItem(item, dept_code or "")


def records_between(after: datetime, until: datetime) -> list[_ScopedItem]:
    """Published records replied in (after, until], oldest first, in one indexed query."""
    stmt = (select(*_public_columns()).outerjoin(Department, Case.department_id == Department.id)
            .where(Case.published.is_(True), Case.replied_at > after, Case.replied_at <= until)
            .order_by(Case.replied_at, Case.id))
    return [_scoped(row) for row in db.session.execute(stmt)]


def latest_records(department_id: int | None = None, kind: str | None = None,
                   limit: int = FEED_SIZE) -> list[RecordItem]:
    """The newest published records, of one department or kind if given (NotFound for an unknown kind)."""
    stmt = (select(*_public_columns()).outerjoin(Department, Case.department_id == Department.id)
            .where(Case.published.is_(True)))
    if department_id is not None:
        stmt = stmt.where(Case.department_id == department_id)
    if kind is not None:
        if kind not in KINDS:
            raise NotFound(_("没有这个办件类别。"))
        stmt = stmt.where(Case.kind == kind)
    stmt = stmt.order_by(Case.replied_at.desc(), Case.id.desc()).limit(limit)
    return _items(db.session.execute(stmt))
