"""Supervision (督办): the dispatchers' overdue board across departments, in working days late,
and urging a case, recorded in the timeline, notified to the department and shown in its queue."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from interact.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from interact.domain.db import db
from interact.domain.models import AuditEntry, Case, CaseEvent, OutboxMessage
from interact.services import calendar, deadlines, supervision
from interact.domain.workdays import local_date
from interact.services import extensions

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def national_day(create_case, mailed, at):
    """Cases around the 2025 National Day, due dates worked out by hand from the State Council
    notice (tests/data/cn-holiday-notices.json): 09-28 is a make-up Sunday, 10-01..10-08 off."""
    made = {
        "due_0928": create_case("handling", submitted_at=at(2025, 9, 24, 10))[0],
        "due_0930": create_case("assigned", submitted_at=at(2025, 9, 26, 10))[0],
        "due_1009_transport": create_case("handling", department=mailed.transport, submitted_at=at(2025, 9, 28, 10))[0],
        "due_1009_unassigned": create_case("submitted", submitted_at=at(2025, 9, 28, 10))[0],
        "due_1011": create_case("handling", submitted_at=at(2025, 9, 30, 10))[0],
        "answered_late": create_case("replied", submitted_at=at(2025, 9, 24, 10))[0],
    }
    expected = {"due_0928": date(2025, 9, 28), "due_0930": date(2025, 9, 30), "due_1009_transport": date(2025, 10, 9),
                "due_1009_unassigned": date(2025, 10, 9), "due_1011": date(2025, 10, 11),
                "answered_late": date(2025, 9, 28)}
    for name, case in made.items():
        assert local_date(case.due_at) == expected[name], name
    return made


# --- the overdue board -----------------------------------------------------------------------

def test_overdue_board_lists_exactly_the_overdue_cases_in_working_days_late(national_day, at):
    """On 2025-10-10: due 09-28 is 4 working days late (09-29, 09-30, 10-09, 10-10), due 09-30 is
    2, due 10-09 is 1 (in any department, or none); due 10-11 is not late; answered cases are not listed."""
    page, rows = supervision.overdue_board(now=at(2025, 10, 10, 10))
    late = {row.case.number: row.deadline.days_late for row in rows}
    c = national_day
    assert late == {c["due_0928"].number: 4, c["due_0930"].number: 2, c["due_1009_transport"].number: 1,
                    c["due_1009_unassigned"].number: 1}
    assert page.total == 4
    assert [row.case.number for row in rows][:2] == [c["due_0928"].number, c["due_0930"].number]
    handlers = {row.case.number: row.handler for row in rows}
    assert handlers[c["due_0928"].number].username == "handler"
    assert handlers[c["due_0930"].number] is None  # assigned, not yet taken on
    assert handlers[c["due_1009_transport"].number].username == "other-handler"


def test_during_a_holiday_no_working_day_is_added(national_day, at):
    """On 2025-10-05 (holiday), a case due 09-30 is overdue but still 0 working days late, and one
    due 09-28 is 2 (09-29, 09-30)."""
    _page, rows = supervision.overdue_board(now=at(2025, 10, 5, 10))
    late = {row.case.number: row.deadline.days_late for row in rows}
    assert late == {national_day["due_0928"].number: 2, national_day["due_0930"].number: 0}


def test_requests_on_answered_cases_are_not_left_on_the_board(create_case, mailed):
    case, _code = create_case("handling")
    extensions.request_extension(mailed.handler, case, 2, "理由。")
    db.session.commit()
    assert [p.case.number for p in supervision.pending_extensions()] == [case.number]
    from interact.services import cases as case_service

    case_service.draft_reply(mailed.handler, case, "答复。")
    case_service.review_draft(mailed.reviewer, case, "approve")
    db.session.commit()
    assert supervision.pending_extensions() == []


def test_overdue_board_page_shows_departments_handlers_and_days_late(client, national_day, login):
    login(client, "dispatcher")
    html = client.get("/staff/overdue").get_data(as_text=True)
    cal, c = calendar.current_calendar(), national_day
    for name in ("due_0928", "due_0930", "due_1009_transport", "due_1009_unassigned", "due_1011"):
        case = db.session.get(Case, c[name].id)
        assert case.number in html, name
        late = deadlines.case_deadline(case, cal).days_late
        row = html[html.index(f'data-number="{case.number}"'):]
        row = row[:row.index("</tr>")]
        assert f"{late} 个工作日" in row
    assert c["answered_late"].number not in html
    assert "市交通运输局" in html and "市住房和城乡建设局" in html


def test_overdue_board_runs_a_fixed_number_of_queries(client, create_case, mailed, at, counted, login):
    login(client, "dispatcher")
    create_case("handling", submitted_at=at(2025, 9, 24, 10))
    extensions.request_extension(mailed.handler, create_case("handling")[0], 2, "理由。")
    db.session.commit()
    with counted() as few:
        assert client.get("/staff/overdue").status_code == 200
    for department in (mailed.transport, mailed.housing, mailed.transport):
        for status in ("assigned", "handling"):
            create_case(status, department=department, submitted_at=at(2025, 9, 26, 10))
    for _ in range(3):
        extensions.request_extension(mailed.handler, create_case("handling")[0], 2, "理由。")
    db.session.commit()
    with counted() as many:
        assert client.get("/staff/overdue").status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize("who", ["handler", "reviewer", "admin", "auditor"])
def test_only_dispatchers_see_the_board(client, mailed, who, login):
    login(client, who)
    assert client.get("/staff/overdue").status_code == 403


def test_the_board_is_in_the_dispatchers_navigation(client, mailed, login):
    login(client, "dispatcher")
    assert 'href="/staff/overdue"' in client.get("/staff/").get_data(as_text=True)


# --- urging ----------------------------------------------------------------------------------

def test_urge_is_recorded_counted_audited_and_notified(national_day, mailed, at):
    case = national_day["due_0930"]
    supervision.urge(mailed.dispatcher, case.number, "请于今日内答复。", now=at(2025, 10, 10, 10))
    db.session.commit()
    assert case.urge_count == 1 and case.last_urged_at == at(2025, 10, 10, 10)
    event_row = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "urge"))
    assert not event_row.public and "请于今日内答复" in event_row.note
    assert event_row.actor_id == mailed.dispatcher.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.urge"))
    assert entry.object_id == case.number and entry.username == "dispatcher"
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "case_urged")).all()
    assert {m.recipient for m in mails} == {mailed.handler.email, mailed.reviewer.email}
    assert all("请于今日内答复" in m.text_body and "超期 2 个工作日" in m.text_body for m in mails)

    supervision.urge(mailed.dispatcher, case.number, "再次督办。", now=at(2025, 10, 11, 10))
    db.session.commit()
    assert case.urge_count == 2
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "case_urged")).all()) == 4


def test_urge_refusals(national_day, create_case, mailed):
    c = national_day
    with pytest.raises(Forbidden):
        supervision.urge(mailed.handler, c["due_0930"].number, "自己督办？")
    with pytest.raises(ValidationFailed):
        supervision.urge(mailed.dispatcher, c["due_0930"].number, " ")
    with pytest.raises(ValidationFailed):
        supervision.urge(mailed.dispatcher, c["due_0930"].number, "长" * 1001)
    with pytest.raises(Conflict):  # no department yet: dispatch it instead
        supervision.urge(mailed.dispatcher, c["due_1009_unassigned"].number, "请办理。")
    with pytest.raises(NotFound):  # answered: out of the dispatcher's sight
        supervision.urge(mailed.dispatcher, c["answered_late"].number, "请办理。")
    on_time, _code = create_case("handling")
    with pytest.raises(NotFound):
        supervision.urge(mailed.dispatcher, on_time.number, "请办理。")
    extensions.request_extension(mailed.handler, on_time, 2, "理由。")
    with pytest.raises(Conflict):  # visible while its extension waits, but not late
        supervision.urge(mailed.dispatcher, on_time.number, "请办理。")
    db.session.rollback()
    assert db.session.get(Case, c["due_0930"].id).urge_count == 0


def test_urges_show_in_the_department_queue_and_on_the_case_page(client, app, national_day, mailed, login, post_form):
    case = national_day["due_0930"]
    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    response = post_form(dispatcher, f"/staff/cases/{case.number}/urge", {"note": "请尽快答复群众。", "return_to": "board"},
                         form_url="/staff/overdue")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/overdue")
    board = dispatcher.get("/staff/overdue").get_data(as_text=True)
    assert "已督办 ×1" in board

    login(client, "handler")
    queue = client.get("/staff/").get_data(as_text=True)
    row = queue[queue.index(f">{case.number}</a>"):]
    assert "已督办 ×1" in row[:row.index("</tr>")]
    other = national_day["due_0928"].number
    other_row = queue[queue.index(f">{other}</a>"):]
    assert "已督办" not in other_row[:other_row.index("</tr>")]
    page = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "已督办 ×1" in page and "请尽快答复群众" in page


def test_dispatcher_urges_from_the_case_page(app, national_day, mailed, login, post_form):
    case = national_day["due_0930"]
    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    page = dispatcher.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert f'action="/staff/cases/{case.number}/urge"' in page
    response = post_form(dispatcher, f"/staff/cases/{case.number}/urge", {"note": "请今日答复。"},
                         form_url=f"/staff/cases/{case.number}")
    assert response.status_code == 302 and f"/staff/cases/{case.number}" in response.headers["Location"]
    assert db.session.get(Case, case.id).urge_count == 1
    # Handlers get no urge form.
    handler = app.test_client()
    login(handler, "handler")
    assert "/urge" not in handler.get(f"/staff/cases/{case.number}").get_data(as_text=True)


def test_urge_from_the_case_page_refused_is_explained(app, national_day, mailed, login, post_form):
    case = national_day["due_0930"]
    dispatcher = app.test_client()
    login(dispatcher, "dispatcher")
    response = post_form(dispatcher, f"/staff/cases/{case.number}/urge", {"note": ""},
                         form_url=f"/staff/cases/{case.number}", follow_redirects=True)
    assert "请填写督办意见" in response.get_data(as_text=True)
    assert db.session.get(Case, case.id).urge_count == 0
    refused = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.urge"))
    assert refused.outcome == "failure"


def test_other_departments_still_cannot_see_an_overdue_case(client, national_day, mailed, create_token):
    case = national_day["due_0930"]
    for who in (mailed.other_handler, mailed.other_reviewer):
        headers = {"Authorization": f"Bearer {create_token(who)}"}
        assert client.get(f"/api/v1/staff/cases/{case.number}", headers=headers).status_code == 404
        assert client.post(f"/api/v1/staff/cases/{case.number}/urge", json={"note": "督办"},
                           headers=headers).status_code == 404


def test_urge_through_the_api(client, national_day, mailed, create_token, create_case):
    case = national_day["due_0930"]
    url = f"/api/v1/staff/cases/{case.number}/urge"
    dispatcher = {"Authorization": f"Bearer {create_token(mailed.dispatcher)}"}
    handler = {"Authorization": f"Bearer {create_token(mailed.handler)}"}
    assert client.post(url, json={"note": "督办"}).status_code == 401
    assert client.post(url, json={"note": "督办"}, headers=handler).status_code == 403
    assert client.post(url, json={"note": 3}, headers=dispatcher).status_code == 400
    assert client.post(url, json={}, headers=dispatcher).status_code == 400
    unassigned = national_day["due_1009_unassigned"].number
    assert client.post(f"/api/v1/staff/cases/{unassigned}/urge", json={"note": "督办"},
                       headers=dispatcher).status_code == 409
    on_time, _code = create_case("handling")
    assert client.post(f"/api/v1/staff/cases/{on_time.number}/urge", json={"note": "督办"},
                       headers=dispatcher).status_code == 404
    done = client.post(url, json={"note": "请于今日内答复。"}, headers=dispatcher)
    assert done.status_code == 200, done.get_json()
    view = done.get_json()
    assert view["urge_count"] == 1 and view["last_urged_at"]
    assert view["events"][-1]["action"] == "urge" and view["events"][-1]["public"] is False
    # The dispatcher may read the overdue case too.
    assert client.get(f"/api/v1/staff/cases/{case.number}", headers=dispatcher).status_code == 200
