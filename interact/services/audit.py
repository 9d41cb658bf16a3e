"""The audit trail (Art. 25; MLPS level 3 security audit): append-only and hash-chained.

Every staff action and authentication event is recorded with who, when, what, on which
object, the outcome, the IP and the user agent. Each entry's hash covers its content and
the previous entry's hash, so changing or removing a row breaks the chain at that row.
Nothing in the application updates or deletes entries, except the retention purge, which
keeps the hash of the last purged entry as the anchor the remaining chain starts from.
On PostgreSQL a trigger also refuses UPDATE and DELETE unless the purge asks for it.

The chain is plain SHA-256, not keyed: someone who can write the database could rebuild
the whole chain. `verify` therefore reports the head entry, whose id and hash an operator
can note outside the system and compare later.
"""
from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ..config import MIN_AUDIT_RETENTION_DAYS
from ..domain.errors import DomainError, ValidationFailed
from ..domain.db import db
from ..domain.models import AuditEntry, Setting, User
from ..domain.states import AuditOutcome
from ..domain.timeutil import local_tz, utcnow

GENESIS = "0" * 64
# Any constant works: it only has to be the same for every writer of the chain.
_PG_LOCK_KEY = 0x1A7D17
# The Setting row holding the hash of the last purged entry (where the chain now starts).
ANCHOR_KEY = "audit_anchor"
# Art. 25 asks for six months at least; the retention can be configured upward only.
MIN_RETENTION_DAYS = MIN_AUDIT_RETENTION_DAYS
OUTCOMES = tuple(AuditOutcome.values())
# db.session.info key: the transaction in which this session holds the chain's lock.
_LOCKED_TX = "interact_audit_locked_tx"


# --- writing --------------------------------------------------------------------------------

def _canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash covers: every field but the id and the hash itself."""
    payload = {
        "at": entry.at.astimezone(timezone.utc).isoformat(),
        "user_id": entry.user_id, "username": entry.username, "roles": entry.roles,
        "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
        "outcome": entry.outcome, "ip": entry.ip, "user_agent": entry.user_agent,
        "details": entry.details, "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over an entry's canonical content."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _client() -> tuple[str, str]:
    """The request's client address and user agent, when there is a request."""
    if not has_request_context():
        return "", ""
    return (request.remote_addr or "")[:45], (request.user_agent.string or "")[:256]


def cli_username() -> str:
    """"cli:<operating-system user>", the name recorded for a command run outside any request."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (e.g. an arbitrary container uid)
        name = "unknown"
    return f"cli:{name}"


def _lock_chain(session: Session) -> None:
    """Hold the chain's write lock until `session` commits, so two writers never share a predecessor."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        # SQLite: a write statement takes the database's write lock (even when it matches no
        # row); a plain SELECT would not, and two writers could read the same last hash.
        session.execute(text("UPDATE audit_log SET id = id WHERE 0 = 1"))


def _anchor_hash(session: Session) -> str | None:
    """The hash the oldest remaining entry links to after a purge, or None."""
    row = session.get(Setting, ANCHOR_KEY)
    return json.loads(row.value)["hash"] if row is not None else None


def _append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Chain `entry` to the last one and add it, holding the chain's lock until commit."""
    _lock_chain(session)
    # Stamped under the lock, so times never go backwards along the chain. Whole milliseconds
    # survive every database's timestamp type unchanged, so the hash holds.
    now = utcnow()
    entry.at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry.prev_hash = last or _anchor_hash(session) or GENESIS
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    session.info[_LOCKED_TX] = session.get_transaction()
    return entry


def _build(action: str, user: User | None, object_type: str, object_id: object, outcome: str,
           details: dict | None, username: str | None) -> AuditEntry:
    """A new, unchained entry."""
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}, not {outcome!r}")
    ip, agent = _client()
    if user is not None:
        name = user.username
    elif username is not None:
        name = username
    else:
        name = "" if has_request_context() else cli_username()
    return AuditEntry(
        user_id=user.id if user else None, username=name[:64],
        roles=",".join(sorted(r.value for r in user.roles)) if user else "",
        action=action[:64], object_type=object_type[:32], object_id=("" if object_id is None else str(object_id))[:64],
        outcome=outcome, ip=ip, user_agent=agent,
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
    )


def record(action: str, *, user: User | None = None, object_type: str = "", object_id: object = "",
           outcome: str = AuditOutcome.success, details: dict | None = None, username: str | None = None) -> AuditEntry:
    """Add an entry in the current transaction: it commits or rolls back with the change it records.

    Without `user` or `username`, an entry made outside a request is attributed to
    "cli:<os user>". Never put passwords, tokens, query codes, phone or ID numbers in `details`.
    """
    return _append(db.session(), _build(action, user, object_type, object_id, outcome, details, username))


def record_now(action: str, *, user: User | None = None, object_type: str = "", object_id: object = "",
               outcome: str = AuditOutcome.failure, details: dict | None = None, username: str | None = None) -> None:
    """Add and commit an entry on its own, e.g. a refused login or action whose change was rolled back.

    Call it after the request's own transaction has ended: while that transaction holds the
    chain's lock, a second connection waiting for it would never get it.
    """
    current = db.session()
    held = current.info.get(_LOCKED_TX)
    if held is not None and held is current.get_transaction():
        raise RuntimeError("audit.record_now() inside a transaction that already recorded an entry; "
                           "use audit.record(), or call it after the commit or rollback")
    entry = _build(action, user, object_type, object_id, outcome, details, username)
    with Session(db.engine) as session, session.begin():
        _append(session, entry)


def record_refusal(action: str, error: DomainError, *, user: User | None = None, object_type: str = "",
                   object_id: object = "", details: dict | None = None) -> None:
    """Commit a failure entry for an action a service refused with a typed error."""
    record_now(action, user=user, object_type=object_type, object_id=object_id, outcome=AuditOutcome.failure,
               details={**(details or {}), "error": error.code})


# --- verifying ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainBreak:
    """The first entry whose hash or link does not match."""

    entry_id: int
    at: datetime | None
    # "link": its predecessor is missing or changed; "hash": the entry itself was changed;
    # "anchor": the purge anchor is not the one the trail's newest purge entry recorded.
    reason: str


@dataclass(frozen=True)
class Head:
    """The newest entry of an intact chain, for an operator to note outside the system."""

    entries: int
    entry_id: int | None
    at: datetime | None
    hash: str


def entries_in_order(session: Session | None = None, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry by id, in batches, on its own session so the whole trail is never in memory."""
    own = session is None
    session = session or Session(db.engine)
    try:
        last_id = 0
        while True:
            rows = session.scalars(
                select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
            ).all()
            if not rows:
                return
            yield from rows
            last_id = rows[-1].id
            session.expunge_all()
    finally:
        if own:
            session.close()


def stored_anchor() -> dict | None:
    """The purge anchor {"hash", "entry_id", "at"}, or None when nothing was ever purged."""
    row = db.session.get(Setting, ANCHOR_KEY)
    return json.loads(row.value) if row is not None else None


def verify(anchor: str | None = None) -> ChainBreak | None:
    """Check the whole chain; return the first break, or None when it is intact.

    `anchor` is the hash the first remaining entry must link to: by default the stored
    purge anchor, or GENESIS when nothing was purged.
    """
    result = check_chain(anchor)
    return result if isinstance(result, ChainBreak) else None


def check_chain(anchor: str | None = None) -> ChainBreak | Head:
    """Walk the chain: the first break, or the head of the intact chain."""
    stored = stored_anchor()
    expected_prev = anchor or (stored["hash"] if stored else GENESIS)
    seen, entry = 0, None
    with Session(db.engine) as session:
        for entry in entries_in_order(session):
            if entry.prev_hash != expected_prev:
                return ChainBreak(entry.id, entry.at, "link")
            if entry_hash(entry) != entry.hash:
                return ChainBreak(entry.id, entry.at, "hash")
            expected_prev = entry.hash
            seen += 1
        if stored is not None and anchor is None:
            broken = _anchor_mismatch(session, stored)
            if broken is not None:
                return broken
    last = entry
    return Head(seen, last.id if last else None, last.at if last else None, expected_prev)


def _anchor_mismatch(session: Session, stored: dict) -> ChainBreak | None:
    """A break when the stored anchor is not the one the newest purge entry recorded.

    A purge entry is always newer than what it purged, so the newest one survives every
    later purge; an anchor set by hand to hide deleted entries cannot match it.
    """
    purge = session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.purge",
                                                    AuditEntry.outcome == AuditOutcome.success)
                           .order_by(AuditEntry.id.desc()).limit(1))
    if purge is not None and json.loads(purge.details or "{}").get("anchor") == stored.get("hash"):
        return None
    first = session.scalar(select(AuditEntry).order_by(AuditEntry.id).limit(1))
    target = purge or first
    return ChainBreak(target.id if target else 0, target.at if target else None, "anchor")


# --- retention ------------------------------------------------------------------------------

def retention_days(config: Mapping | None = None) -> int:
    """The configured retention in days; a value below the legal minimum is refused."""
    config = config if config is not None else current_app.config
    days = int(config.get("INTERACT_AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS))
    if days < MIN_RETENTION_DAYS:
        raise ValidationFailed(
            _("审计日志保留期限配置为 %(days)d 天，低于规定的最少 %(min)d 天：只能调高，不能调低。",
              days=days, min=MIN_RETENTION_DAYS),
            {"retention": "INTERACT_AUDIT_RETENTION_DAYS"})
    return days


def _local_midnight(day: date) -> datetime:
    """The start of a local calendar day, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=local_tz())


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed."""

    deleted: int
    anchor_entry_id: int | None


def purge(before: date, *, user: User | None = None, username: str | None = None,
          now: datetime | None = None) -> PurgeResult:
    """Delete entries made before local day `before`; refuse if any of them is within the retention.

    The hash of the last deleted entry becomes the anchor the remaining chain starts from,
    and the purge itself is recorded (its details carry the anchor, which `verify` checks).
    """
    now = now or utcnow()
    cutoff = _local_midnight(before)
    try:
        days = retention_days()
        if cutoff > now - timedelta(days=days):
            youngest = (now - timedelta(days=days)).astimezone(local_tz()).date()
            raise ValidationFailed(
                _("审计日志至少保留 %(days)d 天：只能清除 %(day)s 之前的记录（--before 不能晚于 %(day)s）。",
                  days=days, day=youngest.isoformat()),
                {"before": before.isoformat()})
    except ValidationFailed as exc:
        record_refusal("audit.purge", exc, user=user, details={"before": before.isoformat()})
        raise
    session = db.session()
    _lock_chain(session)
    boundary = session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= cutoff))
    doomed = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    if boundary is not None:
        doomed = doomed.where(AuditEntry.id < boundary)
    last = session.scalar(doomed)
    deleted, anchor = 0, stored_anchor()
    last_id = last.id if last is not None else None
    if last is not None:
        anchor = {"hash": last.hash, "entry_id": last.id, "at": last.at.isoformat()}
        row = session.get(Setting, ANCHOR_KEY) or Setting(key=ANCHOR_KEY)
        row.value = json.dumps(anchor)
        row.updated_at = now
        row.updated_by_id = user.id if user else None
        session.add(row)
        if session.get_bind().dialect.name == "postgresql":
            # The append-only trigger lets a DELETE through only when this is set (for this transaction).
            session.execute(text("SELECT set_config('interact.audit_purge', 'on', true)"))
        deleted = session.execute(delete(AuditEntry).where(AuditEntry.id <= last_id)).rowcount or 0
    record("audit.purge", user=user, username=username, object_type="audit_log",
           details={"before": before.isoformat(), "deleted": deleted,
                    "anchor": anchor["hash"] if anchor else None,
                    "anchor_entry_id": anchor["entry_id"] if anchor else None})
    return PurgeResult(deleted, last_id)


# --- reading (the auditor's page and export) ------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    """What the auditor filters the trail by; every field is optional."""

    start: date | None = None  # first local day, included
    end: date | None = None  # last local day, included
    username: str = ""
    action: str = ""  # a prefix: "case." matches every case action
    object_type: str = ""
    object_id: str = ""
    outcome: str = ""

    def as_args(self) -> dict[str, str]:
        """The non-empty filters as query-string arguments."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


def parse_filter(args: Mapping[str, str]) -> AuditFilter:
    """Check the auditor's filter fields (strings as typed); ValidationFailed names the bad ones."""
    errors: dict[str, str] = {}

    def day(name: str) -> date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = _("日期格式应为 YYYY-MM-DD。")
            return None

    def word(name: str, limit: int) -> str:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = _("不能超过%(n)d个字符。", n=limit)
            return ""
        return value

    start, end = day("start"), day("end")
    if start and end and start > end:
        errors["end"] = _("结束日期不能早于开始日期。")
    outcome = word("outcome", 16)
    if outcome and outcome not in OUTCOMES:
        errors["outcome"] = _("结果须为成功或失败。")
    result = AuditFilter(start=start, end=end, username=word("username", 64), action=word("action", 64),
                         object_type=word("object_type", 32), object_id=word("object_id", 64), outcome=outcome)
    if errors:
        raise ValidationFailed(_("筛选条件有误。"), errors)
    return result


def _filtered(stmt, f: AuditFilter):
    """`stmt` narrowed to the entries matching `f`."""
    if f.start:
        stmt = stmt.where(AuditEntry.at >= _local_midnight(f.start))
    if f.end:
        stmt = stmt.where(AuditEntry.at < _local_midnight(f.end + timedelta(days=1)))
    if f.username:
        stmt = stmt.where(AuditEntry.username == f.username)
    if f.action:
        stmt = stmt.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.object_type:
        stmt = stmt.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEntry.object_id == f.object_id)
    if f.outcome:
        stmt = stmt.where(AuditEntry.outcome == f.outcome)
    return stmt


@dataclass(frozen=True)
class AuditPage:
    """Entries newest first, with the keys of the neighbouring pages (None at either end)."""

    items: list[AuditEntry]
    newer_after: int | None  # ask for entries with id > this for the newer page
    older_before: int | None  # ask for entries with id < this for the older page


def search(f: AuditFilter, *, before: int | None = None, after: int | None = None,
           per_page: int = 50) -> AuditPage:
    """One page of matching entries, newest first, paged by id (keyset: fast at any depth)."""
    stmt = _filtered(select(AuditEntry), f)

    def exists(condition) -> bool:
        return bool(db.session.scalar(_filtered(select(AuditEntry.id), f).where(condition).exists().select()))

    if after is not None:
        rows = list(db.session.scalars(stmt.where(AuditEntry.id > after).order_by(AuditEntry.id)
                                       .limit(per_page + 1)))
        newer = len(rows) > per_page
        rows = rows[:per_page][::-1]
        older = bool(rows) and exists(AuditEntry.id < rows[-1].id)
    else:
        if before is not None:
            stmt = stmt.where(AuditEntry.id < before)
        rows = list(db.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(per_page + 1)))
        older = len(rows) > per_page
        rows = rows[:per_page]
        newer = before is not None and bool(rows) and exists(AuditEntry.id > rows[0].id)
    return AuditPage(rows, rows[0].id if newer else None, rows[-1].id if older else None)


def count(f: AuditFilter) -> int:
    """How many entries match `f`."""
    return db.session.scalar(_filtered(select(func.count(AuditEntry.id)), f)) or 0


def record_export(f: AuditFilter, user: User) -> int:
    """Record that `user` exports the entries matching `f`; return how many that is."""
    rows = count(f)
    record("audit.export", user=user, object_type="audit_log", details={"filters": f.as_args(), "rows": rows})
    return rows


def matching(f: AuditFilter, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry matching `f`, oldest first, in batches on a session of its own.

    The query and the engine are taken now, so the rows can be read after the request
    context is gone (a streamed response).
    """
    base, engine = _filtered(select(AuditEntry), f), db.engine

    def rows() -> Iterator[AuditEntry]:
        with Session(engine) as session:
            last_id = 0
            while True:
                chunk = session.scalars(base.where(AuditEntry.id > last_id).order_by(AuditEntry.id)
                                        .limit(batch)).all()
                if not chunk:
                    return
                yield from chunk
                last_id = chunk[-1].id
                session.expunge_all()

    return rows()
