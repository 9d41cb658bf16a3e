"""The status machine: every allowed transition, and refusals for the wrong status or role."""
from __future__ import annotations

import pytest
from fixtures.values import STATUS_PATHS

from interact.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from interact.domain.db import db
from interact.domain.models import Case, CaseEvent, Status
from interact.services import cases as cs
from interact.domain.workflow import STATUS_ACTIONS, TRANSITIONS
from interact.services import access
from interact.services import actions

BODIES = {
    "dispatch": {"department": "housing"},
    "accept": {},
    "transfer": {"reason": "属于交通部门职责"},
    "reply": {"text": "答复如下。"},
    "decline": {"reason": "duplicate"},
    "review": {"decision": "approve", "publish": True},
}


def actor_for(world, action):
    """The user whose role may take `action` on a housing case."""
    return {"dispatch": world.dispatcher, "review": world.reviewer}.get(action, world.handler)


def test_case_without_department_starts_submitted(create_case):
    case, _ = create_case("submitted")
    assert case.status == Status.submitted and case.department_id is None


def test_case_with_chosen_department_starts_assigned(world, submission):
    case, _ = cs.submit_case(submission(department="housing"))
    assert case.status == Status.assigned and case.department_id == world.housing.id


def test_correction_is_routed_to_the_site_owner(world, submission):
    case, _ = cs.submit_case(submission(kind="correction", site=world.site.id, department="transport",
                                        page_url="https://zjj.example.gov.cn/a.html", error_type="broken_link"))
    assert case.status == Status.assigned
    assert case.department_id == world.housing.id


def test_mailbox_requires_a_leader_mailbox(world, submission):
    with pytest.raises(ValidationFailed) as exc:
        cs.submit_case(submission(kind="mailbox"))
    assert "department" in exc.value.fields
    with pytest.raises(ValidationFailed):
        cs.submit_case(submission(kind="mailbox", department="housing"))  # housing has no mailbox
    case, _ = cs.submit_case(submission(kind="mailbox", department="gov-office"))
    assert case.department_id == world.office.id and case.status == Status.assigned


ALLOWED = [
    ("submitted", "dispatch", Status.assigned),
    ("assigned", "accept", Status.handling),
    ("assigned", "transfer", Status.submitted),
    ("handling", "transfer", Status.submitted),
    ("handling", "reply", Status.pending_review),
    ("assigned", "decline", Status.pending_review),
    ("handling", "decline", Status.pending_review),
]


@pytest.mark.parametrize(("start", "action", "target"), ALLOWED)
def test_allowed_transition_moves_status_and_writes_event(create_case, world, start, action, target):
    case, _ = create_case(start)
    actor = actor_for(world, action)
    actions.perform(actor, case.number, action, BODIES[action])
    db.session.commit()
    assert case.status == target
    event = case.events[-1]
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        action, start, target.value, actor.id)


@pytest.mark.parametrize(("draft", "target"), [("reply", Status.replied), ("decline", Status.declined)])
def test_review_approve_moves_to_replied_or_declined(create_case, world, draft, target):
    case, _ = create_case("handling")
    actions.perform(world.handler, case.number, draft, BODIES[draft])
    cs.review_draft(world.reviewer, case.number, "approve", publish=True)
    assert case.status == target
    assert case.events[-1].action == "approve" and case.events[-1].actor_id == world.reviewer.id
    assert case.reviewed_by_id == world.reviewer.id and case.replied_by_id == world.handler.id


def test_review_return_goes_back_to_handling_with_comment_and_keeps_text(create_case, world):
    case, _ = create_case("pending_review")
    with pytest.raises(ValidationFailed):
        cs.review_draft(world.reviewer, case.number, "return", "")  # a return needs a comment
    cs.review_draft(world.reviewer, case.number, "return", "请补充政策依据")
    assert case.status == Status.handling
    assert case.events[-1].note == "请补充政策依据" and not case.events[-1].public
    assert case.draft_text  # the handler revises the same text


WRONG_STATUS = [
    (status, action)
    for action, t in TRANSITIONS.items() if action in STATUS_ACTIONS
    for status in STATUS_PATHS
    if Status(status) not in t.sources
]


@pytest.mark.parametrize(("status", "action"), WRONG_STATUS)
def test_action_in_wrong_status_is_a_conflict(create_case, world, status, action):
    # The dispatcher sees only submitted cases, and departments see only routed ones:
    # for a case the actor cannot see, the answer is a plain 404.
    case, _ = create_case(status)
    actor = actor_for(world, action)
    expected = NotFound if (action == "dispatch") != (status == "submitted") else Conflict
    with pytest.raises(expected):
        actions.perform(actor, case.number, action, BODIES[action])
    db.session.rollback()
    assert db.session.get(Case, case.id).status == Status(status)


@pytest.mark.parametrize("action", STATUS_ACTIONS)
def test_action_by_wrong_role_is_forbidden(create_case, world, create_user, action):
    t = TRANSITIONS[action]
    start = next(iter(t.sources)).value
    case, _ = create_case(start)
    # Someone of the right department (so they can see the case) but without the role.
    roles = {"handler", "reviewer"} - {t.role.value} or {"handler"}
    outsider = create_user(*sorted(roles), department=world.housing)
    if action == "dispatch":
        outsider = create_user("handler", "reviewer", department=world.office)
        outsider.department_id = None
        with pytest.raises(NotFound):  # not a dispatcher: the submitted case is invisible
            actions.perform(outsider, case.number, action, BODIES[action])
        return
    with pytest.raises(Forbidden):
        actions.perform(outsider, case.number, action, BODIES[action])


def test_nobody_approves_their_own_draft(create_case, world, create_user):
    both = create_user("handler", "reviewer", department=world.housing)
    case, _ = create_case("handling")
    cs.draft_reply(both, case.number, "我来答复")
    with pytest.raises(Forbidden):
        cs.review_draft(both, case.number, "approve", publish=True)
    cs.review_draft(world.reviewer, case.number, "approve", publish=True)
    assert case.status == Status.replied


def test_handler_of_other_department_cannot_see_or_act(create_case, world):
    case, _ = create_case("assigned")
    for user in (world.other_handler, world.other_reviewer, world.admin, world.auditor):
        with pytest.raises(NotFound):
            access.get_case_for_staff(user, case.number)
        with pytest.raises(NotFound):
            actions.perform(user, case.number, "accept", {})


def test_dispatcher_sees_only_unrouted_cases(create_case, world):
    routed, _ = create_case("assigned")
    unrouted, _ = create_case("submitted")
    assert access.can_view(world.dispatcher, unrouted)
    assert not access.can_view(world.dispatcher, routed)


def test_transfer_keeps_the_deadline_and_returns_to_dispatch(create_case, world):
    case, _ = create_case("handling")
    due = case.due_at
    cs.transfer_case(world.handler, case.number, "应由交通部门办理")
    assert case.status == Status.submitted and case.department_id is None
    assert case.transfer_count == 1 and case.last_transfer_reason == "应由交通部门办理"
    cs.dispatch_case(world.dispatcher, case.number, "transport")
    assert case.department_id == world.transport.id and case.due_at == due


def test_transfer_needs_a_reason(create_case, world):
    case, _ = create_case("assigned")
    with pytest.raises(ValidationFailed) as exc:
        cs.transfer_case(world.handler, case.number, "  ")
    assert "reason" in exc.value.fields


def test_decline_needs_one_of_the_fixed_reasons(create_case, world):
    case, _ = create_case("handling")
    with pytest.raises(ValidationFailed):
        cs.draft_decline(world.handler, case.number, "lazy")
    cs.draft_decline(world.handler, case.number, "abusive")
    cs.review_draft(world.reviewer, case.number, "approve", publish=True)
    assert case.status == Status.declined and case.decline_reason == "abusive"
    assert not case.published


def test_every_action_writes_one_event(create_case, world):
    case, _ = create_case("replied")
    actions = [e.action for e in case.events]
    assert actions == ["submit", "dispatch", "accept", "reply", "approve"]
    assert all(e.at is not None for e in case.events)


def test_available_actions_match_what_the_service_allows(create_case, world):
    case, _ = create_case("handling")
    assert {t.action for t in access.available_actions(world.handler, case)} == {"transfer", "reply", "decline"}
    assert access.available_actions(world.reviewer, case) == []
    cs.draft_reply(world.handler, case, "答复")
    assert [t.action for t in access.available_actions(world.reviewer, case)] == ["review"]
    assert access.available_actions(world.handler, case) == []


def test_failed_action_leaves_no_half_saved_change(create_case, world):
    case, _ = create_case("handling")
    events_before = db.session.query(CaseEvent).count()
    with pytest.raises(ValidationFailed):
        actions.perform(world.handler, case.number, "reply", {"text": ""})
    db.session.rollback()
    fresh = db.session.get(Case, case.id)
    assert fresh.status == Status.handling
    assert db.session.query(CaseEvent).count() == events_before


def test_case_numbers_are_unique_sortable_and_dated(world, aware, submission):
    first, _ = cs.submit_case(submission(), now=aware(2026, 11, 27, 1, 0))
    second, _ = cs.submit_case(submission(), now=aware(2026, 11, 27, 2, 0))
    late, _ = cs.submit_case(submission(), now=aware(2026, 11, 27, 17, 0))  # 01:00 on the 28th in Shanghai
    assert first.number == "2026112700001" and second.number == "2026112700002"
    assert late.number == "2026112800001"
    assert sorted([late.number, second.number, first.number]) == [first.number, second.number, late.number]


def test_query_code_is_random_long_and_only_hashed(world, submission):
    case, code = cs.submit_case(submission())
    assert len(code) >= 10
    assert code not in case.query_code_hash and case.query_code_hash != code
    other, other_code = cs.submit_case(submission())
    assert code != other_code
    assert cs.case_for_citizen(case.number, cs.format_query_code(code).lower()).id == case.id
    with pytest.raises(NotFound):
        cs.case_for_citizen(case.number, other_code)
    with pytest.raises(NotFound):
        cs.case_for_citizen("2099010100001", code)


def test_rating_only_after_reply_and_only_once(create_case):
    handling, _ = create_case("handling")
    with pytest.raises(Conflict):
        cs.rate_case(handling, "satisfied")
    case, _ = create_case("replied")
    with pytest.raises(ValidationFailed):
        cs.rate_case(case, "great")
    cs.rate_case(case, "basically_satisfied", "还行")
    assert case.rating == "basically_satisfied"
    with pytest.raises(Conflict):
        cs.rate_case(case, "satisfied")


@pytest.mark.parametrize("field", ["title", "content", "name", "phone"])
def test_required_fields(world, field, submission):
    with pytest.raises(ValidationFailed) as exc:
        cs.submit_case(submission(**{field: " "}))
    assert field in exc.value.fields
    assert db.session.query(Case).count() == 0


def test_the_table_names_every_case_action_and_each_has_one_service_call():
    # Extension, its decision and urging are in the table too, beside the status machine.
    assert set(TRANSITIONS) == {"dispatch", "accept", "transfer", "reply", "decline", "review",
                                "request_extension", "decide_extension", "urge"}
    assert set(actions.PERFORMERS) == set(TRANSITIONS)
    assert set(STATUS_ACTIONS) == {a for a, t in TRANSITIONS.items() if t.changes_status}
    assert all(TRANSITIONS[a].target is None for a in TRANSITIONS if a not in STATUS_ACTIONS)


def test_the_actions_around_the_statuses_follow_the_table_roles(create_case, world, aware):
    case, _ = create_case("handling")
    allowed = {t.action for t in access.available_actions(world.handler, case, actions=TRANSITIONS)}
    assert allowed == {"transfer", "reply", "decline", "request_extension"}
    # The dispatcher does not even see a routed case that is on time and has no request.
    assert access.available_actions(world.dispatcher, case, actions=TRANSITIONS) == []
    late, _ = create_case("handling", submitted_at=aware(2025, 9, 1, 2, 0))
    assert {t.action for t in access.available_actions(world.dispatcher, late, actions=TRANSITIONS)} == {"urge"}
