"""One commit per request or command, with clean-up of side effects when it fails."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..extensions import db

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
