"""Logs stay clean: no password, token, query code, ID number or phone number reaches a log.

Nothing in the application logs a request body. What can still carry a secret is a message
built from a URL (werkzeug's request line, a proxy's query string), an exception text or a
library's debug output, so every log record is scrubbed where it is created:

* secrets by shape: ``password=…``/``token: …``/``"code": "…"`` key-value pairs, bearer
  credentials, staff API tokens (``itk_…``) and query codes (12 characters of the code
  alphabet, optionally grouped in fours);
* personal data with the privacy detector (ID, mobile and landline numbers, e-mail addresses,
  bank cards, street addresses), masked the way published text is.

The scrubber wraps the process's log record factory, so it covers every logger (the app's,
werkzeug's request log, SQLAlchemy's, a WSGI server's) whatever handlers a deployment adds.
`RedactingFilter` does the same for a handler that should be scrubbed on its own.
SQL statement parameters are also kept out of messages by the engine option
`hide_parameters` (interact/config.py).
"""
from __future__ import annotations

import logging
import re

from ..domain import privacy

# Not user-facing: written into log files for operators.
REDACTED = "[redacted]"
# The names of fields that hold secrets (not secrets themselves).
_SECRET_KEYS = "|".join((
    "password", "passwd", "pwd", "new_password", "old_password", "current_password", "confirm_password",
    "secret", "token", "access_token", "api_key", "apikey", "authorization", "code", "query_code", "querycode",
    "x-query-code", "otp", "totp", "recovery_code", "csrf_token", "session", "cookie", "set-cookie",
))
# key=value (query strings, form dumps), key: value (headers), "key": "value" (JSON).
_KEY_VALUE = re.compile(rf'(?i)(["\']?\b(?:{_SECRET_KEYS})\b["\']?\s*[=:]\s*)("[^"]*"|\'[^\']*\'|[^\s&"\',;}}]+)')
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_API_TOKEN = re.compile(r"itk_[A-Za-z0-9_-]{6,}")
# The query-code alphabet (interact/services/cases.py) has no 0/O/1/I/L; 12 characters,
# grouped in fours with hyphens or spaces as shown to citizens, or typed in one run.
_CODE_CHARS = "A-HJKMNP-Z2-9"
_QUERY_CODE = re.compile(
    rf"(?<![A-Za-z0-9])(?:[{_CODE_CHARS}]{{4}}[- ][{_CODE_CHARS}]{{4}}[- ][{_CODE_CHARS}]{{4}}"
    rf"|[{_CODE_CHARS}]{{12}})(?![A-Za-z0-9])"
)
_QUERY_CODE_GROUPED_LOWER = re.compile(
    rf"(?i)(?<![A-Za-z0-9])[{_CODE_CHARS}]{{4}}-[{_CODE_CHARS}]{{4}}-[{_CODE_CHARS}]{{4}}(?![A-Za-z0-9])"
)


def _redact_value(match: re.Match) -> str:
    """The key of a key-value pair with its value (quoted or not) replaced."""
    value = match.group(2)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return match.group(1) + quote + REDACTED + quote


def redact(text: str) -> str:
    """`text` with secrets and personal data replaced by fixed markers."""
    if not text:
        return text
    text = _BEARER.sub(lambda m: m.group(1) + " " + REDACTED, text)
    text = _KEY_VALUE.sub(_redact_value, text)
    text = _API_TOKEN.sub(REDACTED, text)
    text = _QUERY_CODE.sub(REDACTED, text)
    text = _QUERY_CODE_GROUPED_LOWER.sub(REDACTED, text)
    return privacy.mask(text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format the record's message and exception now, and scrub both."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the handler's to report, not ours
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A filter that scrubs each record it sees (for handlers fed by other processes' records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub and keep the record."""
        redact_record(record)
        return True


def install() -> None:
    """Scrub every log record of this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "interact_redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    factory.interact_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def init_app(app) -> None:
    """Keep this app's logs clean: the record factory, plus the filter on its own loggers."""
    install()
    for logger in (app.logger, logging.getLogger("werkzeug")):
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
