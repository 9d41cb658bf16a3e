"""The citizen pages end to end through the test client, with CSRF on: channels, submission,
receipt, case query, rating and the published records (Art. 16, 17, 28)."""
from __future__ import annotations

import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.kinds import KINDS
from interact.domain.models import Attachment, Case, Status

XSS = "<script>alert(1)</script>"
NUMBER_RE = re.compile(r'class="case-number">(\d+)<')
CODE_RE = re.compile(r'class="query-code">([A-Z0-9-]+)<')
URL_ATTR_RE = re.compile(r'(?:href|action|src)="([^"]*)"')


def form_data(**fields) -> dict:
    """A valid case form as a citizen fills it in (publication chosen)."""
    data = {
        "title": "公租房申请条件咨询", "content": "请问外地户籍能否申请公租房？", "name": "张三",
        "phone": "13812345678", "email": "zhangsan@example.com", "publish": "y",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def submit(post_form):
    """submit(client, kind: str, **fields): submit the HTML form of `kind`."""

    def submit(client, kind: str, **fields):
        """Submit the HTML form of `kind`, following the redirect to the receipt page."""
        return post_form(client, f"/cases/new/{kind}", form_data(**fields), follow_redirects=True)

    return submit


def receipt_of(response) -> tuple[str, str]:
    """The case number and query code shown on a receipt page."""
    html = response.get_data(as_text=True)
    number, code = NUMBER_RE.search(html), CODE_RE.search(html)
    assert number and code, html[:2000]
    return number.group(1), code.group(1)


def case_count() -> int:
    """How many cases exist."""
    return db.session.scalar(select(func.count()).select_from(Case))


@pytest.fixture
def query(post_form):
    """query(client, number: str, code: str): look a case up on the query page."""

    def query(client, number: str, code: str):
        """Look a case up on the query page."""
        return post_form(client, "/cases/query", {"number": number, "code": code})

    return query


def body(response) -> str:
    """The response's HTML."""
    return response.get_data(as_text=True)


# --- home: Art. 16 requires each channel's purpose, aim and usage ---------------------------

def test_home_states_purpose_aim_and_usage_of_every_channel(client, world):
    response = client.get("/")
    html = body(response)
    assert response.status_code == 200
    for code, kind in KINDS.items():
        assert str(kind.label) in html
        assert str(kind.purpose) in html
        assert str(kind.aim) in html
        assert str(kind.usage) in html
        assert f'href="/cases/new/{code}"' in html
    assert 'href="/cases/query"' in html
    assert 'href="/records"' in html
    assert "3个工作日" in html


def test_form_page_states_the_channel_and_has_a_label_for_every_field(client, world):
    for code, kind in KINDS.items():
        html = body(client.get(f"/cases/new/{code}"))
        assert str(kind.purpose) in html and str(kind.aim) in html and str(kind.usage) in html
        assert 'enctype="multipart/form-data"' in html
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        ids.discard("csrf_token")
        assert ids and ids <= labelled, ids - labelled
        assert 'style="' not in html and "<script" not in html


def test_unknown_kind_is_not_found(client, world, csrf_from):
    assert client.get("/cases/new/petition").status_code == 404
    token = csrf_from(body(client.get("/cases/query")))
    assert client.post("/cases/new/petition", data={"csrf_token": token, **form_data()}).status_code == 404


# --- submission and receipt -------------------------------------------------------------------

def test_consultation_without_department_waits_for_dispatch(client, world, query, submit):
    response = submit(client, "consultation")
    assert response.status_code == 200
    number, code = receipt_of(response)
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.status == Status.submitted and case.department is None
    assert "待分办" in body(response)

    found = query(client, number, code)
    assert found.status_code == 200
    assert "待分办" in body(found) and "公租房申请条件咨询" in body(found)


def test_case_with_chosen_department_goes_straight_to_it(client, world, submit):
    response = submit(client, "suggestion", department="transport")
    number, _ = receipt_of(response)
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.status == Status.assigned and case.department.code == "transport"
    assert "市交通运输局" in body(response) and "待受理" in body(response)


def test_receipt_shows_due_date_kind_and_warns_that_the_code_is_shown_once(client, world, submit):
    response = submit(client, "complaint")
    number, code = receipt_of(response)
    case = db.session.scalar(select(Case).where(Case.number == number))
    html = body(response)
    due = case.due_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    assert due in html
    assert "投诉" in html
    assert "只在本页显示这一次" in html
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4})+", code)


def test_mailbox_letter_requires_a_leader_mailbox(client, world, submit):
    before = case_count()
    refused = submit(client, "mailbox")
    assert refused.status_code == 400
    assert "请选择领导信箱" in body(refused)
    assert case_count() == before

    form = body(client.get("/cases/new/mailbox"))
    assert "市长信箱" in form and "市住房和城乡建设局" not in form  # only leader mailboxes are offered

    accepted = submit(client, "mailbox", department="gov-office")
    assert accepted.status_code == 200
    number, _ = receipt_of(accepted)
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.department.code == "gov-office" and case.status == Status.assigned
    assert "市长信箱" in body(accepted)


def test_correction_is_routed_to_the_department_owning_the_site(client, world, png_bytes, post_form, query):
    data = form_data(site=str(world.site.id), page_url="https://zjj.example.gov.cn/news/1.html",
                     error_type="broken_link")
    data["screenshot"] = (io.BytesIO(png_bytes()), "shot.png")
    response = post_form(client, "/cases/new/correction", data, follow_redirects=True)
    assert response.status_code == 200, body(response)[:2000]
    number, code = receipt_of(response)
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.status == Status.assigned and case.department_id == world.housing.id
    assert case.error_type == "broken_link" and case.page_url == "https://zjj.example.gov.cn/news/1.html"
    shots = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert [a.purpose for a in shots] == ["screenshot"]
    found = body(query(client, number, code))
    assert "链接无法访问" in found and "市住建局网站" in found


def test_correction_form_has_no_department_choice(client, world):
    html = body(client.get("/cases/new/correction"))
    assert 'name="department"' not in html
    assert 'name="site"' in html and 'name="page_url"' in html and 'name="error_type"' in html


def test_attachments_are_accepted_by_content(client, world, png_bytes, post_form):
    data = form_data()
    data["attachments"] = [(io.BytesIO(png_bytes()), "photo.png"), (io.BytesIO(png_bytes()), "b.png")]
    response = post_form(client, "/cases/new/consultation", data, follow_redirects=True)
    assert response.status_code == 200
    number, _ = receipt_of(response)
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert len(case.attachments) == 2


def test_receipt_is_not_cached_and_the_code_is_in_no_url(client, world, post_form):
    posted = post_form(client, "/cases/new/consultation", form_data())
    assert posted.status_code == 303  # post/redirect/get: the receipt page is a GET
    assert posted.headers["Location"] == "/cases/receipt"
    response = client.get(posted.headers["Location"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    _, code = receipt_of(response)
    raw = code.replace("-", "")
    for url in URL_ATTR_RE.findall(body(response)):
        assert code not in url and raw not in url
    assert raw not in response.request.url


@pytest.mark.parametrize("kind", list(KINDS))
def test_publication_is_an_explicit_choice_with_nothing_preselected(client, world, kind):
    html = body(client.get(f"/cases/new/{kind}"))
    options = re.findall(r'<input[^>]*name="publish"[^>]*>', html)
    assert [re.search(r'value="([^"]*)"', o).group(1) for o in options] == ["y", "n"]
    for option in options:
        assert 'type="radio"' in option and re.search(r"\srequired[\s>]", option)
        assert not re.search(r"\schecked[\s>]", option)
    assert "公开</label>" in html and "不公开</label>" in html
    # The form says what publication shows and what it never shows.
    hint = re.search(r'<p class="field-hint" id="publish-hint">([^<]+)</p>', html).group(1)
    for said in ("标题和内容", "答复", "姓名只显示姓氏", "联系电话和电子邮箱一律不公开"):
        assert said in hint


@pytest.mark.parametrize("choice", [None, "", "yes", "on"])
def test_a_submission_without_a_publication_choice_gets_the_form_back(client, world, submit, choice):
    before = case_count()
    response = submit(client, "consultation", publish=choice, title="我的标题")
    assert response.status_code == 400
    html = body(response)
    field = re.search(r'<fieldset class="field field-choices field-invalid" id="field-publish".*?</fieldset>', html, re.S)
    assert field and "请选择是否公开您的来信" in field.group(0)
    assert 'href="#field-publish"' in html  # the error summary links to the choice
    assert 'value="我的标题"' in html and case_count() == before


@pytest.mark.parametrize(("choice", "consent"), [("y", True), ("n", False)])
def test_the_citizens_choice_is_stored_as_consent(client, world, submit, choice, consent):
    number, _ = receipt_of(submit(client, "consultation", publish=choice))
    assert db.session.scalar(select(Case.publish_consent).where(Case.number == number)) is consent


def test_the_api_keeps_publish_optional_with_its_default(client, world):
    body = {"kind": "consultation", **{k: v for k, v in form_data().items() if k != "publish"}}
    response = client.post("/api/v1/cases", json=body)
    assert response.status_code == 201
    number = response.get_json()["number"]
    assert db.session.scalar(select(Case.publish_consent).where(Case.number == number)) is True


def test_invalid_submission_is_refused_field_by_field_and_creates_nothing(client, world, post_form):
    before = case_count()
    data = form_data(phone="", email="not-an-email", title="我的标题")
    data["attachments"] = [(io.BytesIO(b"just some text, not an image"), "fake.png")]
    response = post_form(client, "/cases/new/consultation", data, follow_redirects=True)
    html = body(response)
    assert response.status_code == 400
    assert "请填写联系电话" in html
    assert "电子邮箱格式不正确" in html
    assert "fake.png" in html and "不是 JPEG、PNG 图片或 PDF 文件" in html
    assert html.count("field-invalid") >= 3
    assert 'value="我的标题"' in html  # what the citizen typed is kept
    assert case_count() == before


def test_wrong_code_reads_exactly_like_an_unknown_number(client, world, query, submit):
    number, code = receipt_of(submit(client, "consultation"))
    wrong = query(client, number, "ABCD-EFGH-JKMN")
    unknown = query(client, "2099010199999", code)
    assert wrong.status_code == unknown.status_code == 404
    message = "办件编号或查询码不正确"
    assert message in body(wrong) and message in body(unknown)
    assert "公租房申请条件咨询" not in body(wrong)
    assert query(client, number, code.lower()).status_code == 200  # codes are typed by hand


def test_query_page_is_not_cached(client, world, query, submit):
    number, code = receipt_of(submit(client, "consultation"))
    assert query(client, number, code).headers["Cache-Control"] == "no-store"


# --- query, reply and rating ----------------------------------------------------------------

def test_replied_case_shows_the_reply_and_can_be_rated_once(client, create_case, csrf_from, query):
    case, code = create_case("replied")
    page = query(client, case.number, code)
    html = body(page)
    assert page.status_code == 200
    assert "经核实，符合条件的可以申请。" in html
    assert "已答复" in html and "审核通过" in html
    assert 'action="/cases/query/rating"' in html and 'name="rating"' in html

    rated = client.post("/cases/query/rating", data={
        "csrf_token": csrf_from(html), "number": case.number, "code": code,
        "rating": "basically_satisfied", "comment": "回复及时",
    })
    assert rated.status_code == 200
    assert "感谢您的评价" in body(rated) and "基本满意" in body(rated)
    assert 'name="rating"' not in body(rated)
    db.session.refresh(case)
    assert case.rating == "basically_satisfied"

    again = client.post("/cases/query/rating", data={
        "csrf_token": csrf_from(html), "number": case.number, "code": code, "rating": "dissatisfied",
    })
    assert again.status_code == 409
    assert "该办件已经评价过了" in body(again)
    db.session.refresh(case)
    assert case.rating == "basically_satisfied"


def test_rating_needs_the_right_code_and_a_choice(client, create_case, csrf_from, query):
    case, code = create_case("replied")
    token = csrf_from(body(query(client, case.number, code)))
    wrong = client.post("/cases/query/rating", data={
        "csrf_token": token, "number": case.number, "code": "WRONGCODE123", "rating": "satisfied"})
    assert wrong.status_code == 404
    empty = client.post("/cases/query/rating",
                        data={"csrf_token": token, "number": case.number, "code": code})
    assert empty.status_code == 400 and "请选择满意度" in body(empty)
    db.session.refresh(case)
    assert case.rating is None


def test_open_case_offers_no_rating_and_refuses_one(client, create_case, csrf_from, query):
    case, code = create_case("handling")
    html = body(query(client, case.number, code))
    assert 'name="rating"' not in html and "办理中" in html and "light-" in html
    token = csrf_from(body(client.get("/cases/query")))
    refused = client.post("/cases/query/rating", data={
        "csrf_token": token, "number": case.number, "code": code, "rating": "satisfied"})
    assert refused.status_code == 409 and "办件答复后才能评价" in body(refused)


def test_declined_case_shows_the_reason_to_the_citizen(client, create_case, query):
    case, code = create_case("declined")
    html = body(query(client, case.number, code))
    assert "不予受理" in html and "不属于受理范围" in html and "不属于本部门职责。" in html
    assert 'name="rating"' not in html


def test_internal_notes_stay_off_the_query_page(client, world, create_case, query):
    from interact.services import cases as case_service

    case, code = create_case("handling")
    case_service.draft_reply(world.handler, case, "内部草稿：尚未审核")
    case_service.review_draft(world.reviewer, case, "return", "请补充政策依据")
    db.session.commit()
    html = body(query(client, case.number, code))
    assert "内部草稿" not in html and "请补充政策依据" not in html


# --- published records (Art. 17, 28) ---------------------------------------------------------

def test_published_record_masks_the_name_and_never_shows_contact_details(client, create_case):
    case, _ = create_case("replied", title="小区加装电梯政策", content="我是张三，电话13812345678，请问政策。")
    listing = body(client.get("/records"))
    detail = body(client.get(f"/records/{case.number}"))
    assert "小区加装电梯政策" in listing and f"/records/{case.number}" in listing
    assert "张*" in detail and "经核实，符合条件的可以申请。" in detail
    for html in (listing, detail):
        assert "13812345678" not in html
        assert "zhangsan@example.com" not in html
        assert "张三" not in html


def test_records_templates_read_only_the_public_copies():
    root = Path(__file__).resolve().parents[2] / "templates" / "public" / "records"
    private = re.compile(r"\bcase\.(name|phone|email|title|content|reply_text|rating_comment)\b")
    for template in root.glob("*.html"):
        assert not private.findall(template.read_text(encoding="utf-8")), template.name


@pytest.mark.parametrize("state", ["pending_review", "citizen_opted_out", "reviewer_withheld", "declined"])
def test_unpublished_cases_are_neither_listed_nor_shown(client, create_case, state):
    options = {
        "pending_review": {"status": "pending_review"},
        "citizen_opted_out": {"status": "replied", "publish_consent": False},
        "reviewer_withheld": {"status": "replied", "publish": False},
        "declined": {"status": "declined"},
    }[state]
    case, _ = create_case(title="不应公开的办件", **options)
    listing = client.get("/records")
    assert listing.status_code == 200
    assert "不应公开的办件" not in body(listing) and case.number not in body(listing)
    assert client.get(f"/records/{case.number}").status_code == 404


def test_records_filter_by_department_kind_and_month(client, world, create_case):
    housing, _ = create_case("replied", title="住房类咨询")
    transport, _ = create_case("replied", department=world.transport, kind="complaint", title="公交投诉")
    march, _ = create_case("replied", title="三月的答复")
    march.replied_at = march.replied_at.replace(year=2025, month=3, day=10)
    db.session.commit()

    by_dept = body(client.get("/records?department=transport"))
    assert "公交投诉" in by_dept and "住房类咨询" not in by_dept

    by_kind = body(client.get("/records?kind=complaint"))
    assert "公交投诉" in by_kind and "住房类咨询" not in by_kind

    by_month = body(client.get("/records?month=2025-03"))
    assert "三月的答复" in by_month and "住房类咨询" not in by_month and "公交投诉" not in by_month

    newest_first = body(client.get("/records"))
    assert newest_first.index("公交投诉") < newest_first.index("住房类咨询") < newest_first.index("三月的答复")


@pytest.mark.parametrize("month", ["2025-13", "March", "9999-12", "0001-01", "2025-03-01"])
def test_invalid_month_is_a_clear_400(client, world, month):
    response = client.get("/records", query_string={"month": month})
    assert response.status_code == 400
    assert "月份格式应为 YYYY-MM" in body(response)


def test_records_are_paginated_twenty_a_page(client, create_case):
    for n in range(25):
        create_case("replied", title=f"第{n:02d}号记录")
    first = body(client.get("/records"))
    second = body(client.get("/records?page=2"))
    assert first.count('href="/records/') == 20
    assert second.count('href="/records/') == 5
    assert "共 25 条" in first
    assert 'href="/records?page=2"' in first
    assert "第24号记录" in first and "第00号记录" in second
    # Page numbers stop at the cap (deeper pages are reached by cursor): a clear 400, not a 500.
    deep = client.get("/records?page=99999999999999999999")
    assert deep.status_code == 400 and "只能按页码翻到第 50 页" in body(deep)


def test_pagination_keeps_the_filters(client, world, create_case):
    for n in range(21):
        create_case("replied", department=world.transport, title=f"交通{n}")
    html = body(client.get("/records?department=transport"))
    assert re.search(r'href="/records\?[^"]*department=transport[^"]*page=2|'
                     r'href="/records\?page=2[^"]*department=transport', html)


# --- escaping --------------------------------------------------------------------------------

def test_stored_script_is_escaped_on_query_and_records_pages(client, create_case, query):
    case, code = create_case("replied", title=XSS, content=XSS)
    pages = [
        query(client, case.number, code),
        client.get("/records"),
        client.get(f"/records/{case.number}"),
    ]
    for page in pages:
        html = body(page)
        assert page.status_code == 200
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_public_pages_carry_no_inline_scripts_or_styles(client, create_case):
    case, _ = create_case("replied")
    for url in ("/", "/cases/query", "/records", f"/records/{case.number}", "/cases/new/mailbox"):
        html = body(client.get(url))
        assert "<script" not in html and 'style="' not in html, url
        assert "<main" in html and "<nav" in html, url
