"""Web hardening (issue 3, section 4): security headers, safe redirects, escaping of citizen
text everywhere, and uploads checked by content, size-limited and served safely."""
from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from flask import Response
from PIL import Image
from sqlalchemy import func, select

from interact.domain.errors import PayloadTooLarge, ValidationFailed
from interact.domain.db import db
from interact.domain.models import Attachment, Case
from interact.services import cases as case_service
from interact.services.attachments import check_uploads, path_of
from interact.web.pages import safe_next
from interact.services.attachments import Upload


@pytest.fixture
def build(make_app):
    """Factory: an app with config overrides, its client isolated like the `client` fixture's."""

    def make(surface: str = "all", **overrides):
        return make_app(surface, isolated=True, **overrides)

    return make


def case_count() -> int:
    """How many cases exist."""
    return db.session.scalar(select(func.count(Case.id)))


# --- headers ----------------------------------------------------------------------------------

def assert_security_headers(response: Response, where: str) -> None:
    """The headers every response carries."""
    h = response.headers
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), where
    csp = h.get("Content-Security-Policy", "")
    directives = dict([*d.strip().split(" ", 1), ""][:2] for d in csp.split(";") if d.strip())
    assert "sandbox" in directives or directives.get("frame-ancestors") == "'none'", (where, csp)
    for name in ("script-src", "default-src"):
        assert "'unsafe-inline'" not in directives.get(name, ""), (where, csp)
    if "sandbox" not in directives:
        assert directives.get("script-src") == "'self'", (where, csp)
    assert "Server" not in h and "X-Powered-By" not in h, where


def test_every_kind_of_response_carries_the_security_headers(client, world, create_case, create_token, build, login):
    case, _code = create_case("handling")
    token = create_token(world.handler)
    responses = {
        "public page": client.get("/"),
        "public form": client.get("/cases/new/consultation"),
        "records": client.get("/records"),
        "public API": client.get("/api/v1/records"),
        "public API error": client.get("/api/v1/cases/1", headers={"X-Query-Code": "nope"}),
        "404 page": client.get("/no-such-page"),
        "405 page": client.get("/cases/query/rating"),
        "405 API": client.delete("/api/v1/records"),
        "openapi": client.get("/api/v1/openapi.json"),
        "static": client.get("/static/css/app.css"),
        "staff login": client.get("/staff/login"),
        "staff API": client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"}),
        "staff API 401": client.get("/api/v1/staff/cases"),
    }
    login(client, "handler")
    responses["staff dashboard"] = client.get("/staff/")
    responses["staff case"] = client.get(f"/staff/cases/{case.number}")
    small = build(MAX_CONTENT_LENGTH=2048).test_client()
    responses["413 page"] = small.post("/cases/new/consultation", data={"content": "x" * 5000})
    responses["413 API"] = small.post("/api/v1/cases", json={"content": "x" * 5000})
    expected = {"404 page": 404, "405 page": 405, "405 API": 405, "413 page": 413, "413 API": 413,
                "public API error": 404, "staff API 401": 401}
    for where, response in responses.items():
        response.close()  # the static file's handle
        assert response.status_code == expected.get(where, 200), where
        assert_security_headers(response, where)


def test_staff_responses_are_never_cached_and_public_pages_may_be(client, world, create_case, create_token, login):
    token = create_token(world.handler)
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"
    assert client.get("/staff/nothing-here").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"}).headers[
        "Cache-Control"] == "no-store"
    login(client, "handler")
    assert client.get("/staff/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/records").headers.get("Cache-Control", "")


def test_staff_surface_marks_every_response_no_store(build):
    staff = build("staff").test_client()
    assert staff.get("/api/v1/openapi.json").headers["Cache-Control"] == "no-store"
    with staff.get("/static/css/staff.css") as css:
        assert css.headers["Cache-Control"] == "no-store"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get("/staff/login", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_hsts_behind_a_trusted_proxy_only(build):
    proxied = build(INTERACT_PROXY_COUNT=1).test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Strict-Transport-Security" in proxied.get("/", headers=forwarded).headers
    # Without a configured proxy, a client cannot claim HTTPS by sending the header itself.
    direct = build(INTERACT_PROXY_COUNT=0).test_client()
    assert "Strict-Transport-Security" not in direct.get("/", headers=forwarded).headers


def test_a_server_header_set_by_the_app_is_dropped(build):
    app = build()

    @app.get("/banner-probe")
    def banner_probe():
        """A route that tries to announce its server."""
        return Response("ok", headers={"Server": "interact/0.1 Python/3.11", "X-Powered-By": "Flask"})

    response = app.test_client().get("/banner-probe")
    assert response.status_code == 200
    assert "Server" not in response.headers and "X-Powered-By" not in response.headers


def test_attachment_route_may_set_its_own_stricter_policy(client, world, create_case, login, pdf_bytes):
    case, _code = create_case("assigned", uploads=[Upload("a.pdf", pdf_bytes())])
    login(client, "handler")
    att = case.attachments[0]
    with client.get(f"/staff/cases/{case.number}/attachments/{att.id}") as response:
        assert response.headers["Content-Security-Policy"] == "sandbox"


# --- redirects --------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/", "http:/evil.example",
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "/staff/\r\nSet-Cookie: x=1",
    "/staff/\nx", "/\tevil", "/ /evil", "evil.example", "", None, "/\x7f", "//", "///evil.example",
])
def test_safe_next_refuses_anything_but_a_local_path(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/staff/", "/staff/cases/2026010100001", "/staff/admin/users?page=2", "/"])
def test_safe_next_keeps_a_local_path(target):
    assert safe_next(target) == target


def test_login_redirects_only_to_a_local_next(app, world, post_form):
    for target, expected in (("//evil.example/x", "/staff/"), ("https://evil.example", "/staff/"),
                             ("/\\evil.example", "/staff/"), ("/staff/admin/users", "/staff/admin/users")):
        client = app.test_client()
        response = post_form(client, "/staff/login?next=" + target,
                             {"username": "handler", "password": "Correct-Horse-Battery-9"})
        assert response.status_code in (302, 303)
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert location == expected, (target, location)


# --- escaping ---------------------------------------------------------------------------------

PAYLOAD = '<script>alert(1)</script><img src=x onerror=alert(1)>'
SHORT = "<script>alert(1)</script>"  # fits the 32-character name
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# The public copy hides the citizen's name wherever it occurs, so there only the <img> part shows.
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"


def assert_inert(html: str, where: str, shown: bool = True) -> None:
    """No active markup from the payload; when `shown`, its escaped form is on the page."""
    assert "<script>alert" not in html, where
    assert "<img src=x onerror" not in html and "onerror=alert(1)>" not in html.replace("&gt;", ""), where
    if shown:
        assert ESCAPED in html or ESCAPED_IMG in html, f"{where}: no payload on the page, so the check proves nothing"


def test_stored_script_payloads_are_inert_on_every_page(client, world, create_token, csrf_from, login, post_form):
    """A payload in every citizen and staff text field is shown escaped everywhere, staff pages included."""
    form = client.get("/cases/new/correction").get_data(as_text=True)
    response = client.post("/cases/new/correction", follow_redirects=True, data={
        "csrf_token": csrf_from(form), "site": str(world.site.id), "error_type": "content",
        "page_url": "https://zjj.example.gov.cn/" + SHORT, "title": PAYLOAD, "content": PAYLOAD,
        # An address with markup in it is refused outright now (tests/services/test_email_addresses.py),
        # so the payload travels in every other field.
        "name": SHORT, "phone": "13812345678", "email": "payload@example.com", "publish": "y",
    })
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    code = re.search(r'class="query-code">([^<]+)<', response.get_data(as_text=True))
    assert code, "the receipt shows the query code"
    query_code = code.group(1).strip()
    number = case.number
    tokens = {name: {"Authorization": "Bearer " + create_token(getattr(world, name))}
              for name in ("dispatcher", "handler", "reviewer")}

    def act(who: str, action: str, body: dict) -> None:
        r = client.post(f"/api/v1/staff/cases/{number}/{action}", json=body, headers=tokens[who])
        assert r.status_code == 200, (action, r.get_json())

    act("handler", "transfer", {"reason": PAYLOAD})
    login(client, "dispatcher")
    assert_inert(client.get("/staff/").get_data(as_text=True), "dispatcher dashboard")
    assert_inert(client.get(f"/staff/cases/{number}").get_data(as_text=True), "dispatcher case page")
    act("dispatcher", "dispatch", {"department": "housing"})
    act("handler", "accept", {})
    act("handler", "reply", {"text": PAYLOAD})
    act("reviewer", "review", {"decision": "return", "comment": PAYLOAD})
    act("handler", "reply", {"text": PAYLOAD + " 已修改"})
    login(client, "reviewer")
    assert_inert(client.get("/staff/").get_data(as_text=True), "reviewer dashboard")
    assert_inert(client.get(f"/staff/cases/{number}").get_data(as_text=True), "reviewer case page")
    act("reviewer", "review", {"decision": "approve", "comment": PAYLOAD, "publish": True})

    # The citizen follows the case and rates it with a payload comment.
    page = post_form(client, "/cases/query", {"number": number, "code": query_code})
    assert page.status_code == 200
    assert_inert(page.get_data(as_text=True), "citizen case page")
    rated = client.post("/cases/query/rating", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "number": number, "code": query_code,
        "rating": "satisfied", "comment": PAYLOAD})
    assert rated.status_code == 200
    assert_inert(rated.get_data(as_text=True), "citizen case page after rating")

    assert_inert(client.get("/records").get_data(as_text=True), "records list")
    assert_inert(client.get(f"/records/{number}").get_data(as_text=True), "record page")
    login(client, "handler")
    staff_page = client.get(f"/staff/cases/{number}").get_data(as_text=True)
    assert_inert(staff_page, "handler case page")
    # Every field's payload reached the staff page, escaped: name, e-mail, URL, reply, comments.
    assert staff_page.count(ESCAPED) >= 8
    assert "https://zjj.example.gov.cn/" + ESCAPED in staff_page

    for url, headers in ((f"/api/v1/staff/cases/{number}", tokens["handler"]),
                         (f"/api/v1/cases/{number}", {"X-Query-Code": query_code}),
                         (f"/api/v1/records/{number}", {}), ("/api/v1/records", {})):
        r = client.get(url, headers=headers)
        assert r.status_code == 200, url
        assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.get_json() is not None  # JSON, which no browser runs as a page
    staff_view = client.get(f"/api/v1/staff/cases/{number}", headers=tokens["handler"]).get_json()
    assert staff_view["title"] == PAYLOAD and staff_view["name"] == SHORT  # kept as written, as data


# --- uploads ----------------------------------------------------------------------------------

@pytest.fixture
def submit_with(csrf_from):
    """submit_with(client, files: list[tuple[str, bytes]], kind: str='consultation', field: str='attachments'): submit the citizen form with files attached."""

    def submit_with(client, files: list[tuple[str, bytes]], kind: str = "consultation", field: str = "attachments"):
        """Submit the citizen form with files attached."""
        page = client.get(f"/cases/new/{kind}")
        data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "title": "附件测试", "content": "内容",
                "name": "张三", "phone": "13812345678", "publish": "n"}
        data[field] = [(io.BytesIO(content), name) for name, content in files]
        return client.post(f"/cases/new/{kind}", data=data, content_type="multipart/form-data",
                           follow_redirects=True)

    return submit_with


def test_a_file_over_the_per_file_limit_is_413_with_a_clear_message(build, world, pdf_bytes, submit_with):
    app = build(INTERACT_MAX_UPLOAD_BYTES=1024)
    client = app.test_client()
    before = case_count()
    big = pdf_bytes() + b"%" + b"x" * 2000 + b"\n%%EOF\n"
    response = submit_with(client, [("big.pdf", big)])
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "上传的文件过大" in html and "big.pdf" in html and "请压缩后再上传" in html
    assert 'value="附件测试"' in html, "the form comes back with what the citizen typed"
    assert case_count() == before


def test_per_file_limit_raises_payload_too_large_in_the_service(app, png_bytes):
    app.config["INTERACT_MAX_UPLOAD_BYTES"] = 100
    with pytest.raises(PayloadTooLarge) as caught:
        check_uploads([Upload("big.png", png_bytes((64, 64)) + b"x" * 200)])
    assert caught.value.status_code == 413 and "big.png" in caught.value.message
    with pytest.raises(PayloadTooLarge) as caught:
        case_service.submit_case(case_service.Submission(
            kind="consultation", title="t", content="c", name="n", phone="13812345678",
            uploads=[Upload("big.png", b"x" * 200)]))
    assert caught.value.fields["attachments"]


def test_a_request_over_the_total_limit_is_413_page_and_json(app, build, submit_with):
    client = build(MAX_CONTENT_LENGTH=4096).test_client()
    before = case_count()
    response = submit_with(client, [("a.pdf", b"%PDF-1.4\n" + b"x" * 8000 + b"\n%%EOF\n")])
    assert response.status_code == 413 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "上传的内容过大" in html and "MB" in html
    api = client.post("/api/v1/cases", json={"kind": "consultation", "content": "x" * 8000})
    assert api.status_code == 413
    assert api.get_json()["error"] == "request_entity_too_large" and "上传的内容过大" in api.get_json()["message"]
    assert case_count() == before


@pytest.fixture
def png_declaring(png_bytes):
    """png_declaring(width: int, height: int): a tiny 1×1 PNG whose header claims `width`×`height` pixels (CRC kept valid)."""

    def png_declaring(width: int, height: int) -> bytes:
        """A tiny 1×1 PNG whose header claims `width`×`height` pixels (CRC kept valid)."""
        data = bytearray(png_bytes((1, 1)))
        ihdr_at = data.index(b"IHDR")
        data[ihdr_at + 4:ihdr_at + 12] = struct.pack(">II", width, height)
        crc = zlib.crc32(bytes(data[ihdr_at:ihdr_at + 17])) & 0xFFFFFFFF
        data[ihdr_at + 17:ihdr_at + 21] = struct.pack(">I", crc)
        return bytes(data)

    return png_declaring


def test_decompression_bombs_are_refused_before_decoding(client, world, png_declaring, submit_with):
    bomb = png_declaring(20000, 20000)
    assert len(bomb) < 200
    with Image.open(io.BytesIO(png_declaring(300, 200))) as probe:
        assert probe.size == (300, 200)  # the patched header is read as written
    before = case_count()
    response = submit_with(client, [("bomb.png", bomb)])
    assert response.status_code == 400
    assert "尺寸过大" in response.get_data(as_text=True)
    assert case_count() == before


def test_images_over_the_pixel_guard_but_under_pillows_are_refused(app, png_declaring):
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # 48 MP of almost nothing
    with pytest.raises(ValidationFailed, match="尺寸过大"):
        check_uploads([Upload("wide.png", out.getvalue())])
    with pytest.raises(ValidationFailed, match="尺寸过大"):
        check_uploads([Upload("bomb.png", png_declaring(20000, 20000))], images_only=True)


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF carries a camera model and a GPS position."""
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"  # Model
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_exif_and_gps_are_gone_after_storage(client, world, submit_with):
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get_ifd(0x8825), "the test image does carry GPS data"
    response = submit_with(client, [("photo.jpg", original)])
    assert response.status_code == 200
    att = db.session.scalar(select(Attachment).order_by(Attachment.id.desc()))
    stored = path_of(att).read_bytes()
    assert b"Exif" not in stored and b"PhoneCam" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and not img.getexif() and not img.getexif().get_ifd(0x8825)


def test_png_metadata_is_dropped_too(app):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret location 39.9N")
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    checked = check_uploads([Upload("a.png", out.getvalue())])[0]
    assert b"secret location" not in checked.data and checked.content_type == "image/png"


@pytest.mark.parametrize("name,data", [
    ("version.pdf", b"%PDF-3.0\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    ("noversion.pdf", b"%PDF-\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    ("late-header.pdf", b"junk\n%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"),
    ("no-eof.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n"),
    ("html.pdf", b"<html><script>alert(1)</script></html>"),
    ("exe.pdf", b"MZ\x90\x00" + b"\x00" * 64),
])
def test_files_that_are_not_allowed_pdfs_are_refused(app, name, data):
    with pytest.raises(ValidationFailed, match="不是 JPEG、PNG 图片或 PDF 文件"):
        check_uploads([Upload(name, data)])


def test_other_formats_are_refused_whatever_their_name(app):
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for name, data in (("a.png", gif.getvalue()), ("a.jpg", b"<svg onload=alert(1)>"), ("a.pdf", b"")):
        if not data:
            assert check_uploads([Upload(name, data)]) == []  # an empty file field is no file
            continue
        with pytest.raises(ValidationFailed):
            check_uploads([Upload(name, data)])


def test_stored_files_have_random_names_outside_static(client, app, world, create_case, png_bytes):
    case, _code = create_case("assigned", uploads=[Upload("../../static/evil.html.png", png_bytes())])
    att = case.attachments[0]
    path = path_of(att)
    assert re.fullmatch(r"[0-9a-f]{32}\.png", att.stored_name)
    assert att.filename == "evil.html.png"
    static = Path(app.static_folder).resolve()
    assert static not in path.resolve().parents
    assert client.get(f"/static/{att.stored_name}").status_code == 404
    assert client.get(f"/uploads/{att.stored_name}").status_code == 404


def test_attachments_are_served_only_through_the_checked_route(client, world, create_case, create_user, login, pdf_bytes, png_bytes):
    case, _code = create_case("assigned", uploads=[Upload("scan.pdf", pdf_bytes()), Upload("photo.png", png_bytes())])
    pdf, image = sorted(case.attachments, key=lambda a: a.content_type)
    url = f"/staff/cases/{case.number}/attachments/"
    # Anonymous: sent to the login page; another department's handler: 404.
    assert client.get(url + str(pdf.id)).status_code in (302, 303)
    login(client, "other-handler")
    assert client.get(url + str(pdf.id)).status_code == 404
    login(client, "handler")
    served = client.get(url + str(pdf.id))
    served.close()
    assert served.status_code == 200
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "sandbox"
    assert served.mimetype == "application/pdf"
    shown = client.get(url + str(image.id))
    shown.close()
    assert shown.headers["Content-Disposition"].startswith("inline")  # re-encoded images only
    assert shown.headers["Content-Security-Policy"] == "sandbox" and shown.mimetype == "image/png"
    # An attachment id of another case is not reachable through this case's number.
    other, _ = create_case("assigned", uploads=[Upload("x.png", png_bytes())])
    assert client.get(f"/staff/cases/{case.number}/attachments/{other.attachments[0].id}").status_code == 404
