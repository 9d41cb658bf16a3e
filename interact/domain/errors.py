"""Typed domain errors; each adapter turns them into an HTTP status or a flash message."""
from __future__ import annotations


class DomainError(Exception):
    """Base class for errors that services raise for the adapters to report."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    """The input is invalid; `fields` says what is wrong with each field."""

    status_code = 400
    code = "invalid"


class NotFound(DomainError):
    """The object does not exist, or this user may not know it exists."""

    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    """The user's role does not allow the action."""

    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    """The current state does not allow the action."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    """A file (or the whole request) is larger than the configured limit."""

    status_code = 413
    code = "too_large"
