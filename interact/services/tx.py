"""One commit per request or command, with clean-up of side effects when it fails."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from ..domain.db import db

_KEY = "interact_on_rollback"


def on_rollback(callback: Callable[[], None]) -> None:
    """Run `callback` if the current unit of work rolls back (e.g. delete a written file)."""
    db.session.info.setdefault(_KEY, []).append(callback)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit everything done inside the block, or roll all of it back and undo side effects."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for callback in db.session.info.pop(_KEY, []):
            callback()
        raise
    else:
        db.session.info.pop(_KEY, None)


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
