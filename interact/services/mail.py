"""The mail outbox: every message is written to the database first, in the same transaction as
the change that caused it, and sent later by `interact mail send`.

So a rolled-back change sends nothing, and a committed change never loses its mail: a
message that cannot be sent yet waits in the outbox and is retried.

Sending (`send_due`) takes the due messages oldest first, sends each through Flask-Mail and
commits it as sent at once, one by one, so a crash part-way never sends again what already
went out. Several senders may run at once:

- on PostgreSQL each message is taken with `SELECT … FOR UPDATE SKIP LOCKED`, so senders on
  several hosts share the work and never take the same row;
- on SQLite (one host) a sender holds an exclusive `flock` on `<instance>/mail-send.lock` for
  the whole run; a second sender finds it taken and returns at once without sending anything.

A failed message is retried with exponential backoff (INTERACT_MAIL_RETRY_SECONDS × 2^(n−1),
at most six hours) and is marked dead after INTERACT_MAIL_MAX_ATTEMPTS failures; an
administrator can put it back (`requeue`). When the mail server cannot be reached at all the
run stops after charging the one message it tried: the others wait for the next run instead
of each using up an attempt on the same outage.
"""
from __future__ import annotations

import fcntl
import json
import os
import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_mail import Mail, Message
from sqlalchemy import func, select

from ..config import PRIVATE_FILE_MODE, private_folder
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.db import db
from ..domain.models import OutboxMessage, Role, User
from ..domain.states import OutboxStatus
from ..domain.timeutil import utcnow
from . import audit
from .tx import add_once

# Flask-Mail, bound to the app in `create_app`; only this module hands mail to the SMTP server.
flask_mail = Mail()

PENDING, SENT, DEAD = OutboxStatus.pending, OutboxStatus.sent, OutboxStatus.dead
STATUSES = tuple(OutboxStatus)
# However many failures, a message is tried again within this long.
MAX_BACKOFF = timedelta(hours=6)
LOCK_FILE = "mail-send.lock"
# Errors that say nothing about one message but that the server cannot be used right now.
_CONNECTION_ERRORS = (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected,
                      smtplib.SMTPAuthenticationError, smtplib.SMTPHeloError, ConnectionError,
                      socket.timeout, socket.gaierror, TimeoutError)


@dataclass(frozen=True)
class Rendered:
    """A message's subject and both of its bodies."""

    subject: str
    text: str
    html: str


def render(template: str, **context) -> Rendered:
    """Render templates/email/<template>.txt and .html; the subject is the txt's `subject` block."""
    env = current_app.jinja_env
    context.setdefault("public_url", current_app.config["INTERACT_PUBLIC_URL"].rstrip("/"))
    context.setdefault("staff_url", current_app.config["INTERACT_STAFF_URL"].rstrip("/"))
    text_template = env.get_template(f"email/{template}.txt")
    html_template = env.get_template(f"email/{template}.html")
    full = current_app.update_template_context
    full(context)
    block = text_template.blocks.get("subject")
    subject = "".join(block(text_template.new_context(context))).strip() if block else template
    return Rendered(" ".join(subject.split()), text_template.render(context).strip() + "\n",
                    html_template.render(context))


def queue(recipient: str, template: str, *, dedupe_key: str | None = None,
          headers: dict[str, str] | None = None, **context) -> OutboxMessage | None:
    """Render a message and add it to the outbox in the current transaction.

    With a `dedupe_key`, a message with the same key is queued only once, ever; the second
    call returns None. That makes reminders idempotent.
    """
    if not recipient:
        return None
    if dedupe_key and db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    rendered = render(template, **context)
    message = OutboxMessage(
        recipient=recipient, subject=rendered.subject[:255], text_body=rendered.text,
        html_body=rendered.html, headers=json.dumps(headers or {}, ensure_ascii=False),
        template=template, dedupe_key=dedupe_key, status=PENDING, attempts=0,
        next_attempt_at=utcnow(),
    )
    if dedupe_key is None:
        db.session.add(message)
        db.session.flush()
        return message
    return message if add_once(message) else None


# --- sending ----------------------------------------------------------------------------------

class MailConfigError(RuntimeError):
    """The mail settings cannot work (no server or no sender): nothing was tried."""


@dataclass(frozen=True)
class SendReport:
    """What one sending run did; `busy` when another sender held the SQLite lock."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    busy: bool = False


def check_config() -> None:
    """Raise MailConfigError when Flask-Mail has no server or no default sender."""
    state = current_app.extensions["mail"]
    if not state.server:
        raise MailConfigError("INTERACT_MAIL_SERVER is not set")
    if not state.default_sender:
        raise MailConfigError("INTERACT_MAIL_DEFAULT_SENDER is not set")
    if not 0 < int(state.port or 0) < 65536:
        raise MailConfigError("INTERACT_MAIL_PORT is not a valid port")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: base × 2^(attempts−1), capped."""
    base = max(1, int(current_app.config["INTERACT_MAIL_RETRY_SECONDS"]))
    # 2**30 seconds is far beyond the cap already; the exponent is bounded to keep it an int.
    return min(timedelta(seconds=base * 2 ** min(max(attempts - 1, 0), 30)), MAX_BACKOFF)


def _short_error(exc: BaseException) -> str:
    """A one-line, bounded description of a sending error (class and server reply only)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        text = f"{type(exc).__name__} {exc.smtp_code}: {detail}"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _msg in exc.recipients.values()})
        text = f"{type(exc).__name__}: {codes}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def _flask_message(message: OutboxMessage) -> Message:
    """The Flask-Mail message (text and HTML parts, stored headers) for an outbox row."""
    headers = {"Auto-Submitted": "auto-generated"}
    headers.update(json.loads(message.headers or "{}"))
    return Message(subject=message.subject, recipients=[message.recipient], body=message.text_body,
                   html=message.html_body, extra_headers=headers)


class _Sender:
    """One SMTP connection, opened when first needed and reopened after a failure."""

    def __init__(self):
        self._conn = None

    def send(self, message: Message) -> None:
        """Send one message, connecting first if needed."""
        if self._conn is None:
            conn = flask_mail.connect()
            conn.__enter__()
            self._conn = conn
        self._conn.send(message)

    def reset(self) -> None:
        """Drop the connection after an error; the next message connects again."""
        conn, self._conn = self._conn, None
        if conn is not None and conn.host is not None:
            try:
                conn.host.close()
            except OSError:
                pass

    def close(self) -> None:
        """Say goodbye to the server politely."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.__exit__(None, None, None)
            except (smtplib.SMTPException, OSError):
                pass


def _due_statement(now: datetime):
    """The oldest due pending message (one row)."""
    return (select(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))


@contextmanager
def _single_sender() -> Iterator[bool]:
    """On SQLite, hold the instance folder's send lock for the run; yields False if taken."""
    if db.session.get_bind().dialect.name == "postgresql":
        yield True  # row locks share the work instead
        return
    private_folder(current_app.instance_path)
    path = os.path.join(current_app.instance_path, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def send_due(now: datetime | None = None, limit: int = 100) -> SendReport:
    """Send up to `limit` due messages, committing each one as it goes out.

    Commits the session for every message: call it with no other work pending in it.
    Raises MailConfigError before touching anything when the settings cannot work.
    """
    check_config()
    now = now or utcnow()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    sent = failed = dead = 0
    db.session.commit()  # start from a clean transaction; nothing of the caller's stays open
    with _single_sender() as ours:
        if not ours:
            return SendReport(busy=True)
        sender = _Sender()
        try:
            for _n in range(max(0, limit)):
                stmt = _due_statement(now)
                if postgres:
                    stmt = stmt.with_for_update(skip_locked=True)
                message = db.session.scalar(stmt)
                if message is None:
                    break
                try:
                    sender.send(_flask_message(message))
                except Exception as exc:  # noqa: BLE001 - any failure is recorded on the message
                    sender.reset()
                    if _record_failure(message, exc, now):
                        dead += 1
                    else:
                        failed += 1
                    db.session.commit()
                    if _unreachable(exc):
                        break  # the server is unreachable: the rest wait for the next run
                    continue
                message.status, message.sent_at, message.last_error = SENT, utcnow(), None
                message.attempts = (message.attempts or 0) + 1
                db.session.commit()
                sent += 1
        finally:
            db.session.rollback()
            sender.close()
    return SendReport(sent, failed, dead)


def _unreachable(exc: BaseException) -> bool:
    """Whether an error means the server cannot be used now, rather than this one message failed."""
    # SMTPException is an OSError too, but a refused recipient or message says nothing of the rest.
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _record_failure(message: OutboxMessage, exc: BaseException, now: datetime) -> bool:
    """Count a failed attempt and schedule the next; True when the message is now dead."""
    message.attempts = (message.attempts or 0) + 1
    message.last_error = _short_error(exc)
    if message.attempts >= int(current_app.config["INTERACT_MAIL_MAX_ATTEMPTS"]):
        message.status = DEAD
        return True
    message.next_attempt_at = now + backoff(message.attempts)
    return False


# --- the administrator's view --------------------------------------------------------------------

def status_counts() -> dict[str, int]:
    """How many messages are pending, sent and dead."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    for status, n in rows:
        counts[status] = n
    return counts


def messages(status: str, limit: int = 200) -> list[OutboxMessage]:
    """Messages of one status, the most recently created first."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == status)
                                   .order_by(OutboxMessage.id.desc()).limit(limit)))


def requeue(message_id: int, actor: User | None, now: datetime | None = None) -> OutboxMessage:
    """Put a dead message back in the queue with a fresh set of attempts (audited)."""
    if actor is not None and not actor.has_role(Role.admin):
        raise Forbidden(_("只有管理员可以重新发送邮件。"))
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(_("邮件不存在。"))
    if message.status != DEAD:
        raise Conflict(_("只有发送失败的邮件可以重新发送。"))
    before = message.attempts
    message.status, message.attempts = PENDING, 0
    message.next_attempt_at = now or utcnow()
    db.session.flush()
    # The template and counts only: the recipient may be a citizen's address.
    audit.record("mail.requeue", user=actor, object_type="outbox", object_id=message.id,
                 details={"template": message.template, "attempts": before})
    return message
