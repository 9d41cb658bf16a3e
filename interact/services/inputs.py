"""The free-text fields of citizens' and staff's input: their length limits, and how a typed value
is cleaned and checked. Shared by every service that takes text."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from ..domain.errors import ValidationFailed

# Longest accepted text per field, in characters.
LIMITS = {"title": 100, "content": 5000, "name": 32, "text": 10000, "reason": 1000, "explanation": 1000,
          "comment": 500}
DEFAULT_LIMIT = 5000


def clean_text(value: str | None, field_name: str, label: str, required: bool = True) -> str:
    """Strip a free-text field and check it is there (when required) and within its limit."""
    value = (value or "").strip()
    if required and not value:
        msg = _("请填写%(field)s。", field=label)
        raise ValidationFailed(msg, {field_name: msg})
    limit = LIMITS.get(field_name, DEFAULT_LIMIT)
    if len(value) > limit:
        msg = _("%(field)s不能超过%(n)d字。", field=label, n=limit)
        raise ValidationFailed(msg, {field_name: msg})
    return value


def is_valid_email(address: str) -> bool:
    """Whether `address` is an e-mail address that mail servers take: the syntax of RFC 5321/5322 as
    email-validator checks it (no DNS lookup), ASCII before the @, at most 254 characters."""
    if not address or len(address) > 254:
        return False
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return True


def truthy(value) -> bool:
    """Read a yes/no flag from JSON (a bool) or a form ("on", "1", "true", "yes")."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes", "y")
