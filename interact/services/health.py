"""Whether this process can serve: the database answers and carries the schema this code expects."""
from __future__ import annotations

import functools
import logging
from enum import StrEnum

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..domain.db import db

log = logging.getLogger(__name__)


class DatabaseState(StrEnum):
    """What a readiness probe learns of the database."""

    ok = "ok"
    unreachable = "unreachable"  # no connection, or the query failed (locked past the timeout, down)
    not_migrated = "not_migrated"  # reachable, but `interact db upgrade` has not run for this code


@functools.cache
def schema_head(migrations: str) -> str | None:
    """The newest migration revision in the `migrations` folder (read once per process)."""
    return ScriptDirectory(migrations).get_current_head()


def database_state(migrations: str) -> DatabaseState:
    """Ask the database one cheap question: which schema revision it is at."""
    try:
        revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        # A missing alembic_version table is an un-migrated database, not an outage.
        if "alembic_version" in str(getattr(exc, "orig", exc)):
            return DatabaseState.not_migrated
        log.warning("readiness: the database did not answer (%s)", type(getattr(exc, "orig", exc)).__name__)
        return DatabaseState.unreachable
    finally:
        db.session.remove()
    return DatabaseState.ok if revision == schema_head(migrations) else DatabaseState.not_migrated
