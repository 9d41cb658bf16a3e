"""The mail outbox: every message is written to the database first, in the same transaction as
the change that caused it, and sent later by `interact mail send`.

So a rolled-back change sends nothing, and a committed change never loses its mail: a
message that cannot be sent yet waits in the outbox and is retried.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import OutboxMessage
from ..timeutil import utcnow


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
        template=template, dedupe_key=dedupe_key, status="pending", attempts=0,
        next_attempt_at=utcnow(),
    )
    if dedupe_key is None:
        db.session.add(message)
        db.session.flush()
        return message
    # Another process may queue the same key at the same moment: the unique index decides.
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        return None
    return message
