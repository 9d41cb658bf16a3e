"""The staff back office through the test client, CSRF on: sign-in, dashboards per role, the case
page and its actions, department isolation, attachments and the admin pages."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

import pytest
from fixtures.values import PASSWORD

from interact.domain.db import db
from interact.domain.models import Site, Status, User
from interact.services import calendar, directory
from interact.services import cases as case_service
from interact.domain.workdays import local_date
from interact.services import deadlines
from interact.services.attachments import Upload

FLASH_RE = re.compile(r'<p class="flash flash-(\w+)">(.*?)</p>', re.S)


def flashes(html: str) -> list[str]:
    """The flashed messages shown on a page."""
    return [text.strip() for _category, text in FLASH_RE.findall(html)]


def page(client, url: str) -> str:
    """GET a page that must render, and return its HTML."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def row_of(html: str, number: str) -> str:
    """The dashboard table row that links to case `number`."""
    match = re.search(r'<tr[^>]*>(?:(?!</tr>).)*?/staff/cases/' + number + r'".*?</tr>', html, re.S)
    assert match, f"no row for {number}"
    return match.group(0)


@pytest.fixture
def act(post_form):
    """act(client, number: str, action: str, data: dict | None=None): post one action form of the case page."""

    def act(client, number: str, action: str, data: dict | None = None):
        """Post one action form of the case page."""
        return post_form(client, f"/staff/cases/{number}/{action}", data or {}, form_url=f"/staff/cases/{number}")

    return act


def due_date(case) -> date:
    """The case's due date in local time, read fresh from the database."""
    db.session.refresh(case)
    return local_date(case.due_at, calendar.tz_name())


# --- signing in and out --------------------------------------------------------------------------

def test_login_form_has_the_fixed_field_names_and_signs_in(client, world, login):
    html = page(client, "/staff/login")
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in html
    response = login(client, "handler")
    assert response.headers["Location"] == "/staff/"
    assert "handler" in page(client, "/staff/")


def test_wrong_password_and_unknown_user_get_the_same_message(client, world, post_form):
    wrong = post_form(client, "/staff/login", {"username": "handler", "password": "not-the-password"})
    unknown = post_form(client, "/staff/login", {"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert flashes(wrong.get_data(as_text=True)) == flashes(unknown.get_data(as_text=True)) != []
    assert client.get("/staff/").status_code == 302


def test_there_is_no_default_account(client, app, post_form):
    assert db.session.query(User).count() == 0
    for username, password in (("admin", "admin"), ("admin", ""), ("root", "root"), ("", "")):
        response = post_form(client, "/staff/login", {"username": username, "password": password})
        assert response.status_code == 401
    assert client.get("/staff/").status_code == 302


def test_a_disabled_account_cannot_sign_in(client, world, post_form):
    world.handler.active = False
    db.session.commit()
    response = post_form(client, "/staff/login", {"username": "handler", "password": PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)", "evil.example"])
def test_login_ignores_a_next_that_leaves_the_site(client, world, target, post_form):
    response = post_form(client, "/staff/login?" + urlencode({"next": target}),
                         {"username": "handler", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


def test_login_follows_a_same_site_next(client, world, create_case, post_form):
    case, _code = create_case("assigned")
    response = client.get(f"/staff/cases/{case.number}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")
    assert flashes(page(client, response.headers["Location"])) == ["请先登录办件管理后台。"]
    response = post_form(client, "/staff/login?" + urlencode({"next": f"/staff/cases/{case.number}"}),
                         {"username": "handler", "password": PASSWORD})
    assert response.headers["Location"] == f"/staff/cases/{case.number}"


def test_login_starts_a_fresh_session(client, world, login):
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    login(client, "handler")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(world.handler.id)


def test_logout_is_a_post_with_csrf_and_ends_the_session(client, world, login, post_form):
    login(client, "handler")
    assert client.get("/staff/logout").status_code == 200  # a confirm form, not a logout
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout").status_code == 400  # no CSRF token
    assert client.get("/staff/").status_code == 200
    response = post_form(client, "/staff/logout", {}, form_url="/staff/")
    assert response.headers["Location"] == "/staff/login"
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_a_disabled_account_is_signed_out(client, world, login):
    login(client, "handler")
    world.handler.active = False
    db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_staff_pages_are_not_cached(client, world, login):
    login(client, "handler")
    assert client.get("/staff/").headers["Cache-Control"] == "no-store"


def test_public_surface_has_no_login_machinery(make_app):
    public = make_app("public")
    assert not any(rule.rule.startswith("/staff") for rule in public.url_map.iter_rules())
    assert not hasattr(public, "login_manager")


# --- dashboards ------------------------------------------------------------------------------------

def test_dispatcher_sees_unassigned_and_transferred_cases_only(client, world, create_case, login):
    new, _ = create_case("submitted", title="新来信待分办")
    moved, _ = create_case("handling", title="被部门退回的来信")
    case_service.transfer_case(world.handler, moved, "不属于住建局职责，应由交通局办理。")
    db.session.commit()
    create_case("assigned", title="已分办到住建局的来信")
    login(client, "dispatcher")
    html = page(client, "/staff/")
    assert "新来信待分办" in html
    moved_row = row_of(html, moved.number)
    assert "已退回 1 次" in moved_row
    assert "不属于住建局职责，应由交通局办理。" in moved_row
    assert 'name="department"' in row_of(html, new.number)
    assert "已分办到住建局的来信" not in html


def test_handler_sees_own_open_cases_by_deadline_with_lights(client, world, create_case, aware, login):
    late, _ = create_case("assigned", title="早已超期的来信", submitted_at=aware(2026, 1, 5, 2, 0))
    fresh, _ = create_case("handling", title="刚受理的来信")
    deadlines.set_deadline_days("consultation", 1)
    db.session.commit()
    soon, _ = create_case("assigned", title="下一个工作日到期的来信")
    create_case("assigned", title="交通局的来信", department=world.transport)
    create_case("replied", title="已答复的来信")
    login(client, "handler")
    html = page(client, "/staff/")
    assert html.index(late.number) < html.index(soon.number) < html.index(fresh.number)
    assert "light-overdue" in row_of(html, late.number)
    assert "light-soon" in row_of(html, soon.number)
    assert "light-ok" in row_of(html, fresh.number)
    assert "已超期：1 件" in html
    assert "即将到期：1 件" in html
    assert "交通局的来信" not in html
    assert "已答复的来信" not in html
    assert "待分办" not in html  # no dispatcher section for a handler


def test_reviewer_sees_drafts_waiting_for_review(client, world, create_case, login):
    draft, _ = create_case("pending_review", title="等待审核的答复")
    create_case("handling", title="仍在办理的来信")
    create_case("pending_review", title="交通局的待审稿件", department=world.transport)
    login(client, "reviewer")
    html = page(client, "/staff/")
    assert "等待审核的答复" in html
    assert draft.number in html
    assert "仍在办理的来信" not in html
    assert "交通局的待审稿件" not in html


def test_a_user_with_several_roles_sees_a_section_for_each(client, world, create_case, create_user, login):
    create_user("dispatcher", "handler", "reviewer", department=world.housing, username="all-rounder")
    unassigned, _ = create_case("submitted")
    open_case, _ = create_case("handling")
    draft, _ = create_case("pending_review")
    login(client, "all-rounder")
    html = page(client, "/staff/")
    for section, number in (("dispatch", unassigned.number), ("handling", open_case.number), ("review", draft.number)):
        assert f'id="{section}"' in html
        assert number in html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("username", ["admin", "auditor"])
def test_admin_and_auditor_dashboards_show_no_case_content(client, world, create_case, username, login):
    cases = [create_case(status, title=f"不该给{username}看的来信{status}")[0]
             for status in ("submitted", "assigned", "pending_review")]
    login(client, username)
    html = page(client, "/staff/")
    for case in cases:
        assert case.title not in html
        assert case.number not in html
    if username == "admin":
        assert "/staff/admin/calendar" in html
    else:
        assert "审计" in html


def test_dashboard_warns_when_a_deadline_falls_in_an_unconfirmed_year(client, world, create_case, aware, login):
    login(client, "handler")
    assert "尚未确认" not in page(client, "/staff/")
    create_case("assigned", submitted_at=aware(2026, 12, 30, 2, 0))  # due in January 2027
    assert 2027 not in calendar.confirmed_years()
    html = page(client, "/staff/")
    assert "2027 年的节假日安排尚未确认" in html


def test_dashboard_queues_are_paginated(client, world, create_case, login):
    numbers = [create_case("assigned")[0].number for _ in range(32)]
    login(client, "handler")
    first = page(client, "/staff/")
    second = page(client, "/staff/?handling_page=2")
    assert numbers[0] in first and numbers[-1] not in first
    assert numbers[-1] in second and numbers[0] not in second
    assert "handling_page=2" in first


# --- the case page and its actions ----------------------------------------------------------------

def test_case_page_shows_private_fields_deadline_and_timeline(client, world, create_case, login, png_bytes):
    # A correction goes straight to the site's department, so no dispatch step.
    case, _ = create_case("submitted", kind="correction", site=world.site.id,
                          page_url="https://zjj.example.gov.cn/notice/1", error_type="broken_link",
                          publish_consent=False, uploads=[Upload("现场照片.png", png_bytes())])
    case_service.accept_case(world.handler, case)
    db.session.commit()
    login(client, "handler")
    html = page(client, f"/staff/cases/{case.number}")
    for text in ("张三", "13812345678", "zhangsan@example.com", "不同意公开", "市住建局网站",
                 "https://zjj.example.gov.cn/notice/1", "链接无法访问", "现场照片.png",
                 "提交", "受理", "待受理 → 办理中", "handler", "light-"):
        assert text in html, text
    assert f"/staff/cases/{case.number}/attachments/{case.attachments[0].id}" in html
    # Exactly the actions a handler may take on a case in handling (and, before the deadline, 延期).
    assert re.findall(r'action="/staff/cases/\d+/(\w+)"', html) == ["transfer", "reply", "decline", "extension"]


def test_full_workflow_through_the_html_pages(client, world, create_case, login, act):
    case, _ = create_case("submitted", title="小区电梯长期停运", name="李四")
    number = case.number

    login(client, "dispatcher")
    response = act(client, number, "dispatch", {"department": "housing"})
    assert response.headers["Location"] == "/staff/"  # the dispatcher no longer sees the case
    assert case.status == Status.assigned and case.department_id == world.housing.id

    login(client, "handler")
    response = act(client, number, "accept")
    assert response.headers["Location"] == f"/staff/cases/{number}"
    assert case.status == Status.handling
    act(client, number, "reply", {"text": "已督促物业在三日内修复电梯。"})
    assert case.status == Status.pending_review

    login(client, "reviewer")
    html = page(client, f"/staff/cases/{number}")
    assert "已督促物业在三日内修复电梯。" in html
    assert 'name="publish" type="checkbox" value="y"' in html and "checked" in html
    response = act(client, number, "review", {"decision": "approve", "comment": "", "publish": "y"})
    assert response.headers["Location"] == f"/staff/cases/{number}"
    assert case.status == Status.replied
    assert case.published is True
    assert case.public_name == "李*"
    assert case.reply_text == "已督促物业在三日内修复电梯。"
    html = page(client, f"/staff/cases/{number}")
    assert "已答复" in html and "按期办结" in html and "已公开" in html


def test_returned_draft_comes_back_prefilled(client, world, create_case, login, act):
    case, _ = create_case("pending_review")
    login(client, "reviewer")
    act(client, case.number, "review", {"decision": "return", "comment": "请补充办理时限。"})
    assert case.status == Status.handling
    login(client, "handler")
    html = page(client, f"/staff/cases/{case.number}")
    assert re.search(r'<textarea[^>]*name="text"[^>]*>\s*经核实，符合条件的可以申请。</textarea>', html)
    assert "请补充办理时限。" in html


def test_review_form_respects_a_citizen_who_refused_publication(client, world, create_case, login, act):
    case, _ = create_case("pending_review", publish_consent=False)
    login(client, "reviewer")
    html = page(client, f"/staff/cases/{case.number}")
    assert "来信人不同意公开" in html
    assert not re.search(r'<input checked[^>]*name="publish"', html)
    act(client, case.number, "review", {"decision": "approve", "publish": "y"})
    assert case.status == Status.replied
    assert case.published is False


def test_accepting_a_replied_case_is_refused_with_a_message(client, world, create_case, login, act):
    case, _ = create_case("replied")
    login(client, "handler")
    response = act(client, case.number, "accept")
    # 409, not a redirect: nothing was done, and the page says why and links back to the case.
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "不能执行“受理”" in html and f'href="/staff/cases/{case.number}"' in html
    assert case.status == Status.replied


def test_a_dispatcher_cannot_accept(client, world, create_case, login, act):
    case, _ = create_case("submitted")
    login(client, "dispatcher")
    response = act(client, case.number, "accept")
    assert response.status_code == 302
    assert any("角色不能执行" in message for message in flashes(page(client, response.headers["Location"])))
    assert case.status == Status.submitted


def test_nobody_approves_their_own_draft(client, world, create_case, create_user, login, act):
    create_user("handler", "reviewer", department=world.housing, username="both")
    case, _ = create_case("assigned")
    login(client, "both")
    act(client, case.number, "accept")
    act(client, case.number, "reply", {"text": "自己写的答复。"})
    assert case.status == Status.pending_review
    html = page(client, f"/staff/cases/{case.number}")
    assert "action-review" not in html  # the form is not offered
    response = act(client, case.number, "review", {"decision": "approve", "publish": "y"})
    assert response.status_code == 302
    assert any("不能审核自己拟写的稿件" in m for m in flashes(page(client, response.headers["Location"])))
    assert case.status == Status.pending_review


def test_an_empty_reply_is_refused_and_the_form_shown_again(client, world, create_case, login, act):
    case, _ = create_case("handling")
    login(client, "handler")
    response = act(client, case.number, "reply", {"text": "   "})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请填写答复内容" in html
    assert case.status == Status.handling


def test_an_unknown_action_is_not_found(client, world, create_case, login, act):
    case, _ = create_case("handling")
    login(client, "handler")
    assert act(client, case.number, "delete").status_code == 404


def test_transfer_returns_the_case_to_the_dashboard(client, world, create_case, login, act):
    case, _ = create_case("handling")
    login(client, "handler")
    response = act(client, case.number, "transfer", {"reason": "应由交通局办理。"})
    assert response.headers["Location"] == "/staff/"
    assert case.status == Status.submitted
    assert client.get(f"/staff/cases/{case.number}").status_code == 404


# --- isolation and attachments ---------------------------------------------------------------------

@pytest.mark.parametrize("username", ["other-handler", "other-reviewer"])
def test_another_department_gets_404_for_the_case_and_its_attachment(client, world, create_case, username, login, png_bytes, post_form):
    case, _ = create_case("pending_review", uploads=[Upload("photo.png", png_bytes())])
    attachment_id = case.attachments[0].id
    login(client, username)
    assert client.get(f"/staff/cases/{case.number}").status_code == 404
    assert client.get(f"/staff/cases/{case.number}/attachments/{attachment_id}").status_code == 404
    response = post_form(client, f"/staff/cases/{case.number}/review", {"decision": "approve"}, form_url="/staff/")
    assert response.status_code == 404
    assert case.status == Status.pending_review


@pytest.mark.parametrize("username", ["admin", "auditor", "dispatcher"])
def test_roles_without_case_access_get_404(client, world, create_case, username, login, pdf_bytes):
    case, _ = create_case("assigned", uploads=[Upload("a.pdf", pdf_bytes())])
    login(client, username)
    assert client.get(f"/staff/cases/{case.number}").status_code == 404
    assert client.get(f"/staff/cases/{case.number}/attachments/{case.attachments[0].id}").status_code == 404


def test_attachments_are_served_only_with_their_own_case(client, world, create_case, login, pdf_bytes, png_bytes):
    image_case, _ = create_case("assigned", uploads=[Upload("photo.png", png_bytes())])
    pdf_case, _ = create_case("assigned", uploads=[Upload("证明.pdf", pdf_bytes())])
    image_id, pdf_id = image_case.attachments[0].id, pdf_case.attachments[0].id
    login(client, "handler")
    assert client.get(f"/staff/cases/{image_case.number}/attachments/{pdf_id}").status_code == 404
    assert client.get(f"/staff/cases/{pdf_case.number}/attachments/{image_id}").status_code == 404
    assert client.get(f"/staff/cases/{pdf_case.number}/attachments/999999").status_code == 404

    with client.get(f"/staff/cases/{image_case.number}/attachments/{image_id}") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "sandbox"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert response.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
    with client.get(f"/staff/cases/{pdf_case.number}/attachments/{pdf_id}") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == "sandbox"
        assert response.get_data().startswith(b"%PDF-")


def test_a_stored_script_is_escaped(client, world, create_case, login):
    case, _ = create_case("assigned", title="<script>alert(1)</script>", content="<img src=x onerror=alert(2)>")
    login(client, "handler")
    for html in (page(client, "/staff/"), page(client, f"/staff/cases/{case.number}")):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html


# --- administration ---------------------------------------------------------------------------------

ADMIN_PAGES = ["/staff/admin/departments", "/staff/admin/departments/housing", "/staff/admin/sites",
               "/staff/admin/users", "/staff/admin/users/handler", "/staff/admin/calendar",
               "/staff/admin/deadlines"]


@pytest.mark.parametrize("username", ["dispatcher", "handler", "reviewer", "auditor"])
def test_admin_pages_are_forbidden_to_other_roles(client, world, username, login, post_form):
    login(client, username)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    response = post_form(client, "/staff/admin/calendar/overrides", {"day": "2026-03-09", "working": "off"},
                         form_url="/staff/")
    assert response.status_code == 403
    assert calendar.current_calendar().is_working_day(date(2026, 3, 9))


def test_admin_pages_require_sign_in(client, world):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login"), url


def test_admin_adds_and_edits_a_department(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/departments",
                         {"code": "water", "name": "市水务局", "mailbox_name": ""})
    assert response.status_code == 302
    assert directory.department_by_code("water").name == "市水务局"
    assert "市水务局" in page(client, "/staff/admin/departments")

    duplicate = post_form(client, "/staff/admin/departments", {"code": "water", "name": "又一个水务局"})
    assert duplicate.status_code == 400
    assert "已存在" in duplicate.get_data(as_text=True)

    post_form(client, "/staff/admin/departments/water", {"name": "市水务局", "mailbox_name": "局长信箱"})
    dept = directory.department_by_code("water", active_only=False)
    db.session.refresh(dept)
    assert dept.mailbox_name == "局长信箱"
    assert dept.active is False  # the unchecked box switches it off


def test_admin_adds_a_site(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/sites",
                         {"department": "transport", "name": "市交通局网站", "base_url": "https://jtj.example.gov.cn"})
    assert response.status_code == 302
    site = db.session.query(Site).filter_by(name="市交通局网站").one()
    assert site.department_id == world.transport.id
    bad = post_form(client, "/staff/admin/sites", {"department": "transport", "name": "坏网址", "base_url": "ftp://x"})
    assert bad.status_code == 400
    assert "网址须以" in bad.get_data(as_text=True)
    nowhere = post_form(client, "/staff/admin/sites", {"department": "", "name": "无部门", "base_url": "https://a.cn"})
    assert nowhere.status_code == 400


def test_admin_adds_a_user_who_can_then_sign_in(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users", {
        "username": "newbie", "password": "A-long-enough-pass-1", "roles": ["handler", "reviewer"],
        "department": "transport", "email": "newbie@example.gov.cn", "display_name": "王五",
    })
    assert response.status_code == 302
    user = directory.user_by_username("newbie")
    assert {r.value for r in user.roles} == {"handler", "reviewer"}
    assert user.department_id == world.transport.id
    short = post_form(client, "/staff/admin/users", {"username": "short", "password": "short",
                                                     "roles": ["auditor"]})
    assert short.status_code == 400
    assert "密码长度" in short.get_data(as_text=True)
    login(client, "newbie", "A-long-enough-pass-1")
    # An operator chose the password, so the first page is the one that changes it.
    assert "王五" in page(client, "/staff/account/password")


def test_admin_changes_roles_and_disables_an_account(client, world, login, post_form):
    login(client, "admin")
    post_form(client, "/staff/admin/users/handler", {"roles": ["handler", "reviewer"]})
    db.session.refresh(world.handler)
    assert {r.value for r in world.handler.roles} == {"handler", "reviewer"}
    assert world.handler.active is False
    refused = post_form(client, "/staff/admin/users/handler", {"roles": [], "active": "y"})
    assert refused.status_code == 400
    response = post_form(client, "/staff/login", {"username": "handler", "password": PASSWORD})
    assert response.status_code == 401


def test_an_override_moves_open_deadlines_and_can_be_cleared(client, world, create_case, aware, login, post_form):
    # Submitted Thursday 2026-03-05: three working days are Fri 6, Mon 9 and Tue 10 March.
    case, _ = create_case("assigned", submitted_at=aware(2026, 3, 5, 2, 0))
    assert due_date(case) == date(2026, 3, 10)
    login(client, "admin")
    response = post_form(client, "/staff/admin/calendar/overrides?year=2026",
                         {"day": "2026-03-09", "working": "off", "note": "临时停工"},
                         form_url="/staff/admin/calendar?year=2026")
    assert response.status_code == 302
    html = page(client, response.headers["Location"])
    assert any("1 件在办办件" in m for m in flashes(html))
    assert "临时停工" in html and "人工调整" in html
    assert due_date(case) == date(2026, 3, 11)

    login(client, "handler")
    assert "2026-03-11" in page(client, f"/staff/cases/{case.number}")

    login(client, "admin")
    post_form(client, "/staff/admin/calendar/overrides/2026-03-09/clear", {},
              form_url="/staff/admin/calendar?year=2026")
    assert due_date(case) == date(2026, 3, 10)


def test_an_override_outside_the_calendar_is_refused(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/calendar/overrides", {"day": "1999-01-04", "working": "off"},
                         form_url="/staff/admin/calendar")
    assert response.status_code == 302
    assert any("超出" in m for m in flashes(page(client, response.headers["Location"])))


def test_admin_confirms_a_year(client, world, login, post_form):
    login(client, "admin")
    assert "尚未确认" in page(client, "/staff/admin/calendar?year=2027")
    response = post_form(client, "/staff/admin/calendar/confirm", {"year": "2027", "note": "国办发明电"},
                         form_url="/staff/admin/calendar?year=2027")
    assert response.headers["Location"] == "/staff/admin/calendar?year=2027"
    assert 2027 in calendar.confirmed_years()
    assert "已核对确认" in page(client, "/staff/admin/calendar?year=2027")
    assert client.get("/staff/admin/calendar?year=1800").status_code == 404


def test_admin_changes_a_kinds_deadline(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/deadlines", {"kind": "complaint", "days": "5"})
    assert response.status_code == 302
    assert deadlines.deadline_settings()["complaint"] == 5
    for days in ("0", "abc"):
        post_form(client, "/staff/admin/deadlines", {"kind": "complaint", "days": days})
        assert deadlines.deadline_settings()["complaint"] == 5
    assert 'value="5"' in page(client, "/staff/admin/deadlines")
