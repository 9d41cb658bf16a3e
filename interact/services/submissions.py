"""Idempotent submission: a re-sent form or API request returns the first case, never a second one.

The HTML form carries a one-time random token, the API an optional `Idempotency-Key` header.
Only a hash of the key is stored (`SubmissionKey`), with a hash of the request body and the case
the first request created, in that request's transaction: the unique index on the hash decides
between two re-sends arriving together, and the loser answers with the winner's case. The query
code is shown by the first answer only (only its hash is stored), so a replay carries none.
Keys older than `KEY_LIFETIME` are pruned by each new submission (one indexed DELETE).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..domain.db import db
from ..domain.errors import Conflict
from ..domain.models import Case, SubmissionKey
from ..domain.timeutil import utcnow
from .cases import Submission, submit_case
from .tx import lock_rows, unit_of_work

KEY_LIFETIME = timedelta(hours=24)
FORM_SCOPE = "form"
API_SCOPE = "api"
# Where each adapter carries its key: the form's hidden field, the API's request header.
FORM_FIELD = "submission_token"
API_HEADER = "Idempotency-Key"


def key_hash(scope: str, key: str) -> str:
    """The stored form of a key: form tokens and API keys never collide."""
    return hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()


def fingerprint(body: dict) -> str:
    """A hash of a request body, to tell a re-send from another request under the same key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def first_case(scope: str, key: str, body_hash: str | None = None) -> Case | None:
    """The case the key's first request created, or None; 409 if `body_hash` differs from its body's."""
    row = db.session.scalar(select(SubmissionKey).where(SubmissionKey.key_hash == key_hash(scope, key)))
    if row is None:
        return None
    if body_hash is not None and row.fingerprint != body_hash:
        raise Conflict(_("该幂等键已用于另一份不同的提交。"))
    return db.session.get(Case, row.case_id)


def is_resend(scope: str, key: str | None) -> bool:
    """Whether `key` already created a case: its request is a re-send, which creates nothing.

    The rate limiter asks this first, so that a re-sent letter does not spend the citizen's
    budget a second time (one indexed lookup, and only for requests that carry a valid key).
    """
    if not valid_key(key):
        return False
    return db.session.scalar(select(SubmissionKey.id).where(SubmissionKey.key_hash == key_hash(scope, key))) \
        is not None


def submit_once(sub: Submission, scope: str, key: str, body_hash: str | None = None,
                now: datetime | None = None) -> tuple[Case, str | None]:
    """Submit in its own unit of work, unless the key was used: then the first case and no code.

    `body_hash` None means any body is a re-send (the form's token); else a differing one is 409.
    """
    hashed = key_hash(scope, key)
    now = now or utcnow()
    try:
        with unit_of_work():
            # SQLite: take the write lock first, so a concurrent re-send waits and then finds the key.
            lock_rows(SubmissionKey, SubmissionKey.key_hash == hashed)
            first = first_case(scope, key, body_hash)
            if first is not None:
                return first, None
            case, code = submit_case(sub, now)
            db.session.add(SubmissionKey(key_hash=hashed, fingerprint=body_hash or "", case_id=case.id,
                                         created_at=now))
            db.session.flush()
            db.session.execute(delete(SubmissionKey).where(SubmissionKey.created_at < now - KEY_LIFETIME))
    except IntegrityError:
        # PostgreSQL: a concurrent re-send committed the same key first; its case is the answer.
        first = first_case(scope, key, body_hash)
        if first is None:
            raise
        return first, None
    return case, code


def new_form_token() -> str:
    """A fresh one-time token for one rendering of the submission form."""
    return secrets.token_urlsafe(32)


def valid_key(key: str | None) -> bool:
    """An acceptable key: 1–128 visible ASCII characters (no spaces)."""
    return bool(key) and len(key) <= 128 and all("!" <= ch <= "~" for ch in key)


def receipt_case(number: str) -> Case | None:
    """The case a receipt in the citizen's session names, or None."""
    if not number:
        return None
    return db.session.scalar(select(Case).where(Case.number == number))
