"""Logs stay clean: no password, token, query code, ID number or phone number reaches a log."""
from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fixtures.values import PASSWORD
from werkzeug.serving import make_server

from interact.web import logs
from interact.domain.db import db

PHONE = "13987654321"
ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number (check character X)
EMAIL = "zhang.san@example.com"


# --- the scrubber --------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "secret"), [
    (f"phone={PHONE}", PHONE),
    (f"电话 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}", PHONE[3:7] + " " + PHONE[7:]),
    (f"+86-{PHONE}", PHONE),
    (f"身份证 {ID_NUMBER}", ID_NUMBER),
    (f"contact {EMAIL}", EMAIL),
    ("POST /staff/login password=Correct-Horse-Battery-9&username=x", "Correct-Horse-Battery-9"),
    ('{"password": "Correct-Horse-Battery-9"}', "Correct-Horse-Battery-9"),
    ('{"password": "two words"}', "words"),
    ("new_password=S3cret-Value-123", "S3cret-Value-123"),
    ("Authorization: Bearer itk_abcdefABCDEF0123456789_-xyz", "itk_abcdefABCDEF0123456789_-xyz"),
    ("Authorization: Bearer opaque.jwt-like.value", "opaque.jwt-like.value"),
    ("GET /api/v1/staff/cases?access_token=itk_Zz9_qwertyuiop HTTP/1.1", "itk_Zz9_qwertyuiop"),
    ("token itk_Zz9_qwertyuiop leaked", "itk_Zz9_qwertyuiop"),
    ("GET /cases/query?number=2026112700001&code=ABCD-EFGH-JKMN HTTP/1.1", "ABCD-EFGH-JKMN"),
    ("query code ABCD EFGH JKMN", "ABCD EFGH JKMN"),
    ("typed ABCDEFGHJKMN at the desk", "ABCDEFGHJKMN"),
    ("typed abcd-efgh-jkmn in lower case", "abcd-efgh-jkmn"),
    ("X-Query-Code: ABCDEFGHJKMN", "ABCDEFGHJKMN"),
])
def test_secrets_and_personal_data_are_scrubbed(raw, secret):
    assert secret not in logs.redact(raw)


@pytest.mark.parametrize("harmless", [
    '127.0.0.1 - - [27/Nov/2026 10:00:00] "GET /staff/cases/2026112700042 HTTP/1.1" 200 -',
    "recomputed 17 deadlines in 0.12 s",
    "case 2026112700042 moved from handling to pending_review",
    "order 20261127100000123456 amount 12345.67",
])
def test_ordinary_log_lines_are_left_alone(harmless):
    assert logs.redact(harmless) == harmless


def test_every_logger_is_scrubbed_including_exceptions(app, caplog):
    caplog.set_level(logging.DEBUG)
    app.logger.warning("citizen called from %s about id %s", PHONE, ID_NUMBER)
    logging.getLogger("werkzeug").info('"GET /cases/query?code=%s HTTP/1.1" 200 -', "ABCD-EFGH-JKMN")
    logging.getLogger("interact.services.something").info("password=%s", PASSWORD)
    logging.getLogger("some.library").error("Authorization: Bearer itk_leakedtoken12345")
    try:
        raise ValueError(f"bad row ('张三', '{PHONE}', '{ID_NUMBER}')")
    except ValueError:
        app.logger.exception("request failed")
    text = caplog.text
    for secret in (PHONE, ID_NUMBER, "ABCD-EFGH-JKMN", PASSWORD, "itk_leakedtoken12345"):
        assert secret not in text
    assert "[手机号]" in text and "[身份证号]" in text and "request failed" in text


def test_sql_parameters_never_appear_in_logs_or_errors(app, caplog):
    caplog.set_level(logging.DEBUG)  # SQLAlchemy logs every statement at INFO once enabled
    from sqlalchemy import text

    with pytest.raises(Exception) as raised:  # noqa: PT011 - any driver error will do
        db.session.execute(text("SELECT * FROM no_such_table WHERE phone = :p"), {"p": "139 8765 4321 secret"})
    db.session.rollback()
    assert "139 8765 4321 secret" not in str(raised.value)
    assert "139 8765 4321 secret" not in caplog.text


# --- end to end, through a real server and its request log -----------------------------------------

@contextmanager
def served(app) -> Iterator[str]:
    """Run `app` on werkzeug's development server (which writes the request log) in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Browser:
    """A cookie-keeping HTTP client for the real server."""

    def __init__(self, base: str, csrf_from):
        """A client for the server at `base`; `csrf_from` reads a form's token."""
        self.base = base
        self.csrf_from = csrf_from
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, data: dict | None = None, json_body: dict | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        """Send one request; return the status and the body (after redirects)."""
        body, all_headers = None, dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=all_headers)  # noqa: S310 - always http://127.0.0.1
        try:
            with self.opener.open(req, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def post_form(self, path: str, data: dict, form_path: str | None = None) -> tuple[int, str]:
        """GET the form, then POST `data` with its CSRF token."""
        status, html = self.request("GET", form_path or path)
        assert status == 200, (form_path or path, status)
        return self.request("POST", path, data={**data, "csrf_token": self.csrf_from(html)})


def test_logs_hold_no_secret_while_citizens_and_staff_use_the_site(app, world, create_token, caplog, csrf_from):
    caplog.set_level(logging.DEBUG)
    token = create_token(world.handler)
    db.session.commit()
    with served(app) as base:
        citizen = Browser(base, csrf_from)
        status, body = citizen.request("POST", "/api/v1/cases", json_body={
            "kind": "consultation", "department": "housing", "title": "公租房",
            "content": f"我的身份证号 {ID_NUMBER}，电话 {PHONE}，邮箱 {EMAIL}。", "name": "张三", "phone": PHONE,
            "email": EMAIL})
        assert status == 201, body
        receipt = json.loads(body)
        number, code = receipt["number"], receipt["query_code"]
        bare_code = code.replace("-", "")
        assert citizen.request("GET", f"/api/v1/cases/{number}", headers={"X-Query-Code": code})[0] == 200
        citizen.post_form("/cases/query", {"number": number, "code": code})
        # A citizen who pastes everything into the address bar.
        citizen.request("GET", f"/cases/query?number={number}&code={code}&phone={PHONE}&id={ID_NUMBER}")
        citizen.request("GET", f"/cases/query?number={number}&code={bare_code}")

        staff = Browser(base, csrf_from)
        status, _html = staff.post_form("/staff/login", {"username": "handler", "password": PASSWORD})
        assert status == 200
        status, _html = staff.post_form("/staff/login", {"username": "handler", "password": PASSWORD + "x"})
        api = Browser(base, csrf_from)
        assert api.request("GET", "/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"})[0] == 200
        api.request("GET", f"/api/v1/staff/cases?access_token={token}")

    request_log = [r for r in caplog.records if r.name == "werkzeug"]
    assert any("/api/v1/cases" in r.getMessage() for r in request_log), "the request log was not captured"
    everything = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records)
    for secret in (PHONE, ID_NUMBER, EMAIL, code, bare_code, PASSWORD, token, token[4:]):
        assert secret not in everything, secret
