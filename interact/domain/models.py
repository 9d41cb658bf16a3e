"""Database models: departments, sites, staff, cases and the working-day calendar."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .db import db
# The state enums live in .states; Role and Status stay importable from here too.
from .states import (
    AttachmentPurpose,
    AuditOutcome,
    CaseKind,
    DeclineReason,
    DraftKind,
    ErrorType,
    ExtensionStatus,
    FlagKind,
    Frequency,
    MaskOrigin,
    NotifyMode,
    OutboxStatus,
    Rating,
    Role,
    Status,
    SubscriptionScope,
    TextField,
)
from .timeutil import utcnow


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store aware datetimes as naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import timezone

        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        """Return stored values as aware UTC datetimes."""
        if value is None:
            return None
        from datetime import timezone

        return value.replace(tzinfo=timezone.utc)


OPEN_STATUSES = (Status.submitted, Status.assigned, Status.handling, Status.pending_review)
CLOSED_STATUSES = (Status.replied, Status.declined)


def _enum(cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """A column holding one of `cls`'s values: VARCHAR(length) on every backend, plus a CHECK
    constraint `ck_<table>_<name>` (naming convention in interact.domain.db) allowing only those
    values; the ORM refuses other strings too (LookupError) and loads members of `cls`."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=length,
                validate_strings=True, values_callable=lambda e: [m.value for m in e])


class Department(db.Model):
    """A government department; the dispatch office and leaders' offices are departments too."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the department runs a leader mailbox (e.g. "市长信箱").
    mailbox_name: Mapped[str | None] = mapped_column(String(128))
    # The department's own published phone numbers and e-mail addresses, one per line: where a
    # reply or letter quotes them they are not personal data and are never masked (Art. 17).
    public_contacts: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="department")

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class Site(db.Model):
    """A government website that error reports can target, owned by one department."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    base_url: Mapped[str] = mapped_column(String(512))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship(back_populates="sites")


class User(UserMixin, db.Model):
    """A staff account; only an operator creates one (no default accounts, Art. 25)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Password policy (MLPS level 3): rotation, and a change forced after an operator set it.
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised on logout, password change or disabling: every older session stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor authentication (TOTP); the secret is only active once enrolment is confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted: a code, once used, cannot be replayed in its window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # "immediate": one mail per notification; "digest": one mail a day.
    notify_mode: Mapped[NotifyMode] = mapped_column(_enum(NotifyMode, "notify_mode", 16), default=NotifyMode.immediate,
                                                    server_default=NotifyMode.immediate.value)

    department: Mapped[Department | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )

    @property
    def roles(self) -> set[Role]:
        """The roles this user holds."""
        return {r.role for r in self.role_rows}

    def has_role(self, role: Role | str) -> bool:
        """Whether the user holds `role`."""
        return Role(role) in self.roles

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot log in
        return self.active

    @property
    def label(self) -> str:
        """The name shown to other staff."""
        return self.display_name or self.username


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    """A staff API token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so an operator can tell tokens apart when listing them.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class KindSetting(db.Model):
    """Per-kind settings an admin may change: the deadline in working days."""

    __tablename__ = "kind_settings"

    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind, "kind"), primary_key=True)
    deadline_days: Mapped[int] = mapped_column(Integer)


class WorkdayOverride(db.Model):
    """An operator's correction to the library calendar for one date."""

    __tablename__ = "workday_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CalendarYear(db.Model):
    """A year whose holiday schedule an operator has confirmed against the State Council notice."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")


class CaseCounter(db.Model):
    """The last case sequence number used on one local day."""

    __tablename__ = "case_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class RecordTally(db.Model):
    """How many published records one department has of one kind, replied in one local month.

    Kept in step by interact.services.publication in the same transaction as the publication
    itself, so the records pages and the API get their totals from a few hundred small rows
    instead of counting every published case per request. `department_id` 0 stands for none.
    """

    __tablename__ = "record_tallies"

    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, local time
    published: Mapped[int] = mapped_column(Integer, default=0)


class Case(db.Model):
    """One citizen submission of any kind, and its handling."""

    __tablename__ = "cases"
    __table_args__ = (
        # Staff queues: a department's cases by status and deadline; overdue boards by deadline.
        Index("ix_cases_department_status_due", "department_id", "status", "due_at"),
        Index("ix_cases_status_due", "status", "due_at"),
        # Published records, newest first, optionally by department or kind; the id makes the
        # order total, so pages never skip or repeat a record.
        Index("ix_cases_published_replied", "published", "replied_at", "id"),
        Index("ix_cases_published_department_replied", "published", "department_id", "replied_at", "id"),
        Index("ix_cases_published_kind_replied", "published", "kind", "replied_at", "id"),
        # Only an approved reply can be published (Art. 17: review first, publish after).
        CheckConstraint("NOT published OR status = 'replied'", name="published_only_when_replied"),
        # Recomputing deadlines after a calendar change groups open cases by these.
        Index("ix_cases_status_submitted_on", "status", "submitted_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind, "kind"))
    status: Mapped[Status] = mapped_column(_enum(Status, "status"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))

    # Website error reports only.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    page_url: Mapped[str | None] = mapped_column(String(1024))
    error_type: Mapped[ErrorType | None] = mapped_column(_enum(ErrorType, "error_type"))

    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    # Personal data: never published (Art. 17).
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    publish_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    query_code_hash: Mapped[str] = mapped_column(String(64))
    # A code mailed by the lost-code form. Until it is first used the old code works too, so a
    # request made by someone else (or a mail that is late) locks nobody out of their case.
    reissued_code_hash: Mapped[str | None] = mapped_column(String(64))

    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_on: Mapped[date] = mapped_column(Date)  # local date; the deadline counts from it
    deadline_days: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    # Extensions (延期) move due_at by working days; the original deadline stays derivable
    # from submitted_on + deadline_days, and on-time is judged against the extended one.
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    original_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Supervision (督办) by the dispatch office.
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_urged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_transfer_reason: Mapped[str | None] = mapped_column(Text)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The draft waiting for review: a reply or a decline.
    draft_kind: Mapped[DraftKind | None] = mapped_column(_enum(DraftKind, "draft_kind", 16))
    draft_text: Mapped[str | None] = mapped_column(Text)
    draft_reason: Mapped[DeclineReason | None] = mapped_column(_enum(DeclineReason, "draft_reason"))
    draft_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The approved outcome.
    reply_text: Mapped[str | None] = mapped_column(Text)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(_enum(DeclineReason, "decline_reason"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    working_days_used: Mapped[int | None] = mapped_column(Integer)
    on_time: Mapped[bool | None] = mapped_column(Boolean)

    # Publication (Art. 17): only these reviewed, masked copies ever reach the public.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    public_name: Mapped[str | None] = mapped_column(String(64))
    public_title: Mapped[str | None] = mapped_column(String(200))
    public_content: Mapped[str | None] = mapped_column(Text)
    public_reply: Mapped[str | None] = mapped_column(Text)

    rating: Mapped[Rating | None] = mapped_column(_enum(Rating, "rating"))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship()
    site: Mapped[Site | None] = relationship()
    draft_by: Mapped[User | None] = relationship(foreign_keys=[draft_by_id])
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """Whether the case still waits for an approved answer."""
        return self.status in OPEN_STATUSES


class CaseEvent(db.Model):
    """One timeline entry: who did what, when, from which status to which."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[Status | None] = mapped_column(_enum(Status, "from_status"))
    to_status: Mapped[Status] = mapped_column(_enum(Status, "to_status"))
    # Internal note for staff, and what the citizen may read of it on the query page.
    note: Mapped[str] = mapped_column(Text, default="")
    public_note: Mapped[str] = mapped_column(Text, default="")
    # Whether the citizen sees this entry at all (drafts and returns stay internal).
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    department: Mapped[Department | None] = relationship()


class Attachment(db.Model):
    """A file a citizen attached; stored under a random name outside static/."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[AttachmentPurpose] = mapped_column(_enum(AttachmentPurpose, "purpose", 16),
                                                       default=AttachmentPurpose.attachment)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")


class RecoveryCode(db.Model):
    """A one-time two-factor recovery code; only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordHistory(db.Model):
    """Earlier password hashes of a user, so a rotation cannot reuse a recent password."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginAttempt(db.Model):
    """One staff sign-in attempt, for lockout and per-IP throttling."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    success: Mapped[bool] = mapped_column(Boolean)


class Setting(db.Model):
    """An administrator's setting (CAPTCHA switch, government domains, sensitive words…) as JSON."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseFlag(db.Model):
    """Something a reviewer must look at before approving (Art. 17): a link outside the
    government domains or a sensitive word. Flags only inform; they never delete anything."""

    __tablename__ = "case_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FlagKind] = mapped_column(_enum(FlagKind, "kind"))
    field: Mapped[TextField] = mapped_column(_enum(TextField, "field"))
    match: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TextMask(db.Model):
    """One stretch of text hidden from the public copy (Art. 17), found by the detector or
    added by a reviewer. Stored, so the detector never runs on page views."""

    __tablename__ = "text_masks"
    __table_args__ = (Index("ix_text_masks_object", "object_type", "object_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(32))  # "case"; later survey answers, questions
    object_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[TextField] = mapped_column(_enum(TextField, "field"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(512))
    label: Mapped[str] = mapped_column(String(32))  # "id_number", "mobile", … or "manual"
    origin: Mapped[MaskOrigin] = mapped_column(_enum(MaskOrigin, "origin", 16))
    lifted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEntry(db.Model):
    """One line of the append-only, hash-chained audit trail (Art. 25; kept ≥ 180 days).

    The application never updates or deletes these rows, except `interact audit purge` of
    entries older than the retention period.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_user_at", "user_id", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the trail outlives accounts
    username: Mapped[str] = mapped_column(String(64), default="")
    roles: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[AuditOutcome] = mapped_column(_enum(AuditOutcome, "outcome", 16))
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    details: Mapped[str] = mapped_column(Text, default="")  # JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class OutboxMessage(db.Model):
    """One e-mail waiting to be sent, written in the same transaction as the change behind it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text, default="{}")  # JSON, e.g. List-Unsubscribe
    template: Mapped[str] = mapped_column(String(64))
    # Makes queuing idempotent (a reminder per case, threshold and person is queued once).
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus, "status", 16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestItem(db.Model):
    """A staff notification held for the recipient's daily digest."""

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_user_pending", "user_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    template: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExtensionRequest(db.Model):
    """A handler's request for more working days (延期), decided by a dispatcher."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[ExtensionStatus] = mapped_column(_enum(ExtensionStatus, "status", 16),
                                                    default=ExtensionStatus.pending)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    old_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Subscription(db.Model):
    """A reader's e-mail subscription to newly published records (Art. 18), double opt-in."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_scope", "scope", "scope_value", "confirmed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    scope: Mapped[SubscriptionScope] = mapped_column(_enum(SubscriptionScope, "scope", 16))
    scope_value: Mapped[str] = mapped_column(String(64), default="")
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency, "frequency", 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubmissionKey(db.Model):
    """A one-time form token or API `Idempotency-Key` (hashed) and the case its first request made.

    The unique index decides between two re-sends of one request: only one case is created, and
    the other is answered with that case's receipt. Keys are kept 24 hours.
    """

    __tablename__ = "submission_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # A hash of the request body: the same key with another body is refused (409).
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
