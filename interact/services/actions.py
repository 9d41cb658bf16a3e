"""Every staff action on a case by name, for the pages and the API alike: `perform` reads the
adapter's parsed body and calls the one service function that takes the action.

The rules (who may act when) are in the transition table and services/access.py; the services
below apply them before they change anything.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask_babel import gettext as _

from ..domain.errors import NotFound
from ..domain.models import Case, User
from . import cases, extensions, supervision
from .inputs import truthy


def _text(body: dict, name: str) -> str:
    """A text field of the body ('' when absent or null)."""
    return body.get(name) or ""


PERFORMERS: dict[str, Callable[[User, str | Case, dict, datetime | None], Case]] = {
    "dispatch": lambda user, case, body, now: cases.dispatch_case(user, case, _text(body, "department"), now),
    "accept": lambda user, case, body, now: cases.accept_case(user, case, now),
    "transfer": lambda user, case, body, now: cases.transfer_case(user, case, _text(body, "reason"), now),
    "reply": lambda user, case, body, now: cases.draft_reply(user, case, _text(body, "text"), now),
    "decline": lambda user, case, body, now: cases.draft_decline(
        user, case, _text(body, "reason"), _text(body, "explanation"), now),
    "review": lambda user, case, body, now: cases.review_draft(
        user, case, _text(body, "decision"), _text(body, "comment"), truthy(body.get("publish")), now),
    "request_extension": lambda user, case, body, now: extensions.request_extension(
        user, case, body.get("days"), _text(body, "reason"), now),
    "decide_extension": lambda user, case, body, now: extensions.decide_extension(
        user, case, _text(body, "decision"), _text(body, "comment"), now),
    "urge": lambda user, case, body, now: supervision.urge(user, case, _text(body, "note"), now),
}


def perform(user: User, case: str | Case, action: str, body: dict, now: datetime | None = None) -> Case:
    """Take the named action on a case (its number, or the loaded case) with the adapter's parsed body."""
    performer = PERFORMERS.get(action)
    if performer is None:
        raise NotFound(_("未知的操作。"))
    return performer(user, case, body, now)
