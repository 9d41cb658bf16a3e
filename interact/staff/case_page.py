"""The staff case page's data: everything the page shows, gathered by its view into one `CasePage`.

The template (templates/staff/cases/detail.html and its includes) reads only this object and
static labels; no context processor loads anything for it. One `access.available_actions` call
over every transition decides what the user gets: a form per status action, the forms of the
extension and urge panel (interact/staff/supervision.py), and whether the privacy check
(interact/staff/masks.py) is open. Each part costs a fixed number of queries, never one per row.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm

from ..domain.deadlines import Deadline
from ..domain.kinds import KINDS, Kind
from ..domain.models import Case, CaseFlag, User
from ..domain.timeutil import utcnow
from ..domain.workflow import TRANSITIONS, Transition
from ..services import access, calendar, content_rules, deadlines
from ..services import cases as case_service
from . import forms, masks, supervision


@dataclass(frozen=True)
class CasePage:
    """Everything the case page shows to the signed-in user."""

    case: Case  # with its events, their actors, its attachments, department and site loaded
    kind: Kind | None
    deadline: Deadline
    draft_author: str | None
    # Each status action open to the user, in the table's order: (its transition, its form).
    actions: dict[str, tuple[Transition, FlaskForm]]
    flags: list[CaseFlag]  # what the content rules found, for the "需注意" box
    mask_panel: masks.MaskPanel | None  # None unless the user may edit the masks (may review the case now)
    supervision_panel: supervision.SupervisionPanel | None  # None when there is nothing to show


def action_form(action: str, case: Case) -> FlaskForm:
    """An empty form for the status action `action` on `case`, prefilled where useful."""
    if action == "dispatch":
        return forms.dispatch_form()
    if action == "reply":
        # After a return, the handler revises the reply the reviewer sent back.
        returned_reply = case.draft_text if case.draft_reason is None else None
        return forms.ReplyForm(formdata=None, text=returned_reply)
    if action == "decline":
        return forms.DeclineForm(formdata=None, reason=case.draft_reason or "",
                                 explanation=case.draft_text if case.draft_reason else None)
    if action == "review":
        # Publication defaults to what the citizen chose; without consent it cannot happen.
        return forms.ReviewForm(formdata=None, publish=case.publish_consent)
    return forms.ACTION_FORMS[action](formdata=None)


def build(user: User, number: str, posted: tuple[str, FlaskForm] | None = None) -> CasePage:
    """The case page of `number` for `user` (NotFound if they may not see it).

    `posted` (action, form) replaces that action's empty form with the one just submitted, so
    that what the user typed is shown again with the service's messages.
    """
    case = case_service.case_with_details(access.get_case_for_staff(user, number))
    allowed = access.available_actions(user, case, utcnow(), actions=TRANSITIONS)
    names = {t.action for t in allowed}
    actions = {t.action: (t, action_form(t.action, case)) for t in allowed if t.changes_status}
    if posted is not None and posted[0] in actions:
        actions[posted[0]] = (actions[posted[0]][0], posted[1])
    return CasePage(
        case=case,
        kind=KINDS.get(case.kind),
        deadline=deadlines.case_deadline(case, calendar.current_calendar()),
        draft_author=case.draft_by.label if case.draft_by else None,
        actions=actions,
        flags=content_rules.flags_for(case),
        mask_panel=masks.panel(case, editable="review" in names),
        supervision_panel=supervision.panel(case, names),
    )
