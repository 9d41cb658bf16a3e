"""Who is told what (issue 4, section 2): the citizen at their own address only, the
department's handlers and reviewers, the dispatchers; staff addresses and the choice of
immediate mail or a daily digest; and a new query code for a citizen who lost theirs.

Every mail goes through the real SMTP server of the `smtp` fixture."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fixtures.values import STAFF_EMAILS
from sqlalchemy import select

from interact.domain.db import db
from interact.domain.kinds import ERROR_TYPES
from interact.domain.models import AuditEntry, Case, DigestItem, OutboxMessage
from interact.services import cases as case_service
from interact.services import mail, notify
from interact.services.query_codes import reissue_query_code
from interact.services.tx import unit_of_work
from interact.domain.timeutil import utcnow

CITIZEN = "zhangsan@example.com"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def deliver(smtp) -> list:
    """Send everything due; return the messages this run delivered."""
    before = len(smtp.messages)
    report = mail.send_due()
    assert report.failed == 0 and report.dead == 0
    return smtp.messages[before:]


def recipients(messages) -> list[str]:
    """Every envelope recipient of `messages`, sorted."""
    return sorted(r for m in messages for r in m.envelope_to)


def only(messages, address: str):
    """The one message delivered to `address`."""
    found = [m for m in messages if address in m.envelope_to]
    assert len(found) == 1, recipients(messages)
    return found[0]


@pytest.fixture
def submit(submission):
    """submit(**fields): submit a case in its own transaction."""

    def submit(**fields):
        """Submit a case in its own transaction."""
        with unit_of_work():
            return case_service.submit_case(submission(**fields))

    return submit


# --- the citizen ------------------------------------------------------------------------------

def test_the_receipt_has_number_due_date_and_query_link_but_never_the_code_or_full_name(app, mailed, smtp, submit):
    case, code = submit(email=CITIZEN, name="张三丰")
    sent = deliver(smtp)
    receipt = only(sent, CITIZEN)
    assert receipt.envelope_to == [CITIZEN]
    text, html, subject = smtp.text_of(receipt), smtp.html_of(receipt), str(receipt["Subject"])
    assert subject == f"您的来信已收到（办件编号 {case.number}）"
    for body in (text, html):
        assert case.number in body
        assert case.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") in body
        assert f"/cases/query?number={case.number}" in body
        assert code not in body and case_service.format_query_code(code) not in body
        assert "张三丰" not in body and "张**" in body
        assert case.phone not in body
    assert "张" not in subject


def test_without_an_email_the_citizen_gets_nothing(app, mailed, smtp, submit):
    submit(email="")
    sent = deliver(smtp)
    assert CITIZEN not in recipients(sent)
    assert all(r in STAFF_EMAILS.values() for r in recipients(sent))


def test_the_approved_reply_is_announced_to_the_citizen_with_a_link_not_the_text(
        app, mailed, smtp, create_case):
    case, code = create_case("replied", email=CITIZEN)
    sent = deliver(smtp)
    citizen_mail = [m for m in sent if CITIZEN in m.envelope_to]
    assert [str(m["Subject"]) for m in citizen_mail] == [
        f"您的来信已收到（办件编号 {case.number}）", f"您的来信已答复（办件编号 {case.number}）"]
    reply = citizen_mail[1]
    assert f"/cases/query?number={case.number}" in smtp.text_of(reply)
    assert case.reply_text not in smtp.text_of(reply) and code not in smtp.text_of(reply)


def test_a_declined_case_is_announced_as_closed(app, mailed, smtp, create_case):
    case, _code = create_case("declined", email=CITIZEN)
    sent = deliver(smtp)
    subjects = [str(m["Subject"]) for m in sent if CITIZEN in m.envelope_to]
    assert f"您的来信已办结（办件编号 {case.number}）" in subjects


def test_a_transfer_is_told_to_the_citizen_once_the_new_department_has_it(app, mailed, smtp, create_case):
    case, _code = create_case("handling", email=CITIZEN)
    deliver(smtp)
    with unit_of_work():
        case_service.transfer_case(mailed.handler, case.number, "属于交通部门职责")
    sent = deliver(smtp)
    # While it waits for a department the dispatchers hear of it; the citizen not yet.
    assert recipients(sent) == [STAFF_EMAILS["dispatcher"]]
    transferred = sent[0]
    assert str(transferred["Subject"]) == f"办件被退回待重新分办：{case.number}"
    assert "属于交通部门职责" in smtp.text_of(transferred) and "市住房和城乡建设局" in smtp.text_of(transferred)

    with unit_of_work():
        case_service.dispatch_case(mailed.dispatcher, case.number, "transport")
    sent = deliver(smtp)
    assert recipients(sent) == sorted([CITIZEN, STAFF_EMAILS["other_handler"]])
    rerouted = only(sent, CITIZEN)
    assert str(rerouted["Subject"]) == f"您的来信已转交其他部门办理（办件编号 {case.number}）"
    assert "市交通运输局" in smtp.text_of(rerouted) and "市交通运输局" in smtp.html_of(rerouted)


def test_a_transferred_case_sent_back_to_the_same_department_is_no_news_for_the_citizen(
        app, mailed, smtp, create_case):
    case, _code = create_case("handling", email=CITIZEN)
    with unit_of_work():
        case_service.transfer_case(mailed.handler, case.number, "请再核实")
        case_service.dispatch_case(mailed.dispatcher, case.number, "housing")
    sent = deliver(smtp)
    subjects = [str(m["Subject"]) for m in sent if CITIZEN in m.envelope_to]
    assert subjects == [f"您的来信已收到（办件编号 {case.number}）"]


def test_an_extension_granted_tells_the_citizen_the_new_due_date_and_the_reason(app, mailed, smtp, create_case):
    case, _code = create_case("handling", email=CITIZEN)
    deliver(smtp)
    new_due = case.due_at + timedelta(days=5)
    with unit_of_work():
        notify.citizen(case, "extension_granted", new_due_at=new_due, reason="需要现场勘查")
    message = only(deliver(smtp), CITIZEN)
    assert str(message["Subject"]) == f"您的来信办理期限已延长（办件编号 {case.number}）"
    local_new = new_due.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    for body in (smtp.text_of(message), smtp.html_of(message)):
        assert local_new in body and "需要现场勘查" in body


def test_citizen_mail_goes_to_each_case_s_own_address_only(app, mailed, smtp, create_case):
    first, _ = create_case("replied", email="first@example.com", name="李四")
    second, _ = create_case("replied", email="second@example.com", name="王五")
    sent = deliver(smtp)
    for message in sent:
        text = smtp.text_of(message) + smtp.html_of(message)
        if "first@example.com" in message.envelope_to:
            assert message.envelope_to == ["first@example.com"]
            assert second.number not in text and "王五" not in text and "王*" not in text
        elif "second@example.com" in message.envelope_to:
            assert message.envelope_to == ["second@example.com"]
            assert first.number not in text and "李四" not in text and "李*" not in text
        else:  # a staff mail: no citizen's address, name or phone in it
            assert set(message.envelope_to) <= set(STAFF_EMAILS.values())
            for case in (first, second):
                assert case.email not in text and case.name not in text and case.phone not in text


# --- staff -------------------------------------------------------------------------------------

def test_a_case_submitted_to_a_department_is_announced_to_its_handlers(app, mailed, smtp, submit):
    case, _code = submit(email=CITIZEN, department="housing")
    sent = deliver(smtp)
    assert recipients(sent) == sorted([CITIZEN, STAFF_EMAILS["handler"]])
    message = only(sent, STAFF_EMAILS["handler"])
    assert str(message["Subject"]) == f"新办件待办理：{case.number}"
    assert f"/staff/cases/{case.number}" in smtp.text_of(message)
    assert case.title in smtp.html_of(message) and "市住房和城乡建设局" in smtp.text_of(message)


def test_a_correction_goes_to_the_site_owner_s_handlers(app, mailed, smtp, submit):
    submit(kind="correction", site=mailed.site.id, page_url="https://zjj.example.gov.cn/a",
           error_type=next(iter(ERROR_TYPES)), email="")
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["handler"]]


def test_a_case_without_department_is_announced_to_the_dispatchers(app, mailed, smtp, submit):
    case, _code = submit(email=CITIZEN)
    sent = deliver(smtp)
    assert recipients(sent) == sorted([CITIZEN, STAFF_EMAILS["dispatcher"]])
    assert str(only(sent, STAFF_EMAILS["dispatcher"])["Subject"]) == f"新办件待分办：{case.number}"


def test_dispatch_tells_the_department_s_handlers(app, mailed, smtp, submit):
    case, _code = submit(email="")
    deliver(smtp)
    with unit_of_work():
        case_service.dispatch_case(mailed.dispatcher, case.number, "transport")
    assert recipients(deliver(smtp)) == [STAFF_EMAILS["other_handler"]]


def test_a_draft_waits_for_the_department_s_reviewers_and_a_return_goes_back_to_the_handlers(
        app, mailed, smtp, create_case):
    case, _code = create_case("handling", email="")
    deliver(smtp)
    with unit_of_work():
        case_service.draft_reply(mailed.handler, case.number, "答复稿")
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["reviewer"]]
    assert str(sent[0]["Subject"]) == f"稿件待审核：{case.number}"
    assert "答复稿已拟写" in smtp.text_of(sent[0])

    with unit_of_work():
        case_service.review_draft(mailed.reviewer, case.number, "return", "请补充政策依据")
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["handler"]]
    assert str(sent[0]["Subject"]) == f"稿件被退回修改：{case.number}"
    assert "请补充政策依据" in smtp.text_of(sent[0]) and "请补充政策依据" in smtp.html_of(sent[0])

    with unit_of_work():
        case_service.draft_decline(mailed.handler, case.number, "out_of_scope", "")
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["reviewer"]] and "不予受理意见" in smtp.text_of(sent[0])


def test_inactive_users_and_users_without_an_address_are_skipped(app, mailed, smtp, create_user, submit):
    create_user("handler", department=mailed.housing, username="no-mail")
    disabled = create_user("handler", department=mailed.housing, username="gone", email=True)
    disabled.active = False
    db.session.commit()
    submit(email="", department="housing")
    assert recipients(deliver(smtp)) == [STAFF_EMAILS["handler"]]


def test_staff_notifications_with_a_key_are_queued_once_per_user(app, mailed, submit):
    case, _code = submit(email="")
    with unit_of_work():
        users = notify.department_handlers(mailed.housing) + notify.department_reviewers(mailed.housing)
        assert notify.staff(users, "case_assigned", case=case, dedupe_key="test:once") == 2
        assert notify.staff(users, "case_assigned", case=case, dedupe_key="test:once") == 0
    keys = set(db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.is_not(None))))
    assert keys == {f"test:once:u{mailed.handler.id}", f"test:once:u{mailed.reviewer.id}"}


def test_the_recipient_lists(app, mailed, create_user):
    extra = create_user("handler", "reviewer", department=mailed.housing, username="both")
    assert [u.username for u in notify.department_handlers(mailed.housing)] == ["handler", "both"]
    assert [u.username for u in notify.department_reviewers(mailed.housing)] == ["reviewer", "both"]
    assert [u.username for u in notify.dispatchers()] == ["dispatcher"]
    assert notify.department_handlers(None) == [] and extra.id


# --- addresses and preferences ------------------------------------------------------------------

def test_an_administrator_sets_a_staff_address_on_the_user_page(app, world, client, login, post_form):
    login(client, "admin")
    page = "/staff/admin/users/handler"
    response = post_form(client, page, {"roles": ["handler"], "active": "y", "email": "new@gov.example.cn"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.handler.email == "new@gov.example.cn"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.email")).one()
    assert entry.object_id == "handler" and "new@gov.example.cn" not in entry.details
    assert "new@gov.example.cn" in client.get("/staff/admin/users").get_data(as_text=True)
    assert "new@gov.example.cn" in client.get(page).get_data(as_text=True)

    response = post_form(client, page, {"roles": ["handler"], "active": "y", "email": "not-an-address"})
    assert response.status_code == 400 and "电子邮箱格式不正确" in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.handler.email == "new@gov.example.cn"


def test_a_staff_user_chooses_a_daily_digest_on_the_account_page(app, mailed, client, login, post_form):
    login(client, "handler")
    page = client.get("/staff/account").get_data(as_text=True)
    assert STAFF_EMAILS["handler"] in page and 'value="immediate" checked' in page
    response = post_form(client, "/staff/account/notifications", {"notify_mode": "digest"},
                         form_url="/staff/account")
    assert response.status_code == 302
    db.session.expire_all()
    assert mailed.handler.notify_mode == "digest"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.notify_mode")).one()
    assert entry.username == "handler" and '"to": "digest"' in entry.details
    assert 'value="digest" checked' in client.get("/staff/account").get_data(as_text=True)
    post_form(client, "/staff/account/notifications", {"notify_mode": "hourly"}, form_url="/staff/account")
    db.session.expire_all()
    assert mailed.handler.notify_mode == "digest"


def test_digest_mode_holds_notifications_and_sends_one_mail_per_user_per_day(app, mailed, smtp, runner, submit):
    mailed.handler.notify_mode = "digest"
    db.session.commit()
    first, _ = submit(email="", department="housing", title="第一件")
    second, _ = submit(email="", department="housing", title="第二件")
    assert deliver(smtp) == []  # nothing immediate for the digest reader
    items = db.session.scalars(select(DigestItem).where(DigestItem.user_id == mailed.handler.id)).all()
    assert len(items) == 2 and all(i.sent_at is None for i in items)

    as_of = (utcnow() + timedelta(minutes=1)).isoformat()
    result = runner.invoke(args=["mail", "digest", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    assert "已生成 1 封" in result.output
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["handler"]]
    text, html = smtp.text_of(sent[0]), smtp.html_of(sent[0])
    assert "共 2 条" in str(sent[0]["Subject"])
    for case in (first, second):
        assert f"新办件待办理：{case.number}" in text and f"/staff/cases/{case.number}" in html

    # Idempotent: the same day again sends nothing, even with a new item held meanwhile.
    third, _ = submit(email="", department="housing", title="第三件")
    assert "已生成 0 封" in runner.invoke(args=["mail", "digest", "--as-of", as_of]).output
    assert deliver(smtp) == []
    db.session.expire_all()
    assert all(i.sent_at is not None for i in db.session.scalars(
        select(DigestItem).where(DigestItem.case_id.in_([first.id, second.id]))))
    # The next day's digest carries what came after.
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    assert "已生成 1 封" in runner.invoke(args=["mail", "digest", "--as-of", tomorrow]).output
    sent = deliver(smtp)
    assert recipients(sent) == [STAFF_EMAILS["handler"]] and third.number in smtp.text_of(sent[0])
    assert first.number not in smtp.text_of(sent[0])


def test_digest_rejects_a_malformed_time(app, runner):
    result = runner.invoke(args=["mail", "digest", "--as-of", "yesterday"])
    assert result.exit_code == 1 and "无法识别的日期或时间" in result.output


# --- a lost query code ------------------------------------------------------------------------------

@pytest.fixture
def ask_for_code(post_form):
    """ask_for_code(client, number: str, email: str, **extra): fill in the lost-code form."""

    def ask_for_code(client, number: str, email: str, **extra):
        """Fill in the lost-code form."""
        return post_form(client, "/cases/query/reset", {"number": number, "email": email, **extra})

    return ask_for_code


@pytest.fixture
def can_query(post_form):
    """can_query(client, number: str, code: str): whether the number and code open the case page."""

    def can_query(client, number: str, code: str) -> bool:
        """Whether the number and code open the case page."""
        return post_form(client, "/cases/query", {"number": number, "code": code}).status_code == 200

    return can_query


def test_a_lost_code_is_replaced_and_the_new_one_mailed_to_the_case_address_only(app, mailed, smtp, client, post_form, ask_for_code, can_query, submit):
    case, old_code = submit(email=CITIZEN)
    deliver(smtp)
    query_page = client.get(f"/cases/query?number={case.number}").get_data(as_text=True)
    assert f"/cases/query/reset?number={case.number}" in query_page

    response = ask_for_code(client, case.number, " ZhangSan@Example.com ")
    assert response.status_code == 200
    neutral = response.get_data(as_text=True)
    assert "如果办件编号和电子邮箱与提交时填写的一致" in neutral
    assert response.headers["Cache-Control"] == "no-store"
    sent = deliver(smtp)
    assert recipients(sent) == [CITIZEN]
    message = sent[0]
    assert str(message["Subject"]) == f"新的查询码（办件编号 {case.number}）"
    new_code = next(line.strip() for line in smtp.text_of(message).splitlines()
                    if line.startswith("    ") and line.strip())
    assert new_code in smtp.html_of(message) and new_code != case_service.format_query_code(old_code)
    # The answer says when to expect the mail, and that the old code still works until then.
    assert "通常在5分钟内送达" in neutral and "原查询码在您用新查询码查询之前仍然有效" in neutral

    # Until the new code is used, the old one still opens the case (a late mail locks nobody out).
    assert can_query(client, case.number, old_code)
    assert can_query(client, case.number, new_code)
    # The new code's first use retired the old one.
    assert not can_query(client, case.number, old_code)
    page = post_form(client, "/cases/query", {"number": case.number, "code": new_code}).get_data(as_text=True)
    assert "查询码已重新发送" in page


def test_a_reissued_code_works_through_the_api_and_a_second_request_replaces_it(
        app, mailed, smtp, client, ask_for_code, submit):
    case, old_code = submit(email=CITIZEN)
    deliver(smtp)

    def mailed_code() -> str:
        (message,) = deliver(smtp)
        return next(line.strip() for line in smtp.text_of(message).splitlines()
                    if line.startswith("    ") and line.strip())

    def api_status(code: str) -> int:
        return client.get(f"/api/v1/cases/{case.number}", headers={"X-Query-Code": code}).status_code

    ask_for_code(client, case.number, CITIZEN)
    first = mailed_code()
    with unit_of_work():  # past the interval between two requests
        db.session.get(Case, case.id).events[-1].at -= timedelta(minutes=6)
    ask_for_code(client, case.number, CITIZEN)
    second = mailed_code()
    assert api_status(first) == 404  # replaced by the second request
    assert api_status(case_service.format_query_code(old_code)) == 200
    assert api_status(second) == 200
    assert api_status(case_service.format_query_code(old_code)) == 404
    assert api_status(second) == 200


def test_a_wrong_address_an_unknown_number_or_no_address_get_the_same_answer_and_send_nothing(
        app, mailed, smtp, client, ask_for_code, can_query, submit):
    case, code = submit(email=CITIZEN)
    silent, silent_code = submit(email="")
    deliver(smtp)
    answers = set()
    for number, email in ((case.number, "other@example.com"), ("2099010100001", CITIZEN),
                          (silent.number, CITIZEN), ("not-a-number", CITIZEN), (case.number, "")):
        response = ask_for_code(client, number, email)
        assert response.status_code == 200
        answers.add(response.get_data(as_text=True).split('name="csrf_token"')[0].split("<main")[-1])
    assert len(answers) == 1
    assert deliver(smtp) == []
    assert can_query(client, case.number, code) and can_query(client, silent.number, silent_code)


def test_the_lost_code_form_has_a_trap_for_robots(app, mailed, smtp, client, ask_for_code, can_query, submit):
    case, code = submit(email=CITIZEN)
    deliver(smtp)
    response = ask_for_code(client, case.number, CITIZEN, homepage="http://spam.example")
    assert response.status_code == 200 and "如果办件编号和电子邮箱与提交时填写的一致" in response.get_data(as_text=True)
    assert deliver(smtp) == [] and can_query(client, case.number, code)


def test_a_code_is_reissued_at_most_once_in_a_few_minutes(app, mailed, smtp, client, ask_for_code, submit):
    case, _code = submit(email=CITIZEN)
    deliver(smtp)
    ask_for_code(client, case.number, CITIZEN)
    ask_for_code(client, case.number, CITIZEN)
    assert len(deliver(smtp)) == 1


def test_the_lost_code_form_needs_a_csrf_token(app, mailed, client, submit):
    case, _code = submit(email=CITIZEN)
    response = client.post("/cases/query/reset", data={"number": case.number, "email": CITIZEN})
    assert response.status_code == 400
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.template == "query_code_reissued")) is None


def test_the_lost_code_form_spends_the_lookup_budget(app, mailed, csrf_from, make_app):
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                       INTERACT_RATELIMIT_LOOKUP="2 per minute", isolated=True)
    client = limited.test_client()
    statuses = []
    for _ in range(3):
        page = client.get("/cases/query/reset")
        statuses.append(client.post("/cases/query/reset", data={
            "number": "2099010100001", "email": CITIZEN,
            "csrf_token": csrf_from(page.get_data(as_text=True))}).status_code)
    assert statuses == [200, 200, 429]
    # The query form shares the budget: a guesser gains nothing by switching forms.
    page = client.get("/cases/query")
    assert client.post("/cases/query", data={"number": "2099010100001", "code": "X",
                                              "csrf_token": csrf_from(page.get_data(as_text=True))}).status_code == 429


def test_the_reissue_service_reports_whether_it_acted(app, mailed, submit):
    case, _code = submit(email=CITIZEN)
    before = case.query_code_hash
    with unit_of_work():
        assert reissue_query_code(case.number, "someone@example.com") is False
        assert case.query_code_hash == before
        assert reissue_query_code(case.number, CITIZEN.upper()) is True
    stored = db.session.execute(select(Case.query_code_hash, Case.reissued_code_hash).where(Case.id == case.id)).one()
    assert stored[0] == before and stored[1] not in (None, before)
    events = [e.action for e in db.session.get(Case, case.id).events]
    assert events[-1] == "reissue_code"


def test_the_author_of_a_draft_is_not_asked_to_review_it(app, mailed, smtp, create_user, create_case):
    both = create_user("handler", "reviewer", department=mailed.housing, username="both", email=True)
    case, _code = create_case("assigned", email="")
    deliver(smtp)
    with unit_of_work():
        case_service.accept_case(both, case.number)
        case_service.draft_reply(both, case.number, "答复稿")
    assert recipients(deliver(smtp)) == [STAFF_EMAILS["reviewer"]]
