"""Extensions (延期): a handler asks before the deadline, a dispatcher decides; on approval the
deadline moves N working days from the old due date, the case shows both deadlines, the public
record marks it extended, and on-time is judged against the extended deadline."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from interact.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from interact.domain.db import db
from interact.domain.models import AuditEntry, Case, CaseEvent, ExtensionRequest, OutboxMessage
from interact.services import cases as case_service
from interact.domain.workdays import local_date
from interact.services import access
from interact.services import extensions
from interact.services import overrides

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITIZEN = "zhangsan@example.com"


@pytest.fixture
def national_day_case(create_case, mailed, at):
    """A housing case in handling, submitted Friday 2025-09-26, due Tuesday 2025-09-30."""
    case, code = create_case("handling", submitted_at=at(2025, 9, 26, 10))
    assert local_date(case.due_at) == date(2025, 9, 30)
    case.code = code
    return case


def outbox(template: str) -> list[OutboxMessage]:
    """Queued mails of `template`."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)))


# --- the deadline moves by working days --------------------------------------------------------

def test_extension_moves_the_deadline_by_working_days_from_the_old_due_date(national_day_case, mailed, at):
    """Due 2025-09-30 + 3 working days: 10-01..10-08 are off, so 10-09, 10-10 and the make-up
    Saturday 10-11 (from tests/data/cn-holiday-notices.json)."""
    case, world = national_day_case, mailed
    original = case.due_at
    extensions.request_extension(world.handler, case, 3, "需会同规划部门现场核查。", now=at(2025, 9, 29))
    db.session.commit()
    request = db.session.scalar(select(ExtensionRequest))
    assert (request.status, request.days, request.old_due_at) == ("pending", 3, original)
    assert case.due_at == original  # nothing moves before the decision

    extensions.decide_extension(world.dispatcher, case, "approve", "同意。", now=at(2025, 9, 29, 15))
    db.session.commit()
    assert case.due_at == at(2025, 10, 11, 23, 59).replace(second=59)
    assert case.original_due_at == original
    assert (case.extension_days, case.extension_count) == (3, 1)
    assert (request.status, request.old_due_at, request.new_due_at) == ("approved", original, case.due_at)
    assert request.decided_by_id == world.dispatcher.id and request.comment == "同意。"


def test_a_second_extension_counts_from_the_extended_date(national_day_case, mailed, at):
    case, world = national_day_case, mailed
    for days, now in ((3, at(2025, 9, 29)), (1, at(2025, 10, 10))):
        extensions.request_extension(world.handler, case, days, "仍需核查。", now=now)
        extensions.decide_extension(world.dispatcher, case, "approve", now=now)
    db.session.commit()
    assert local_date(case.due_at) == date(2025, 10, 13)  # 10-11 + 1: Sunday 10-12 is off
    assert (case.extension_days, case.extension_count) == (4, 2)
    assert local_date(case.original_due_at) == date(2025, 9, 30)


def test_extension_survives_a_calendar_recompute(national_day_case, mailed, at):
    """Recomputing open deadlines after a calendar change keeps the extension days."""

    case, world = national_day_case, mailed
    extensions.request_extension(world.handler, case, 3, "需要核查。", now=at(2025, 9, 29))
    extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 9, 29))
    overrides.set_override(date(2025, 10, 10), False, "测试：临时休息", actor=world.admin)
    db.session.commit()
    db.session.refresh(case)
    assert local_date(case.due_at) == date(2025, 10, 13)
    assert local_date(case.original_due_at) == date(2025, 9, 30)


def test_the_request_and_the_decision_are_in_the_timeline_and_audited(national_day_case, mailed, at):
    case, world = national_day_case, mailed
    extensions.request_extension(world.handler, case, 3, "需会同规划部门现场核查。", now=at(2025, 9, 29))
    extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 9, 29))
    db.session.commit()
    events = {e.action: e for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    asked, approved = events["extension_request"], events["extension_approve"]
    assert not asked.public and "需会同规划部门现场核查" in asked.note
    assert approved.public and approved.public_note == "已延期至 2025-10-11"
    assert asked.to_status == approved.to_status == "handling"
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == case.number))]
    assert "case.request_extension" in actions and "case.decide_extension" in actions


def test_who_is_told_about_an_extension(national_day_case, mailed, at):
    """Dispatchers hear of the request; the handlers of the decision; the citizen of the grant."""
    case, world = national_day_case, mailed
    extensions.request_extension(world.handler, case, 3, "需会同规划部门现场核查。", now=at(2025, 9, 29))
    db.session.commit()
    [asked] = outbox("extension_requested")
    assert asked.recipient == world.dispatcher.email
    assert case.number in asked.subject and "需会同规划部门现场核查" in asked.text_body

    extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 9, 29))
    db.session.commit()
    assert {m.recipient for m in outbox("extension_decided")} == {world.handler.email}
    [granted] = outbox("extension_granted")
    assert granted.recipient == CITIZEN
    assert "2025-10-11" in granted.text_body and "需会同规划部门现场核查" in granted.text_body
    # The citizen's mail names no staff member and carries no other citizen's data.
    assert world.handler.username not in granted.text_body


def test_deny_leaves_the_deadline(national_day_case, mailed, at):
    case, world = national_day_case, mailed
    original = case.due_at
    extensions.request_extension(world.handler, case, 3, "需要核查。", now=at(2025, 9, 29))
    extensions.decide_extension(world.dispatcher, case, "deny", "期限内可以办结。", now=at(2025, 9, 29))
    db.session.commit()
    assert case.due_at == original and (case.extension_days, case.extension_count) == (0, 0)
    request = db.session.scalar(select(ExtensionRequest))
    assert request.status == "denied" and request.new_due_at is None
    assert outbox("extension_granted") == []
    [told] = outbox("extension_decided")
    assert told.recipient == world.handler.email and "未获批准" in told.subject
    denied = db.session.scalar(select(CaseEvent).where(CaseEvent.action == "extension_deny"))
    assert not denied.public
    # After a denial the handler may ask again.
    extensions.request_extension(world.handler, case, 1, "新情况。", now=at(2025, 9, 29, 16))


# --- refusals --------------------------------------------------------------------------------

def test_extension_is_refused_after_the_deadline(national_day_case, mailed, at):
    with pytest.raises(Conflict):
        extensions.request_extension(mailed.handler, national_day_case, 3, "来不及了。", now=at(2025, 10, 1))


def test_extension_at_the_last_second_is_still_in_time(national_day_case, mailed, at):
    extensions.request_extension(mailed.handler, national_day_case, 1, "最后一刻。",
                                now=at(2025, 9, 30, 23, 59).replace(second=59))


@pytest.mark.parametrize("who, error", [("reviewer", Forbidden), ("dispatcher", Forbidden),
                                        ("other_handler", NotFound), ("admin", NotFound)])
def test_only_a_handler_of_the_department_may_ask(national_day_case, mailed, who, error, at):
    with pytest.raises(error):
        extensions.request_extension(getattr(mailed, who), national_day_case.number, 3, "理由。", now=at(2025, 9, 29))


def test_only_one_request_may_wait(national_day_case, mailed, at):
    extensions.request_extension(mailed.handler, national_day_case, 3, "理由。", now=at(2025, 9, 29))
    with pytest.raises(Conflict):
        extensions.request_extension(mailed.handler, national_day_case, 2, "再申请。", now=at(2025, 9, 29))


@pytest.mark.parametrize("days", [0, 16, -1, "abc", True, 2.5, None])
def test_days_must_be_between_1_and_15(national_day_case, mailed, days, at):
    with pytest.raises(ValidationFailed) as refused:
        extensions.request_extension(mailed.handler, national_day_case, days, "理由。", now=at(2025, 9, 29))
    assert "days" in refused.value.fields


def test_a_reason_is_required(national_day_case, mailed, at):
    with pytest.raises(ValidationFailed) as refused:
        extensions.request_extension(mailed.handler, national_day_case, 3, "  ", now=at(2025, 9, 29))
    assert "reason" in refused.value.fields


@pytest.mark.parametrize("status", ["pending_review", "replied"])
def test_no_extension_once_the_draft_is_written(create_case, mailed, status):
    case, _code = create_case(status)
    with pytest.raises(Conflict):
        extensions.request_extension(mailed.handler, case, 3, "理由。")


def test_only_a_dispatcher_decides(national_day_case, mailed, at):
    extensions.request_extension(mailed.handler, national_day_case, 3, "理由。", now=at(2025, 9, 29))
    for user in (mailed.handler, mailed.reviewer):
        with pytest.raises(Forbidden):
            extensions.decide_extension(user, national_day_case, "approve", now=at(2025, 9, 29))
    with pytest.raises(ValidationFailed):
        extensions.decide_extension(mailed.dispatcher, national_day_case, "maybe", now=at(2025, 9, 29))


def test_nothing_to_decide_without_a_pending_request(create_case, mailed, at):
    case, _code = create_case("handling")
    # The dispatcher cannot even see a case on time with nothing pending.
    with pytest.raises(NotFound):
        extensions.decide_extension(mailed.dispatcher, case.number, "approve")
    overdue, _code = create_case("handling", submitted_at=at(2025, 9, 26))
    with pytest.raises(Conflict):
        extensions.decide_extension(mailed.dispatcher, overdue.number, "approve")


# --- visibility ------------------------------------------------------------------------------

def test_dispatcher_sees_a_case_while_its_extension_waits(create_case, mailed):
    case, _code = create_case("handling")
    assert not access.can_view(mailed.dispatcher, case)
    extensions.request_extension(mailed.handler, case, 3, "理由。")
    db.session.commit()
    assert access.can_view(mailed.dispatcher, case)
    extensions.decide_extension(mailed.dispatcher, case, "deny")
    db.session.commit()
    assert not access.can_view(mailed.dispatcher, case)
    # Department isolation holds: the other department's staff still cannot see it.
    assert not access.can_view(mailed.other_handler, case)
    assert not access.can_view(mailed.other_reviewer, case)


# --- on time, and what the public and the citizen see ----------------------------------------

def test_on_time_is_judged_against_the_extended_deadline(national_day_case, mailed, at):
    case, world = national_day_case, mailed
    extensions.request_extension(world.handler, case, 3, "需要核查。", now=at(2025, 9, 29))
    extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 9, 29))
    case_service.draft_reply(world.handler, case, "经核实，已处理。", now=at(2025, 10, 10))
    case_service.review_draft(world.reviewer, case, "approve", publish=True, now=at(2025, 10, 10, 11))
    db.session.commit()
    assert case.on_time is True  # after the original 09-30, before the extended 10-11
    assert case.extension_count == 1  # kept for the statistics


@pytest.fixture
def publish_extended(at):
    """publish_extended(case, world): extend the case by 3 working days, then answer and publish it after the original deadline."""

    def publish_extended(case, world):
        """Extend the case by 3 working days, then answer and publish it after the original deadline."""
        extensions.request_extension(world.handler, case, 3, "需要核查。", now=at(2025, 9, 29))
        extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 9, 29))
        case_service.draft_reply(world.handler, case, "经核实，已处理。", now=at(2025, 10, 9))
        case_service.review_draft(world.reviewer, case, "approve", publish=True, now=at(2025, 10, 9, 11))
        db.session.commit()

    return publish_extended


def test_public_record_marks_the_case_extended(client, national_day_case, mailed, create_case, publish_extended):
    case = national_day_case
    publish_extended(case, mailed)
    plain, _code = create_case("replied")
    record = client.get(f"/api/v1/records/{case.number}").get_json()
    assert (record["extended"], record["extension_days"]) == (True, 3)
    assert (record["original_due_date"], record["due_date"]) == ("2025-09-30", "2025-10-11")
    assert record["on_time"] is True
    other = client.get(f"/api/v1/records/{plain.number}").get_json()
    assert other["extended"] is False and other["original_due_date"] == other["due_date"]

    page = client.get(f"/records/{case.number}").get_data(as_text=True)
    assert "已延期" in page and "2025-10-11" in page and "2025-09-30" in page
    assert "经批准延期3个工作日" in page
    listing = client.get("/records").get_data(as_text=True)
    row = listing[listing.index(f"/records/{case.number}"):]
    row = row[:row.index("</tr>")]
    assert "已延期" in row
    plain_row = listing[listing.index(f"/records/{plain.number}"):]
    assert "已延期" not in plain_row[:plain_row.index("</tr>")]


def test_citizen_query_page_shows_the_original_and_the_extended_deadline(client, national_day_case, mailed, at, post_form):
    case = national_day_case
    extensions.request_extension(mailed.handler, case, 3, "需要核查。", now=at(2025, 9, 29))
    extensions.decide_extension(mailed.dispatcher, case, "approve", now=at(2025, 9, 29))
    db.session.commit()
    page = post_form(client, "/cases/query", {"number": case.number, "code": case.code}).get_data(as_text=True)
    assert "2025-10-11" in page and "2025-09-30" in page and "已延期" in page
    assert "已延期至 2025-10-11" in page  # the public timeline note
    assert "需要核查" not in page  # the request is an internal timeline entry
    view = client.get(f"/api/v1/cases/{case.number}", headers={"X-Query-Code": case.code}).get_json()
    assert (view["due_date"], view["original_due_date"], view["extended"]) == ("2025-10-11", "2025-09-30", True)
    assert "extension_request" not in [e["action"] for e in view["events"]]


# --- the staff pages and the API -------------------------------------------------------------

def test_handler_asks_and_dispatcher_approves_on_the_case_page(client, app, create_case, mailed, login, post_form):
    case, _code = create_case("handling")
    original = case.due_at
    login(client, "handler")
    page = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "申请延期" in page and f"/staff/cases/{case.number}/extension" in page
    response = post_form(client, f"/staff/cases/{case.number}/extension", {"days": "2", "reason": "需现场核查。"},
                         form_url=f"/staff/cases/{case.number}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(ExtensionRequest.status)) == "pending"
    # While it waits, the handler is not offered a second request.
    assert f"/staff/cases/{case.number}/extension\"" not in client.get(f"/staff/cases/{case.number}").get_data(
        as_text=True)

    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    board = dispatcher.get("/staff/overdue").get_data(as_text=True)
    assert case.number in board and "需现场核查" in board
    page = dispatcher.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "审批延期申请" in page
    response = post_form(dispatcher, f"/staff/cases/{case.number}/extension/decide",
                         {"decision": "approve", "comment": "同意"}, form_url=f"/staff/cases/{case.number}")
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.extension_count == 1 and case.due_at > original
    page = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "原定期限" in page and "已延期" in page
    # Once decided, and not overdue, the case is out of the dispatcher's sight again.
    assert dispatcher.get(f"/staff/cases/{case.number}").status_code == 404


def test_a_refused_request_on_the_page_is_explained(client, create_case, mailed, login, post_form):
    case, _code = create_case("handling")
    login(client, "handler")
    response = post_form(client, f"/staff/cases/{case.number}/extension", {"days": "99", "reason": "理由"},
                         form_url=f"/staff/cases/{case.number}", follow_redirects=True)
    assert "延期天数须为1到15之间的整数" in response.get_data(as_text=True)
    assert db.session.scalar(select(ExtensionRequest.id)) is None


def bearer(token: str) -> dict:
    """The Authorization header for a staff token."""
    return {"Authorization": f"Bearer {token}"}


def test_extension_through_the_api(client, create_case, create_token, mailed):
    case, _code = create_case("handling")
    handler, dispatcher = bearer(create_token(mailed.handler)), bearer(create_token(mailed.dispatcher))
    reviewer = bearer(create_token(mailed.reviewer))
    other = bearer(create_token(mailed.other_handler))
    url = f"/api/v1/staff/cases/{case.number}"

    assert client.post(f"{url}/request_extension", json={"days": 3, "reason": "理由"}).status_code == 401
    assert client.post(f"{url}/request_extension", json={"days": 3, "reason": "理由"},
                       headers=other).status_code == 404
    assert client.post(f"{url}/request_extension", json={"days": 3, "reason": "理由"},
                       headers=reviewer).status_code == 403
    bad = client.post(f"{url}/request_extension", json={"days": "three", "reason": "理由"}, headers=handler)
    assert bad.status_code == 400 and "days" in bad.get_json()["fields"]
    assert client.post(f"{url}/request_extension", json={"days": 3, "reason": 5},
                       headers=handler).status_code == 400
    assert client.post(f"{url}/request_extension", json={"days": 2.5, "reason": "理由"},
                       headers=handler).status_code == 400
    # 3.0 is the integer 3 to JSON Schema (and to the OpenAPI document): accepted as 3.
    asked = client.post(f"{url}/request_extension", json={"days": 3.0, "reason": "需现场核查"}, headers=handler)
    assert asked.status_code == 200, asked.get_json()
    assert asked.get_json()["extension_request"]["days"] == 3
    assert asked.get_json()["extension_request"]["requested_by"]["username"] == "handler"
    assert client.post(f"{url}/request_extension", json={"days": 1, "reason": "再次"},
                       headers=handler).status_code == 409

    assert client.post(f"{url}/decide_extension", json={"decision": "approve"}, headers=handler).status_code == 403
    assert client.post(f"{url}/decide_extension", json={"decision": "later"},
                       headers=dispatcher).status_code == 400
    decided = client.post(f"{url}/decide_extension", json={"decision": "approve", "comment": "同意"},
                          headers=dispatcher)
    assert decided.status_code == 200, decided.get_json()
    view = decided.get_json()
    assert view["extension_count"] == 1 and view["extension_days"] == 3 and view["extension_request"] is None
    assert view["due_date"] != view["original_due_date"]
    # Nothing pending any more, and the case is on time: the dispatcher no longer sees it.
    assert client.post(f"{url}/decide_extension", json={"decision": "approve"},
                       headers=dispatcher).status_code == 404


def test_extension_and_urge_answers_match_the_openapi_document(client, create_case, create_token, mailed, at, response_errors):
    """The answers of the three actions validate against the documented schemas."""
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/api/v1/staff/cases/{number}/{action}"
    handler, dispatcher = bearer(create_token(mailed.handler)), bearer(create_token(mailed.dispatcher))
    case, _code = create_case("handling")
    late, _code = create_case("handling", submitted_at=at(2025, 9, 26))
    errors = []
    for headers, number, action, body, status in (
        (handler, case.number, "request_extension", {"days": 0, "reason": "理由"}, 400),
        (handler, case.number, "request_extension", {"days": 3, "reason": "需现场核查"}, 200),
        (handler, case.number, "request_extension", {"days": 3, "reason": "再次"}, 409),
        (handler, case.number, "decide_extension", {"decision": "approve"}, 403),
        (dispatcher, case.number, "decide_extension", {"decision": "deny", "comment": "期限内可办结"}, 200),
        (dispatcher, late.number, "urge", {"note": "请于今日内答复。"}, 200),
        (handler, late.number, "urge", {"note": "督办"}, 403),
    ):
        response = client.post(f"/api/v1/staff/cases/{number}/{action}", json=body, headers=headers)
        assert response.status_code == status, (action, response.get_json())
        errors += response_errors(spec, path, "post", response)
    assert errors == []
    documented = spec["components"]["parameters"]["Action"]["schema"]["enum"]
    assert {"request_extension", "decide_extension", "urge"} <= set(documented)
    body_schemas = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/UrgeBody"} in body_schemas
