"""A busy or unreachable database (a held SQLite lock, a PostgreSQL restart, a refused connection):
the request is answered 503 with `Retry-After`, as JSON for the API and as a page otherwise, never
with a 500. Nothing half-done is kept (the session is rolled back), and the next request simply
tries again: the engine checks pooled connections before use (`pool_pre_ping`), so the process
recovers by itself once the database is back."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError

from ..domain.db import db
from .pages import retry_later

RETRY_AFTER_SECONDS = 5


def init_app(app: Flask) -> None:
    """Answer database outages with 503 and Retry-After on every route."""

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc):
        """The database did not answer in time or at all: try again shortly."""
        try:
            db.session.rollback()
        except (OperationalError, InterfaceError):
            db.session.invalidate()  # the connection itself is gone; the pool opens a new one
        # The driver's class name only: the message may quote the statement.
        app.logger.warning("database unavailable (%s)", type(getattr(exc, "orig", exc)).__name__)
        return retry_later("unavailable", _("系统繁忙，请稍后再试。"), 503, RETRY_AFTER_SECONDS)
