"""Running a staff action from a page or the API: one unit of work, a refused action audited, and
the typed refusal turned into the same kind of answer everywhere.

- The JSON API lets the refusal propagate: the app's error handler answers 400/403/404/409 with
  `{"error", "message", "fields"}`.
- A page answers NotFound with the 404 page (the app's error handler: the user may not know the
  case exists); a Conflict (somebody else acted first: two handlers, a double click) with a 409
  page saying so, with a link back to the page the form came from, where the case now shows what
  happened; a Forbidden or invalid input is shown as the service's message on that page, or, for
  invalid input, by showing the form again (`on_invalid`).

Either way the refusal is written to the audit trail (outcome "failure", with the error code)
after the action's own transaction rolled back, so nothing it changed is kept.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import flash, redirect, render_template
from flask_babel import gettext as _

from ..domain.errors import Conflict, DomainError, Forbidden, ValidationFailed
from ..domain.models import User
from ..services import audit
from ..services.tx import unit_of_work

T = TypeVar("T")


@contextmanager
def audited(action: str, user: User | None, object_type: str, object_id: object) -> Iterator[None]:
    """Run the block in one unit of work; if a service refuses it, audit the refusal and re-raise."""
    try:
        with unit_of_work():
            yield
    except DomainError as exc:
        audit.record_refusal(action, exc, user=user, object_type=object_type, object_id=object_id)
        raise


def invalid_form(action: str, user: User | None, object_type: str, object_id: object, back: str):
    """A posted form that did not validate (a stale page, a tampered field): audited, and said on the page."""
    audit.record_now(action, user=user, object_type=object_type, object_id=object_id,
                     details={"error": "invalid_form"})
    flash(_("表单无效，请刷新页面后重试。"), "error")
    return redirect(back)


def run_for_page(action: str, user: User | None, object_type: str, object_id: object, call: Callable[[], T], *,
                 back: str, on_invalid: Callable[[ValidationFailed], object] | None = None) -> tuple[T | None, object]:
    """Run `call` as an audited action for a page: (its result, None), or (None, the page's answer).

    NotFound propagates to the 404 page; a Conflict is a 409 page linking to `back`; a Forbidden is
    flashed on `back`, and invalid input is flashed on `back` too unless `on_invalid` builds the
    answer (e.g. the form shown again with the messages beside its fields).
    """
    try:
        with audited(action, user, object_type, object_id):
            result = call()
    except ValidationFailed as exc:
        if on_invalid is not None:
            return None, on_invalid(exc)
        flash(exc.message, "error")
        return None, redirect(back)
    except Conflict as exc:
        # Not a redirect: the status tells the browser (and any script) that nothing was done.
        return None, (render_template("errors.html", code=409, message=exc.message, back=back), 409)
    except Forbidden as exc:
        flash(exc.message, "error")
        return None, redirect(back)
    return result, None
