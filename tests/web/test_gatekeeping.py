"""Input gatekeeping (issue 8): bytes no citizen types and numbers no row has are refused by one layer
(interact.web.gatekeeper) on every route of both surfaces, pages and API alike: 400 for a bad value,
404 for a bad path, never 500. PostgreSQL refuses NUL in text and SQLite overflows on huge integers,
so these run on both databases. A 405 answer names the allowed methods."""
from __future__ import annotations

import io

import pytest

from interact.web.gatekeeper import MAX_DEPTH

HUGE = "9" * 25  # past every database's integer
BIG = str(2 ** 40)  # within 64 bits, past a 32-bit id
CITIZEN = {
    "kind": "consultation", "title": "公租房申请条件咨询", "content": "请问外地户籍能否申请公租房？",
    "name": "张三", "phone": "13812345678", "email": "zhangsan@example.com", "publish": True,
}
FORM = {"title": "公租房申请条件咨询", "content": "请问外地户籍能否申请公租房？", "name": "张三",
        "phone": "13812345678", "email": "zhangsan@example.com", "publish": "y"}


def bearer(token: str) -> dict:
    """The Authorization header for a staff token."""
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response, status: int) -> None:
    """`status`, in the shape of the app's other errors: JSON under /api/, the error page elsewhere."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.request.path.startswith("/api/"):
        body = response.get_json()
        assert body["error"] == ("invalid" if status == 400 else "not_found") and body["message"]
    else:
        assert response.mimetype == "text/html" and "<html" in response.get_data(as_text=True)


# --- the public surface -----------------------------------------------------------------------

@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/records/%00", 404),
    ("/api/v1/records/1%002", 404),
    ("/api/v1/cases/%00", 404),  # this and the kind, month and `kind=%1F` probes held before the gate too
    ("/records/%00", 404),
    ("/feeds/departments/%00.atom", 404),
    ("/feeds/kinds/%01.atom", 404),
    ("/subscribe/confirm/%00", 404),
    ("/unsubscribe/%00", 404),
    ("/api/v1/records?department=%00", 400),
    ("/api/v1/records?month=2026-0%001", 400),
    ("/api/v1/records?kind=%1F", 400),
    ("/records?department=%00", 400),
    ("/records?month=%00", 400),
    ("/subscribe?department=%00", 400),
    ("/cases/query?number=%00", 400),
    ("/cases/query/reset?number=%00", 400),
])
def test_public_gets_refuse_control_characters(client, world, url, status):
    assert_refused(client.get(url), status)


def test_tab_and_newline_are_ordinary_text(client, world):
    """Tab, CR and LF are what a textarea sends: they pass."""
    assert client.get("/records?department=%09%0D%0A").status_code == 200
    response = client.post("/api/v1/cases", json={**CITIZEN, "content": "第一行\r\n第二行\t完"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("fields", [
    {"title": "公租房\x00申请"},
    {"content": "\x00"},
    {"name": "张\x07三"},
    {"title": "\ud800"},
    {"content": "前\udfff后"},
    {"extra": {"deep": ["\x00"]}},
    {"\x00": "key"},
    {"kind": "correction", "site": 2 ** 40, "page_url": "https://zjj.example.gov.cn/1.html",
     "error_type": "broken_link"},
    {"kind": "correction", "site": BIG, "page_url": "https://zjj.example.gov.cn/1.html", "error_type": "broken_link"},
    {"kind": "correction", "site": int(HUGE), "page_url": "https://zjj.example.gov.cn/1.html",
     "error_type": "broken_link"},
    {"extra": 2 ** 64},
    {"extra": -(2 ** 63) - 1},
], ids=repr)
def test_api_submission_refuses_bad_json_values(client, world, fields):
    assert_refused(client.post("/api/v1/cases", json={**CITIZEN, **fields}), 400)


def test_api_keeps_64_bit_integers_where_no_id_is_meant(client, world):
    """A large number in a field no service reads as an id is left to the schema."""
    response = client.post("/api/v1/cases", json={**CITIZEN, "extra": 2 ** 62})
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"title": ' * 50_000 + "1" + "}" * 50_000,
    '{"extra": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}",  # the object and MAX_DEPTH lists: one too many
], ids=["deep-list", "deep-object", "just-past-the-bound"])
def test_api_refuses_deeply_nested_json(client, world, body):
    response = client.post("/api/v1/cases", data=body, content_type="application/json")
    assert_refused(response, 400)
    assert "嵌套" in response.get_json()["message"]


def test_api_accepts_json_nested_to_the_bound(client, world):
    """The body object and MAX_DEPTH - 1 lists inside it: exactly at the bound, so it passes."""
    nested: list = []
    for _level in range(MAX_DEPTH - 2):
        nested = [nested]
    response = client.post("/api/v1/cases", json={**CITIZEN, "extra": nested})
    assert response.status_code == 201, response.get_json()


def test_api_rating_refuses_a_lone_surrogate(client, world, create_case):
    case, code = create_case("replied")
    response = client.post(f"/api/v1/cases/{case.number}/rating", json={"rating": "satisfied", "comment": "\ud800"},
                           headers={"X-Query-Code": code})
    assert_refused(response, 400)


@pytest.mark.parametrize(("kind", "fields"), [
    ("consultation", {"title": "公租房\x00申请"}),
    ("consultation", {"content": "第一行\x00"}),
    ("consultation", {"name": "\x1b[31m张三"}),
    ("correction", {"site": BIG, "page_url": "https://zjj.example.gov.cn/1.html", "error_type": "broken_link"}),
    ("correction", {"site": HUGE, "page_url": "https://zjj.example.gov.cn/1.html", "error_type": "broken_link"}),
], ids=repr)
def test_public_forms_refuse_bad_values(client, world, post_form, kind, fields):
    assert_refused(post_form(client, f"/cases/new/{kind}", {**FORM, **fields}), 400)


def test_public_form_refuses_a_control_character_in_a_file_name(client, world, post_form, png_bytes):
    data = {**FORM, "attachments": [(io.BytesIO(png_bytes()), "photo\x00.png")]}
    assert_refused(post_form(client, "/cases/new/consultation", data), 400)


def test_case_query_form_refuses_a_nul(client, world, post_form):
    assert_refused(post_form(client, "/cases/query", {"number": "2026\x00", "code": "ABCD-EFGH"}), 400)



# --- the staff surface ------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "url", "status"), [
    ("auditor", "/staff/audit?action=%00", 400),
    ("auditor", "/staff/audit?user=%00", 400),
    ("auditor", "/staff/audit/export.csv?object_id=%00", 400),
    # web/paging.py already bounded these page parameters, and the calendar its year: kept as guards.
    ("auditor", f"/staff/audit?before={HUGE}", 200),
    ("auditor", f"/staff/audit?after={HUGE}", 200),
    ("dispatcher", f"/staff/?dispatch_page={HUGE}", 200),
    ("handler", "/staff/cases/%00", 404),
    ("handler", "/staff/cases/{number}/attachments/" + HUGE, 404),
    ("handler", "/staff/cases/{number}/attachments/" + BIG, 404),
    ("dispatcher", "/staff/overdue?page=%00", 400),
    ("admin", "/staff/admin/users/%00", 404),
    ("admin", "/staff/admin/departments/%00", 404),
    ("admin", f"/staff/admin/calendar?year={HUGE}", 404),
])
def test_staff_pages_refuse_bad_input(client, world, create_case, login, who, url, status):
    case, _code = create_case("handling")
    login(client, who)
    response = client.get(url.format(number=case.number))
    if status == 200:  # a forgiving page parameter: clamped or ignored, never a 500
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    else:
        assert_refused(response, status)


@pytest.mark.parametrize(("url", "data", "status"), [
    ("/staff/cases/{number}/masks", {"field": "content", "text": "外地\x00户籍"}, 400),
    ("/staff/cases/{number}/masks/" + HUGE + "/lift", {"lifted": "1"}, 404),
    ("/staff/cases/{number}/masks/" + BIG + "/lift", {"lifted": "1"}, 404),
    ("/staff/cases/{number}/review", {"decision": "return", "comment": "请\x00修改"}, 400),
])
def test_staff_forms_refuse_bad_input(client, world, create_case, login, post_form, url, data, status):
    case, _code = create_case("pending_review")
    login(client, "reviewer")
    response = post_form(client, url.format(number=case.number), data, form_url=f"/staff/cases/{case.number}")
    assert_refused(response, status)


@pytest.mark.parametrize("message_id", [HUGE, BIG])
def test_outbox_requeue_refuses_an_id_past_the_range(client, world, login, post_form, message_id):
    login(client, "admin")
    response = post_form(client, "/staff/admin/outbox/requeue", {"message_id": message_id},
                         form_url="/staff/admin/outbox")
    assert_refused(response, 400)


@pytest.mark.parametrize(("method", "url", "body", "status"), [
    ("get", "/api/v1/staff/cases/%00", None, 404),
    ("get", "/api/v1/staff/cases?status=%00", None, 400),  # like the two mask bodies, refused before the gate
    ("get", "/api/v1/staff/cases?department=%00", None, 400),
    ("post", "/api/v1/staff/cases/%00/accept", {}, 404),
    ("post", "/api/v1/staff/cases/{number}/masks", {"field": "content", "text": "外地\x00户籍"}, 400),
    ("post", "/api/v1/staff/cases/{number}/masks", {"field": "content", "text": "\ud800"}, 400),
    ("post", "/api/v1/staff/cases/{number}/masks/" + HUGE + "/lift", {"lifted": True}, 404),
    ("post", "/api/v1/staff/cases/{number}/masks/" + BIG + "/lift", {"lifted": True}, 404),
    ("post", "/api/v1/staff/cases/{number}/review", {"decision": "return", "comment": "请\x00修改"}, 400),
])
def test_staff_api_refuses_bad_input(client, world, create_case, create_token, method, url, body, status):
    case, _code = create_case("pending_review")
    token = create_token(world.reviewer)
    response = getattr(client, method)(url.format(number=case.number), json=body, headers=bearer(token))
    assert_refused(response, status)


# --- 405 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("put", "/records", {"GET", "HEAD", "OPTIONS"}),
    ("delete", "/cases/new/consultation", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("get", "/api/v1/cases", {"OPTIONS", "POST"}),
    ("delete", "/api/v1/records/1", {"GET", "HEAD", "OPTIONS"}),
])
def test_method_not_allowed_names_the_allowed_methods(client, world, method, url, allowed):
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    if url.startswith("/api/"):
        assert response.get_json()["error"] == "method_not_allowed"


def test_staff_login_refuses_a_nul_in_the_user_name(client, world, post_form):
    assert_refused(post_form(client, "/staff/login", {"username": "admin\x00", "password": "x"}), 400)


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer itk_\x00abc"},
    {"User-Agent": "curl\x00"},
], ids=["token", "user-agent"])
def test_staff_api_refuses_a_control_character_in_a_header(client, world, create_case, create_token, headers):
    case, _code = create_case("assigned")
    token = create_token(world.handler)
    response = client.post(f"/api/v1/staff/cases/{case.number}/accept", json={},
                           headers={"Authorization": f"Bearer {token}", **headers})
    assert_refused(response, 400)
