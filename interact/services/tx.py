"""One commit per request or command, with clean-up of side effects when it fails."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..domain.db import db

log = logging.getLogger(__name__)

_ROLLBACK = "interact_on_rollback"
_COMMIT = "interact_on_commit"


def on_rollback(callback: Callable[[], None]) -> None:
    """Run `callback` if the current unit of work rolls back (e.g. delete a written file)."""
    db.session.info.setdefault(_ROLLBACK, []).append(callback)


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current unit of work has committed (e.g. move a file into place).

    The commit has happened by then, so a failing callback is logged, not raised: what it leaves
    undone must be finished by a later job (for files, `attachments.sweep`).
    """
    db.session.info.setdefault(_COMMIT, []).append(callback)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit everything done inside the block, or roll all of it back and undo side effects."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        db.session.info.pop(_COMMIT, None)
        for callback in db.session.info.pop(_ROLLBACK, []):
            callback()
        raise
    else:
        db.session.info.pop(_ROLLBACK, None)
        for callback in db.session.info.pop(_COMMIT, []):
            try:
                callback()
            except Exception:
                log.exception("an after-commit step failed; a scheduled job will finish it")


def lock_rows(model, *criteria) -> None:
    """Take the write lock on the rows matching `criteria` before the transaction reads them.

    Anything that checks a row and then writes it (a status transition) must not let a second
    transaction check the same row in between. PostgreSQL's `SELECT … FOR UPDATE` does that per
    row; SQLite has no row locks (FOR UPDATE is ignored), so there a no-op UPDATE first takes the
    database's write lock: a second writer waits (busy_timeout) until this transaction ends, then
    reads what it committed.
    """
    key = next(iter(model.__table__.primary_key.columns))
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(model).where(*criteria).values({key.name: key})
                           .execution_options(synchronize_session=False))
    else:
        db.session.execute(select(key).where(*criteria).with_for_update())


def add_once(row) -> bool:
    """Add `row`, whose unique dedupe key may already be taken; False (and nothing added) if it is.

    A savepoint lets the unique index decide between two processes adding the same key at
    once, without rolling back the caller's transaction.
    """
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return False
    return True
