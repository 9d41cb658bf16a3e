"""Roles and separation of duties (issue 3, section 2; Art. 25): the whole role × action matrix,
through the JSON API (tokens) and the HTML back office (sign-in), enforced on the server.

- the admin manages accounts and settings but cannot draft, review or even see case content;
- a reviewer cannot approve a draft they wrote;
- a handler cannot publish: publication happens only in review;
- the auditor sees only the audit trail.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.models import Case, Department, Site, Status, User, WorkdayOverride
from interact.services import cases as case_service
from interact.services import deadlines

ROLES = ["admin", "dispatcher", "handler", "reviewer", "auditor", "combo"]

# Each action: the status a housing case must be in, and the body the API and the form send.
ACTIONS: dict[str, tuple[str, dict]] = {
    "dispatch": ("submitted", {"department": "housing"}),
    "accept": ("assigned", {}),
    "transfer": ("handling", {"reason": "不属于本部门职责，请重新分办。"}),
    "reply": ("handling", {"text": "经核实，符合条件的可以申请。"}),
    "decline": ("handling", {"reason": "out_of_scope", "explanation": "不属于本部门职责。"}),
    "review": ("pending_review", {"decision": "approve", "comment": "", "publish": True}),
    # The same review, of a draft the acting user wrote themselves.
    "review_own": ("pending_review", {"decision": "approve", "comment": "", "publish": True}),
}

# 200: allowed. 403: the user sees the case but their role may not act. 404: the case is out of sight.
HANDLING = {"handler": 200, "combo": 200, "reviewer": 403}
EXPECTED: dict[str, dict[str, int]] = {
    "dispatch": {"dispatcher": 200},
    "accept": HANDLING,
    "transfer": HANDLING,
    "reply": HANDLING,
    "decline": HANDLING,
    "review": {"reviewer": 200, "combo": 200, "handler": 403},
    "review_own": {"combo": 403, "reviewer": 403, "handler": 403},
}
MATRIX = [(role, action) for role in ROLES for action in ACTIONS]

# The admin operations, with the form each posts; only the admin may.
ADMIN_OPERATIONS: dict[str, tuple[str, dict]] = {
    "add_department": ("/staff/admin/departments", {"code": "new-dept", "name": "市新设局"}),
    "add_site": ("/staff/admin/sites", {"department": "housing", "name": "新网站",
                                        "base_url": "https://new.example.gov.cn"}),
    "add_user": ("/staff/admin/users", {"username": "added", "password": "Blue-Kettle-Orbit-42",
                                        "roles": ["dispatcher"], "department": "gov-office"}),
    "override_calendar": ("/staff/admin/calendar/overrides", {"day": "2030-01-07", "working": "off",
                                                              "note": "测试调整"}),
    "change_deadline": ("/staff/admin/deadlines", {"kind": "consultation", "days": "5"}),
}


@pytest.fixture
def cast(world, create_user):
    """The world's staff plus one user who is both handler and reviewer of housing."""
    combo = create_user("handler", "reviewer", department=world.housing, username="combo")
    return {"admin": world.admin, "dispatcher": world.dispatcher, "handler": world.handler,
            "reviewer": world.reviewer, "auditor": world.auditor, "combo": combo}


@pytest.fixture
def case_for(cast, create_case):
    """Factory: a housing case ready for `action` (for review_own, drafted by the acting user)."""

    def make(action: str, role: str) -> Case:
        status, _body = ACTIONS[action]
        if action != "review_own":
            return create_case(status)[0]
        case, _code = create_case("handling")
        author = cast[role] if role in ("combo", "handler") else cast["combo"]
        if role == "reviewer":
            # A reviewer who is not a handler cannot write drafts; give them one as its author.
            case_service.draft_reply(cast["handler"], case, "经核实，符合条件的可以申请。")
            case.draft_by_id = cast["reviewer"].id
        else:
            case_service.draft_reply(author, case, "经核实，符合条件的可以申请。")
        db.session.commit()
        return case

    return make


def snapshot(case: Case) -> tuple:
    """What an action changes on a case."""
    db.session.refresh(case)
    return case.status, case.department_id, case.draft_text, case.published, case.reviewed_by_id


# --- case actions through the API -------------------------------------------------------------

@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_case_actions_through_the_api(client, cast, case_for, create_token, role, action):
    case = case_for(action, role)
    token = create_token(cast[role])
    before = snapshot(case)
    expected = EXPECTED[action].get(role, 404)
    api_action = "review" if action == "review_own" else action
    response = client.post(f"/api/v1/staff/cases/{case.number}/{api_action}", json=ACTIONS[action][1],
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == expected, response.get_json()
    if expected == 200:
        assert snapshot(case) != before
    else:
        assert snapshot(case) == before
    # Those who may not see the case cannot read it either.
    seen = client.get(f"/api/v1/staff/cases/{case.number}", headers={"Authorization": f"Bearer {token}"})
    if expected == 404:
        assert seen.status_code == 404
        assert case.title not in seen.get_data(as_text=True)


# --- case actions through the HTML back office --------------------------------------------------

def html_body(action: str) -> dict:
    """The action's body as the form posts it."""
    body = dict(ACTIONS[action][1])
    if body.get("publish") is True:
        body["publish"] = "y"
    return body


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_case_actions_through_the_back_office(client, cast, case_for, role, action, csrf_from, login):
    case = case_for(action, role)
    login(client, cast[role].username)
    before = snapshot(case)
    expected = EXPECTED[action].get(role, 404)
    form_action = "review" if action == "review_own" else action
    token = csrf_from(client.get("/staff/").get_data(as_text=True))
    response = client.post(f"/staff/cases/{case.number}/{form_action}",
                           data={**html_body(action), "csrf_token": token})
    if expected == 404:
        assert response.status_code == 404
        assert client.get(f"/staff/cases/{case.number}").status_code == 404
        assert snapshot(case) == before
    elif expected == 403:
        # The back office answers a refusal with the case page again and the reason on it.
        assert response.status_code == 302
        html = client.get(response.headers["Location"]).get_data(as_text=True)
        assert re.search(r"不能执行|不能审核自己", html)
        assert snapshot(case) == before
    else:
        assert response.status_code == 302
        assert snapshot(case) != before


# --- the separation rules, one by one -------------------------------------------------------------

def test_the_admin_sees_no_case_content_anywhere(client, world, create_case, create_token, login):
    cases = [create_case(status)[0] for status in ("submitted", "assigned", "pending_review", "replied")]
    token = create_token(world.admin)
    listing = client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert listing["items"] == [] and listing["total"] == 0
    login(client, "admin")
    dashboard = client.get("/staff/").get_data(as_text=True)
    for case in cases:
        assert client.get(f"/staff/cases/{case.number}").status_code == 404
        assert case.number not in dashboard and case.title not in dashboard
        assert client.get(f"/api/v1/staff/cases/{case.number}",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_the_auditor_sees_only_the_audit_trail(client, world, create_case, create_token, login):
    cases = [create_case(status)[0] for status in ("submitted", "handling", "pending_review", "replied")]
    login(client, "auditor")
    assert client.get("/staff/audit").status_code == 200
    dashboard = client.get("/staff/").get_data(as_text=True)
    for case in cases:
        assert case.number not in dashboard and case.title not in dashboard
        assert client.get(f"/staff/cases/{case.number}").status_code == 404
    for url in ("/staff/admin/departments", "/staff/admin/sites", "/staff/admin/users", "/staff/admin/calendar",
                "/staff/admin/deadlines", "/staff/admin/users/handler"):
        assert client.get(url).status_code == 403, url
    token = create_token(world.auditor)
    listing = client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert listing["items"] == []


@pytest.mark.parametrize("role", ["admin", "dispatcher", "handler", "reviewer", "combo"])
def test_only_the_auditor_reads_the_audit_trail(client, cast, role, login):
    login(client, cast[role].username)
    assert client.get("/staff/audit").status_code == 403
    assert client.get("/staff/audit/export.csv").status_code == 403


def test_a_handler_cannot_publish(client, world, create_case, create_token):
    case, _code = create_case("handling")
    token = create_token(world.handler)
    headers = {"Authorization": f"Bearer {token}"}
    # A publish flag smuggled into the draft is ignored: only the review decides.
    response = client.post(f"/api/v1/staff/cases/{case.number}/reply", headers=headers,
                           json={"text": "经核实，符合条件的可以申请。", "publish": True})
    assert response.status_code == 200
    db.session.refresh(case)
    assert case.status == Status.pending_review and not case.published
    refused = client.post(f"/api/v1/staff/cases/{case.number}/review", headers=headers,
                          json={"decision": "approve", "publish": True})
    assert refused.status_code == 403
    db.session.refresh(case)
    assert case.status == Status.pending_review and not case.published


def test_a_reviewer_cannot_approve_their_own_draft_even_with_both_roles(client, cast, case_for, create_token):
    case = case_for("review_own", "combo")
    token = create_token(cast["combo"])
    response = client.post(f"/api/v1/staff/cases/{case.number}/review", json={"decision": "approve"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "自己" in response.get_json()["message"]
    # Another reviewer of the department may.
    other = create_token(cast["reviewer"])
    response = client.post(f"/api/v1/staff/cases/{case.number}/review", json={"decision": "approve"},
                           headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200


# --- admin operations ------------------------------------------------------------------------------

def admin_state() -> tuple:
    """What the admin operations change."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count(Department.id))),
        db.session.scalar(select(func.count(Site.id))),
        db.session.scalar(select(func.count(User.id))),
        db.session.scalar(select(func.count()).select_from(WorkdayOverride)),
        deadlines.deadline_days("consultation"),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(ADMIN_OPERATIONS))
def test_admin_operations_through_the_back_office(client, cast, role, operation, csrf_from, login):
    url, data = ADMIN_OPERATIONS[operation]
    login(client, cast[role].username)
    token = csrf_from(client.get("/staff/").get_data(as_text=True))
    before = admin_state()
    response = client.post(url, data={**data, "csrf_token": token})
    if role == "admin":
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        assert admin_state() != before
    else:
        assert response.status_code == 403
        assert admin_state() == before


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_are_for_the_admin_only(client, cast, role, login):
    login(client, cast[role].username)
    for url in ("/staff/admin/departments", "/staff/admin/sites", "/staff/admin/users", "/staff/admin/calendar",
                "/staff/admin/deadlines", "/staff/admin/users/handler"):
        assert client.get(url).status_code == (200 if role == "admin" else 403), url


@pytest.mark.parametrize("operation", ["departments", "sites", "users", "calendar/overrides", "deadlines"])
def test_the_api_offers_no_admin_operation_even_to_the_admin(client, world, create_token, operation):
    token = create_token(world.admin)
    response = client.post(f"/api/v1/staff/{operation}", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (404, 405)
