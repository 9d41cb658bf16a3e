"""The JSON API v1 end to end: the citizen's and the staff's calls, status codes, and what the
public may read (Art. 17)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from interact.domain.db import db
from interact.domain.models import ApiToken
from interact.domain.timeutil import utcnow
from interact.services.attachments import Upload

PHONE = "13812345678"
EMAIL = "zhangsan@example.com"
CITIZEN = {
    "kind": "consultation", "title": "公租房申请条件咨询",
    "content": f"请问外地户籍能否申请公租房？我的电话{PHONE}。",
    "name": "张三", "phone": PHONE, "email": EMAIL, "publish": True,
}
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")


def bearer(token: str) -> dict:
    """The Authorization header for a staff token."""
    return {"Authorization": f"Bearer {token}"}


def act(client, token: str, number: str, action: str, body: dict | None = None):
    """POST a workflow action through the staff API."""
    return client.post(f"/api/v1/staff/cases/{number}/{action}", json=body or {}, headers=bearer(token))


def submit(client, **fields):
    """POST a citizen's case through the public API."""
    return client.post("/api/v1/cases", json={**CITIZEN, **fields})


def follow(client, number: str, code: str):
    """GET the citizen's case with its query code."""
    return client.get(f"/api/v1/cases/{number}", headers={"X-Query-Code": code})


def record_numbers(client, **params) -> list[str]:
    """The numbers on the first page of published records."""
    response = client.get("/api/v1/records", query_string=params)
    assert response.status_code == 200
    return [item["number"] for item in response.get_json()["items"]]


@pytest.fixture
def tokens(world, create_token) -> dict[str, str]:
    """An API token for each member of the world's staff."""
    return {name: create_token(getattr(world, name)) for name in
            ("dispatcher", "handler", "reviewer", "other_handler", "other_reviewer", "admin", "auditor")}


# --- end to end -----------------------------------------------------------------------------

def test_case_goes_from_citizen_through_staff_to_public_record_and_rating(client, world, tokens):
    """Submit → dispatch → accept → reply → approve and publish → public record → citizen reads, rates."""
    response = submit(client)
    assert response.status_code == 201
    receipt = response.get_json()
    number, code = receipt["number"], receipt["query_code"]
    assert receipt["status"] == "submitted"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", receipt["due_date"])
    assert response.headers["Location"].endswith(f"/api/v1/cases/{number}")
    assert len(code.replace("-", "")) >= 10

    steps = [
        ("dispatcher", "dispatch", {"department": "housing"}, "assigned"),
        ("handler", "accept", {}, "handling"),
        ("handler", "reply", {"text": "外地户籍符合条件的可以申请。"}, "pending_review"),
        ("reviewer", "review", {"decision": "approve", "comment": "内部意见：同意", "publish": True}, "replied"),
    ]
    for who, action, body, status in steps:
        assert record_numbers(client) == []  # nothing is public before review
        response = act(client, tokens[who], number, action, body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status

    listing = client.get("/api/v1/records")
    text = listing.get_data(as_text=True)
    assert PHONE not in text and EMAIL not in text and "张三" not in text
    [item] = listing.get_json()["items"]
    assert item["number"] == number
    assert item["name"] == "张*"
    assert item["title"] == CITIZEN["title"]
    assert "[手机号]" in item["content"]
    assert item["reply"] == "外地户籍符合条件的可以申请。"
    assert item["department"] == {"code": "housing", "name": "市住房和城乡建设局"}
    assert item["on_time"] is True and item["working_days_used"] == 0
    assert "phone" not in item and "email" not in item
    detail = client.get(f"/api/v1/records/{number}")
    assert detail.status_code == 200
    assert PHONE not in detail.get_data(as_text=True) and EMAIL not in detail.get_data(as_text=True)

    mine = follow(client, number, code)
    assert mine.status_code == 200
    case = mine.get_json()
    assert case["status"] == "replied"
    assert case["content"] == CITIZEN["content"]  # the citizen sees their own words
    assert case["reply"]["text"] == "外地户籍符合条件的可以申请。"
    assert LOCAL_TIME.match(case["reply"]["replied_at"])
    assert [e["action"] for e in case["events"]] == ["submit", "dispatch", "accept", "approve"]
    assert "内部意见" not in mine.get_data(as_text=True)  # internal notes stay internal
    assert case["rating"] is None

    rated = client.post(f"/api/v1/cases/{number}/rating", json={"rating": "satisfied", "comment": "很及时"},
                        headers={"X-Query-Code": code})
    assert rated.status_code == 201
    assert rated.get_json()["value"] == "satisfied"
    assert follow(client, number, code).get_json()["rating"]["value"] == "satisfied"
    assert client.get(f"/api/v1/records/{number}").get_json()["rating"] == "satisfied"

    again = client.post(f"/api/v1/cases/{number}/rating", json={"rating": "dissatisfied"},
                        headers={"X-Query-Code": code})
    assert again.status_code == 409
    assert again.get_json()["error"] == "conflict"


def test_query_code_may_be_typed_in_lower_case_without_hyphens(client, world):
    """Citizens copy codes by hand: case and hyphens do not matter."""
    receipt = submit(client).get_json()
    typed = receipt["query_code"].replace("-", "").lower()
    assert follow(client, receipt["number"], typed).status_code == 200


def test_wrong_or_missing_query_code_looks_like_an_unknown_number(client, world):
    """A wrong code answers exactly as a number that does not exist."""
    number = submit(client).get_json()["number"]
    unknown = client.get("/api/v1/cases/2099010100001", headers={"X-Query-Code": "ABCD-EFGH-JKMN"})
    wrong = follow(client, number, "ABCD-EFGH-JKMN")
    missing = client.get(f"/api/v1/cases/{number}")
    assert unknown.status_code == wrong.status_code == missing.status_code == 404
    assert unknown.get_json() == wrong.get_json() == missing.get_json()
    rating = client.post(f"/api/v1/cases/{number}/rating", json={"rating": "satisfied"},
                         headers={"X-Query-Code": "ABCD-EFGH-JKMN"})
    assert rating.status_code == 404


def test_rating_before_the_reply_is_refused(client, create_case):
    """The citizen rates only an approved reply."""
    case, code = create_case("pending_review")
    response = client.post(f"/api/v1/cases/{case.number}/rating", json={"rating": "satisfied"},
                           headers={"X-Query-Code": code})
    assert response.status_code == 409


def test_rating_must_be_one_of_the_fixed_values(client, create_case):
    """An unknown or mistyped rating is a 400 naming the field."""
    case, code = create_case("replied")
    for body in ({"rating": "great"}, {"rating": 5}, {}):
        response = client.post(f"/api/v1/cases/{case.number}/rating", json=body, headers={"X-Query-Code": code})
        assert response.status_code == 400, body
        assert "rating" in response.get_json()["fields"]


def test_times_are_local_iso_8601_with_offset_and_due_date_is_a_local_date(client, world):
    """Timestamps carry the +08:00 offset; due_date is YYYY-MM-DD."""
    receipt = submit(client).get_json()
    case = follow(client, receipt["number"], receipt["query_code"]).get_json()
    assert LOCAL_TIME.match(case["submitted_at"])
    assert LOCAL_TIME.match(case["events"][0]["at"])
    assert case["due_date"] == receipt["due_date"]


# --- submission -----------------------------------------------------------------------------

def test_case_naming_a_department_starts_assigned(client, world, tokens):
    """A citizen who chose a department skips dispatch."""
    receipt = submit(client, department="transport").get_json()
    assert receipt["status"] == "assigned"
    view = client.get(f"/api/v1/staff/cases/{receipt['number']}", headers=bearer(tokens["other_handler"]))
    assert view.get_json()["department"]["code"] == "transport"


def test_correction_goes_to_the_site_department_whatever_the_body_says(client, world, tokens):
    """A correction is routed to the site's owner; status and department in the body are ignored."""
    response = submit(client, kind="correction", site=world.site.id, page_url="https://zjj.example.gov.cn/a",
                      error_type="broken_link", department="transport", status="replied", published=True)
    assert response.status_code == 201
    receipt = response.get_json()
    assert receipt["status"] == "assigned"
    number = receipt["number"]
    view = client.get(f"/api/v1/staff/cases/{number}", headers=bearer(tokens["handler"]))
    assert view.status_code == 200
    case = view.get_json()
    assert case["department"]["code"] == "housing"
    assert case["site"]["id"] == world.site.id
    assert case["error_type"]["code"] == "broken_link"
    assert client.get(f"/api/v1/staff/cases/{number}", headers=bearer(tokens["other_handler"])).status_code == 404
    assert record_numbers(client) == []


def test_invalid_submission_names_every_missing_field(client, world):
    """400 with a message for each field."""
    response = client.post("/api/v1/cases", json={"kind": "consultation"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid" and body["message"]
    assert set(body["fields"]) == {"title", "content", "name", "phone"}
    assert all(body["fields"].values())


def test_correction_without_site_url_or_error_type_is_invalid(client, world):
    """A correction needs the site, the page URL and the error type."""
    response = submit(client, kind="correction")
    assert response.status_code == 400
    assert {"site", "page_url", "error_type"} <= set(response.get_json()["fields"])


@pytest.mark.parametrize("body", [{"title": 123}, {"publish": "yes"}, {"site": [1]}, {"email": {"a": 1}}])
def test_submission_fields_of_the_wrong_type_are_invalid(client, world, body):
    """Wrongly typed JSON fields are a 400 naming the field, never a 500."""
    response = submit(client, **body)
    assert response.status_code == 400
    assert set(body) <= set(response.get_json()["fields"])


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ('"text"', "application/json"),
    ("kind=consultation&title=x", "application/x-www-form-urlencoded"),
    ("", "application/json"),
])
def test_submission_body_must_be_a_json_object(client, world, data, content_type):
    """Malformed, non-object or non-JSON bodies are a 400 in the API's error shape."""
    response = client.post("/api/v1/cases", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"


def test_citizen_may_opt_out_of_publication(client, world, tokens):
    """publish=false keeps the record off the public list even if the reviewer publishes."""
    number = submit(client, department="housing", publish=False).get_json()["number"]
    act(client, tokens["handler"], number, "accept")
    act(client, tokens["handler"], number, "reply", {"text": "答复"})
    response = act(client, tokens["reviewer"], number, "review", {"decision": "approve", "publish": True})
    assert response.status_code == 200
    assert response.get_json()["published"] is False
    assert record_numbers(client) == []
    assert client.get(f"/api/v1/records/{number}").status_code == 404


# --- directories ----------------------------------------------------------------------------

def test_departments_lists_active_departments_with_mailboxes(client, world):
    """The department directory, with the leader mailbox of the office that runs it."""
    departments = {d["code"]: d for d in client.get("/api/v1/departments").get_json()}
    assert set(departments) == {"gov-office", "housing", "transport"}
    assert departments["gov-office"]["mailbox_name"] == "市长信箱"
    assert departments["housing"]["mailbox_name"] is None


def test_sites_give_the_id_a_correction_needs(client, world):
    """Sites list their id, URL and owning department."""
    [site] = client.get("/api/v1/sites").get_json()
    assert site == {"id": world.site.id, "name": "市住建局网站", "base_url": "https://zjj.example.gov.cn",
                    "department": {"code": "housing", "name": "市住房和城乡建设局"}}


def test_every_channel_states_its_purpose_aim_and_usage(client, world):
    """Art. 16: each channel says what it is for and how to use it."""
    body = client.get("/api/v1/kinds").get_json()
    kinds = {k["code"]: k for k in body["kinds"]}
    assert set(kinds) == {"consultation", "suggestion", "complaint", "mailbox", "correction"}
    for kind in kinds.values():
        assert kind["label"] and kind["purpose"] and kind["aim"] and kind["usage"]
        assert kind["deadline_days"] == 3
    assert kinds["correction"]["needs_site"] and kinds["mailbox"]["needs_mailbox"]
    assert [e["code"] for e in body["error_types"]] == [
        "content", "broken_link", "outdated", "no_response", "service", "other"]
    assert [r["code"] for r in body["ratings"]] == ["satisfied", "basically_satisfied", "dissatisfied"]


# --- publication rules ----------------------------------------------------------------------

@pytest.mark.parametrize("status", ["submitted", "assigned", "handling", "pending_review"])
def test_nothing_is_public_before_review(client, create_case, status):
    """An unanswered case is neither listed nor readable as a record."""
    case, _code = create_case(status)
    assert record_numbers(client) == []
    assert client.get(f"/api/v1/records/{case.number}").status_code == 404


@pytest.mark.parametrize("options", [
    {"status": "replied", "publish_consent": False},
    {"status": "replied", "publish": False},
    {"status": "declined"},
])
def test_record_is_not_public_without_consent_approval_or_a_reply(client, create_case, options):
    """Citizen opted out, reviewer chose not to publish, or the case was declined: not public."""
    case, _code = create_case(**options)
    assert record_numbers(client) == []
    assert client.get(f"/api/v1/records/{case.number}").status_code == 404


def test_reviewer_choosing_not_to_publish_keeps_the_record_private(client, create_case, tokens):
    """review publish=false through the API: replied but not listed."""
    case, _code = create_case("pending_review")
    response = act(client, tokens["reviewer"], case.number, "review", {"decision": "approve", "publish": False})
    assert response.status_code == 200
    assert response.get_json()["status"] == "replied"
    assert record_numbers(client) == []
    assert client.get(f"/api/v1/records/{case.number}").status_code == 404


def test_records_filter_by_department_kind_and_local_month(client, world, create_case, aware):
    """Filters narrow the published list; the month is the local month of the reply."""
    housing, _ = create_case("replied")
    transport, _ = create_case("replied", department=world.transport, kind="complaint")
    # 2025-01-31 17:00 UTC is already 1 February in Shanghai.
    housing.replied_at, transport.replied_at = aware(2025, 1, 31, 15, 0), aware(2025, 1, 31, 17, 0)
    db.session.commit()
    assert record_numbers(client) == [transport.number, housing.number]  # newest reply first
    assert record_numbers(client, department="transport") == [transport.number]
    assert record_numbers(client, kind="consultation") == [housing.number]
    assert record_numbers(client, month="2025-01") == [housing.number]
    assert record_numbers(client, month="2025-02") == [transport.number]
    assert record_numbers(client, department="nowhere") == []


def test_records_paginate(client, create_case):
    """page and per_page split the list; total counts all of it."""
    for _ in range(3):
        create_case("replied")
    first = client.get("/api/v1/records?per_page=2").get_json()
    second = client.get("/api/v1/records?per_page=2&page=2").get_json()
    assert (first["total"], first["page"], first["per_page"], first["pages"]) == (3, 1, 2, 2)
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert not {i["number"] for i in first["items"]} & {i["number"] for i in second["items"]}


@pytest.mark.parametrize("name, value", [
    ("page", "0"), ("page", "abc"), ("page", "-1"), ("page", "²"), ("page", "9" * 40), ("per_page", "0"),
    ("per_page", "1000"), ("month", "2026-13"), ("month", "nope"), ("month", "9999-12"), ("kind", "letter"),
])
def test_bad_record_list_parameters_are_a_400(client, world, name, value):
    """Bad paging, month or kind parameters are refused, never a 500."""
    response = client.get("/api/v1/records", query_string={name: value})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"


# --- staff authentication -------------------------------------------------------------------

def _token_row(raw: str) -> ApiToken:
    """The stored row of a raw token."""
    return db.session.scalar(select(ApiToken).where(ApiToken.prefix == raw[:10]))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer itk_wrong"},
                                     {"Authorization": "Basic ZGlzcGF0Y2hlcjpwdw=="}, {"Authorization": "wrong"}])
def test_staff_api_without_a_valid_token_is_401(client, world, headers):
    """No token or a bad one: 401 with a Bearer challenge."""
    response = client.get("/api/v1/staff/cases", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize("change", ["expires_at", "revoked_at"])
def test_expired_or_revoked_token_is_401(client, world, create_token, change):
    """A token past its expiry, or revoked, no longer works."""
    raw = create_token(world.handler)
    assert client.get("/api/v1/staff/cases", headers=bearer(raw)).status_code == 200
    setattr(_token_row(raw), change, utcnow() - timedelta(minutes=1))
    db.session.commit()
    response = client.get("/api/v1/staff/cases", headers=bearer(raw))
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_token_of_a_disabled_account_is_401(client, world, create_token):
    """Disabling a user disables their tokens."""
    raw = create_token(world.handler)
    world.handler.active = False
    db.session.commit()
    assert client.get("/api/v1/staff/cases", headers=bearer(raw)).status_code == 401


def test_token_use_is_recorded(client, world, create_token):
    """The token's last use is committed, so operators can spot stale tokens."""
    raw = create_token(world.handler)
    assert _token_row(raw).last_used_at is None
    client.get("/api/v1/staff/cases", headers=bearer(raw))
    assert _token_row(raw).last_used_at is not None


def test_staff_api_ignores_a_logged_in_session(client, create_case, create_token, world, login):
    """The API is exempt from CSRF, so a browser's login cookie must not authenticate it."""
    case, _ = create_case("assigned")
    login(client, "handler")
    assert client.get("/api/v1/staff/cases").status_code == 401
    assert client.post(f"/api/v1/staff/cases/{case.number}/accept", json={}).status_code == 401
    view = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(create_token(world.handler)))
    assert view.get_json()["status"] == "assigned"


def test_staff_api_sets_no_session_cookie(client, world, tokens):
    """The API authenticates per request; it never opens a login session."""
    response = client.get("/api/v1/staff/cases", headers=bearer(tokens["handler"]))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


# --- staff: status codes --------------------------------------------------------------------

def test_handler_may_not_dispatch_or_review(client, create_case, tokens):
    """403: the handler role does not allow dispatch or review."""
    assigned, _ = create_case("assigned")
    pending, _ = create_case("pending_review")
    response = act(client, tokens["handler"], assigned.number, "dispatch", {"department": "transport"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert act(client, tokens["handler"], pending.number, "review",
               {"decision": "approve", "publish": True}).status_code == 403


def test_nobody_approves_their_own_draft(client, world, create_user, create_token, create_case):
    """403: a user holding handler and reviewer cannot review the draft they wrote."""
    both = create_user("handler", "reviewer", department=world.housing)
    token = create_token(both)
    case, _ = create_case("assigned")
    assert act(client, token, case.number, "accept").status_code == 200
    assert act(client, token, case.number, "reply", {"text": "答复"}).status_code == 200
    view = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(token)).get_json()
    assert "review" not in view["actions"]
    response = act(client, token, case.number, "review", {"decision": "approve", "publish": True})
    assert response.status_code == 403
    assert client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(token)).get_json()["status"] == \
        "pending_review"


def test_other_departments_cases_are_404(client, world, create_case, tokens):
    """404: a handler or reviewer cannot see, or act on, another department's case."""
    housing, _ = create_case("handling")
    transport, _ = create_case("handling", department=world.transport)
    for who, number in (("handler", transport.number), ("other_handler", housing.number),
                        ("reviewer", transport.number), ("other_reviewer", housing.number)):
        assert client.get(f"/api/v1/staff/cases/{number}", headers=bearer(tokens[who])).status_code == 404
        assert act(client, tokens[who], number, "reply", {"text": "越权答复"}).status_code == 404
    assert client.get(f"/api/v1/staff/cases/{housing.number}", headers=bearer(tokens["handler"])).status_code == 200


def test_unknown_number_and_unknown_action_are_404(client, create_case, tokens):
    """404 for a number that does not exist and for an action that does not exist."""
    case, _ = create_case("handling")
    assert client.get("/api/v1/staff/cases/2099010100001", headers=bearer(tokens["handler"])).status_code == 404
    assert act(client, tokens["handler"], "2099010100001", "accept").status_code == 404
    assert act(client, tokens["handler"], case.number, "approve").status_code == 404


def test_dispatcher_cannot_see_assigned_cases(client, create_case, tokens):
    """404: once routed, a case belongs to its department."""
    case, _ = create_case("assigned")
    assert client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["dispatcher"])).status_code == 404


@pytest.mark.parametrize("status, who, action, body", [
    ("replied", "handler", "accept", {}),
    ("assigned", "handler", "reply", {"text": "答复"}),
    ("handling", "reviewer", "review", {"decision": "approve", "publish": True}),
    ("declined", "handler", "transfer", {"reason": "不属于本部门"}),
])
def test_action_the_status_does_not_allow_is_409(client, create_case, tokens, status, who, action, body):
    """409: the right person, the wrong moment."""
    case, _ = create_case(status)
    response = act(client, tokens[who], case.number, action, body)
    assert response.status_code == 409
    assert response.get_json()["error"] == "conflict"


@pytest.mark.parametrize("status, action, body, field", [
    ("handling", "reply", {}, "text"),
    ("handling", "reply", {"text": "   "}, "text"),
    ("handling", "reply", {"text": 42}, "text"),
    ("handling", "transfer", {}, "reason"),
    ("handling", "decline", {"reason": "bored"}, "reason"),
    ("submitted", "dispatch", {}, "department"),
    ("submitted", "dispatch", {"department": "nowhere"}, "department"),
    ("pending_review", "review", {"decision": "maybe"}, "decision"),
    ("pending_review", "review", {"decision": "return"}, "comment"),
    ("pending_review", "review", {"decision": "approve", "publish": "yes"}, "publish"),
])
def test_invalid_action_body_is_400_naming_the_field(client, create_case, tokens, status, action, body, field):
    """400 with the API's field name, and nothing changes."""
    case, _ = create_case(status)
    who = {"submitted": "dispatcher", "pending_review": "reviewer"}.get(status, "handler")
    response = act(client, tokens[who], case.number, action, body)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["fields"]
    view = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens[who])).get_json()
    assert view["status"] == status


@pytest.mark.parametrize("data", ["{broken", "[]", "null"])
def test_action_body_must_be_a_json_object(client, create_case, tokens, data):
    """A malformed or non-object body is a 400."""
    case, _ = create_case("assigned")
    response = client.post(f"/api/v1/staff/cases/{case.number}/accept", data=data,
                           content_type="application/json", headers=bearer(tokens["handler"]))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"


def test_accept_needs_no_body(client, create_case, tokens):
    """An action without fields may be sent with an empty body."""
    case, _ = create_case("assigned")
    response = client.post(f"/api/v1/staff/cases/{case.number}/accept", headers=bearer(tokens["handler"]))
    assert response.status_code == 200
    assert response.get_json()["status"] == "handling"


# --- staff: views and workflow --------------------------------------------------------------

def test_staff_case_view_shows_private_fields_timeline_and_actions(client, world, create_case, tokens, png_bytes):
    """Staff see everything: contact details, internal notes with their author, attachments, actions."""
    case, _ = create_case("assigned", uploads=[Upload("photo.png", png_bytes())])
    response = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["handler"]))
    assert response.status_code == 200
    view = response.get_json()
    assert (view["name"], view["phone"], view["email"]) == ("张三", PHONE, EMAIL)
    assert sorted(view["actions"]) == ["accept", "decline", "transfer"]
    dispatch = view["events"][-1]
    assert dispatch["action"] == "dispatch" and dispatch["actor"]["username"] == "dispatcher"
    assert dispatch["note"] == "市住房和城乡建设局"  # internal note
    assert dispatch["public_note"]
    [attachment] = view["attachments"]
    assert attachment["filename"] == "photo.png" and attachment["content_type"] == "image/png"
    assert "stored_name" not in attachment
    assert view["light"] in ("ok", "soon") and isinstance(view["days_left"], int)


def test_returned_draft_goes_back_to_the_handler_with_its_text(client, create_case, tokens):
    """review decision=return: back to handling, the draft text kept for revision."""
    case, _ = create_case("pending_review")
    response = act(client, tokens["reviewer"], case.number, "review", {"decision": "return", "comment": "请补充依据"})
    assert response.status_code == 200
    view = response.get_json()
    assert view["status"] == "handling"
    assert view["draft"]["text"] == "经核实，符合条件的可以申请。" and view["draft"]["kind"] is None
    handler_view = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["handler"])).get_json()
    assert "reply" in handler_view["actions"]


def test_decline_is_approved_by_a_reviewer_and_never_published(client, create_case, tokens):
    """decline → review approve: declined, with the reason; not a public record."""
    case, code = create_case("handling")
    response = act(client, tokens["handler"], case.number, "decline",
                   {"reason": "duplicate", "explanation": "与此前来信重复。"})
    assert response.status_code == 200
    assert response.get_json()["draft"]["reason"]["code"] == "duplicate"
    response = act(client, tokens["reviewer"], case.number, "review", {"decision": "approve", "publish": True})
    assert response.get_json()["status"] == "declined"
    assert record_numbers(client) == []
    mine = follow(client, case.number, code).get_json()
    assert mine["status"] == "declined"
    assert mine["reply"]["decline_reason"]["code"] == "duplicate"


def test_transfer_returns_the_case_to_dispatch_and_keeps_the_due_date(client, world, create_case, tokens):
    """transfer: back to submitted with the reason; a dispatcher re-routes it; the deadline stays."""
    case, _ = create_case("handling")
    before = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["handler"])).get_json()
    response = act(client, tokens["handler"], case.number, "transfer", {"reason": "属于交通部门职责"})
    assert response.status_code == 200
    moved = response.get_json()
    assert moved["status"] == "submitted" and moved["department"] is None
    assert moved["transfer_count"] == 1 and moved["last_transfer_reason"] == "属于交通部门职责"
    assert client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["handler"])).status_code == 404

    queue = client.get("/api/v1/staff/cases", headers=bearer(tokens["dispatcher"])).get_json()
    assert case.number in [item["number"] for item in queue["items"]]
    response = act(client, tokens["dispatcher"], case.number, "dispatch", {"department": "transport"})
    assert response.status_code == 200
    rerouted = client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(tokens["other_handler"])).get_json()
    assert rerouted["status"] == "assigned" and rerouted["department"]["code"] == "transport"
    assert (rerouted["due_at"], rerouted["due_date"]) == (before["due_at"], before["due_date"])


def test_staff_list_shows_only_visible_cases_with_deadline_lights(client, world, create_case, tokens):
    """Each list holds only the cases its user may see, soonest deadline first, with a light."""
    housing, _ = create_case("handling")
    transport, _ = create_case("assigned", department=world.transport)
    waiting, _ = create_case("submitted")
    listed = {
        who: [i["number"] for i in client.get("/api/v1/staff/cases", headers=bearer(tokens[who])).get_json()["items"]]
        for who in ("handler", "other_handler", "dispatcher", "auditor")
    }
    assert listed == {"handler": [housing.number], "other_handler": [transport.number],
                      "dispatcher": [waiting.number], "auditor": []}
    item = client.get("/api/v1/staff/cases", headers=bearer(tokens["handler"])).get_json()["items"][0]
    assert set(item) >= {"number", "kind", "status", "department", "title", "due_at", "due_date", "light",
                         "days_left"}
    assert item["light"] in ("ok", "soon")


def test_overdue_case_shows_the_overdue_light(client, create_case, tokens, aware):
    """A case past its deadline is flagged overdue with negative days left."""
    create_case("handling", submitted_at=aware(2024, 3, 1, 2, 0))
    [item] = client.get("/api/v1/staff/cases", headers=bearer(tokens["handler"])).get_json()["items"]
    assert item["light"] == "overdue" and item["days_left"] < 0
    assert item["due_date"] == "2024-03-06"


def test_staff_list_filters_and_rejects_bad_parameters(client, create_case, tokens):
    """status filters the list; an unknown status or bad paging is a 400."""
    handling, _ = create_case("handling")
    create_case("assigned")
    response = client.get("/api/v1/staff/cases?status=handling", headers=bearer(tokens["handler"]))
    assert [i["number"] for i in response.get_json()["items"]] == [handling.number]
    for query in ("status=open", "page=0", "per_page=101"):
        response = client.get(f"/api/v1/staff/cases?{query}", headers=bearer(tokens["handler"]))
        assert response.status_code == 400, query


def test_api_errors_are_json_never_html(client, world, tokens):
    """Unknown paths and wrong methods under /api/ answer in the error shape."""
    for response in (client.get("/api/v1/nothing"), client.delete("/api/v1/cases"),
                     client.put("/api/v1/staff/cases/1/accept", headers=bearer(tokens["handler"]))):
        assert response.status_code in (404, 405)
        body = json.loads(response.get_data(as_text=True))
        assert set(body) >= {"error", "message"}
