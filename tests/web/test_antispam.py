"""Anti-spam on the anonymous forms (issue 3, section 4): a honeypot field on every case form,
and an image CAPTCHA drawn on the server that an administrator can switch on."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.kinds import KINDS
from interact.domain.models import Case
from interact.services import antispam, settings

FIELDS = {"title": "路灯不亮", "content": "某路口路灯不亮。", "name": "王五", "phone": "13700000000"}
ANSWER = "HK7MX"
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"


def case_count() -> int:
    """How many cases exist."""
    return db.session.scalar(select(func.count(Case.id)))


@pytest.fixture
def form_data(csrf_from):
    """form_data(client, kind: str='consultation', **extra): the form's fields with a fresh CSRF token."""

    def form_data(client, kind: str = "consultation", **extra) -> dict:
        """The form's fields with a fresh CSRF token."""
        page = client.get(f"/cases/new/{kind}")
        assert page.status_code == 200
        return {**FIELDS, "publish": "y", "csrf_token": csrf_from(page.get_data(as_text=True)), **extra}

    return form_data


def switch_captcha(world, on: bool) -> None:
    """The administrator turns the CAPTCHA on or off."""
    settings.update(world.admin, **{settings.CAPTCHA: on})
    db.session.commit()


# --- honeypot ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_every_case_form_has_a_honeypot_hidden_from_people(client, world, kind):
    html = client.get(f"/cases/new/{kind}").get_data(as_text=True)
    wrapper = re.search(r'<div class="hp-field"([^>]*)>(.*?)</div>', html, re.S)
    assert wrapper, "the trap field is wrapped in the hiding class"
    assert 'aria-hidden="true"' in wrapper.group(1)
    field = re.search(r"<input[^>]*name=\"homepage\"[^>]*>", wrapper.group(2)).group(0)
    assert 'tabindex="-1"' in field and 'autocomplete="off"' in field
    assert "<label" in wrapper.group(2)
    assert "style=" not in html  # hidden by the stylesheet, not an inline style (CSP)


def test_the_stylesheet_moves_the_honeypot_off_screen():
    rule = re.search(r"\.hp-field\s*\{([^}]*)\}", CSS.read_text(encoding="utf-8"))
    assert rule and "position: absolute" in rule.group(1) and "-10000px" in rule.group(1)


@pytest.mark.parametrize("kind", ["consultation", "mailbox", "correction"])
def test_a_filled_honeypot_is_refused_without_a_case_or_a_reason(client, world, kind, form_data):
    extra = {"department": "gov-office"} if kind == "mailbox" else {}
    if kind == "correction":
        extra = {"site": str(world.site.id), "page_url": "https://zjj.example.gov.cn/a", "error_type": "content"}
    before = case_count()
    response = client.post(f"/cases/new/{kind}", follow_redirects=True, data=form_data(client, kind, homepage="http://spam.example",
                                                                 **extra))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "提交未成功" in html
    assert "homepage" not in html and "个人主页" not in html and "spam.example" not in html
    assert case_count() == before
    # The same form with the trap left empty goes through.
    assert client.post(f"/cases/new/{kind}", follow_redirects=True, data=form_data(client, kind, **extra)).status_code == 200
    assert case_count() == before + 1


def test_a_blank_honeypot_of_only_spaces_counts_as_empty(client, world, form_data):
    assert client.post("/cases/new/consultation", follow_redirects=True, data=form_data(client, homepage="  ")).status_code == 200


# --- CAPTCHA ----------------------------------------------------------------------------------

def test_captcha_is_off_by_default(client, world, form_data):
    assert settings.captcha_enabled() is False
    assert 'name="captcha"' not in client.get("/cases/new/consultation").get_data(as_text=True)
    assert client.get("/captcha.png").status_code == 404
    assert client.post("/cases/new/consultation", follow_redirects=True, data=form_data(client)).status_code == 200


@pytest.fixture
def captcha_on(world, monkeypatch):
    """The CAPTCHA switched on, with a known answer for the test."""
    monkeypatch.setattr(antispam, "new_answer", lambda: ANSWER)
    switch_captcha(world, True)


def test_the_form_shows_a_server_drawn_image_when_switched_on(client, captcha_on):
    html = client.get("/cases/new/consultation").get_data(as_text=True)
    img = re.search(r'<img class="captcha-image" src="([^"]+)"[^>]*alt="[^"]+"', html)
    assert img and img.group(1).startswith("/captcha.png")
    assert re.search(r'<input[^>]*name="captcha"[^>]*required', html)
    image = client.get(img.group(1).replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(image.get_data())) as png:
        assert png.format == "PNG" and png.size == antispam.SIZE
        assert len(png.getcolors(100_000)) > 20, "noise and several colours, not a flat image"


def test_the_session_holds_only_a_keyed_hash_of_the_answer(app, client, captcha_on):
    client.get("/cases/new/consultation")
    client.get("/captcha.png")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    challenge = data["captcha"]
    assert ANSWER not in str(data) and ANSWER.lower() not in str(data)
    assert re.fullmatch(r"[0-9a-f]{64}", challenge["h"]) and challenge["e"] > 0


def test_submission_needs_the_right_answer_when_switched_on(client, captcha_on, form_data):
    before = case_count()
    data = form_data(client)
    missing = client.post("/cases/new/consultation", follow_redirects=True, data=data)
    assert missing.status_code == 400 and "验证码不正确" in missing.get_data(as_text=True)
    assert 'value="路灯不亮"' in missing.get_data(as_text=True), "the form keeps what was typed"
    client.get("/captcha.png")
    wrong = client.post("/cases/new/consultation", follow_redirects=True, data={**form_data(client), "captcha": "AAAAA"})
    assert wrong.status_code == 400 and case_count() == before
    client.get("/captcha.png")
    right = client.post("/cases/new/consultation", follow_redirects=True, data={**form_data(client), "captcha": " hk7mx "})
    assert right.status_code == 200, right.get_data(as_text=True)[:800]
    assert case_count() == before + 1


def test_an_answer_is_spent_by_one_attempt(client, captcha_on, form_data):
    client.get("/captcha.png")
    data = form_data(client)
    assert client.post("/cases/new/consultation", follow_redirects=True, data={**data, "captcha": "WRONG"}).status_code == 400
    # The wrong try spent the challenge: the right answer to that image no longer counts.
    assert client.post("/cases/new/consultation", follow_redirects=True, data={**data, "captcha": ANSWER}).status_code == 400


def test_a_replayed_session_with_a_solved_challenge_is_refused(app, client, captcha_on, form_data):
    client.get("/captcha.png")
    name = app.config["SESSION_COOKIE_NAME"]
    data = form_data(client)
    solved_cookie = client.get_cookie(name).value
    before = case_count()
    assert client.post("/cases/new/consultation", follow_redirects=True, data={**data, "captcha": ANSWER}).status_code == 200
    client.set_cookie(name, solved_cookie)  # a bot keeps the old cookie and tries again
    again = client.post("/cases/new/consultation", follow_redirects=True, data={**data, "captcha": ANSWER})
    assert again.status_code == 400 and case_count() == before + 1


def test_an_expired_challenge_is_refused(client, captcha_on, monkeypatch, form_data):
    client.get("/captcha.png")
    data = form_data(client)
    later = antispam.time.time() + 301
    monkeypatch.setattr(antispam.time, "time", lambda: later)
    assert client.post("/cases/new/consultation", follow_redirects=True, data={**data, "captcha": ANSWER}).status_code == 400


def test_the_honeypot_still_applies_with_the_captcha_on(client, captcha_on, form_data):
    client.get("/captcha.png")
    before = case_count()
    response = client.post("/cases/new/consultation", follow_redirects=True, data={**form_data(client), "captcha": ANSWER,
                                                            "homepage": "x"})
    assert response.status_code == 400 and case_count() == before


def test_the_public_api_has_no_captcha_and_is_rate_limited_instead(client, captcha_on):
    from interact.web.ratelimit import ENDPOINTS

    body = {"kind": "consultation", **FIELDS}
    assert client.post("/api/v1/cases", json=body).status_code == 201
    assert ENDPOINTS["api_public.submit"][0] == "submit"


def test_switching_off_again_removes_the_requirement(client, world, captcha_on, form_data):
    switch_captcha(world, False)
    assert client.post("/cases/new/consultation", follow_redirects=True, data=form_data(client)).status_code == 200
    assert client.get("/captcha.png").status_code == 404


def test_each_challenge_draws_a_new_answer_and_image(app):
    answers = {antispam.new_answer() for _ in range(20)}
    assert len(answers) > 15 and all(len(a) == antispam.LENGTH and set(a) <= set(antispam.ALPHABET)
                                     for a in answers)
    assert antispam.render("HK7MX") != antispam.render("HK7MX")  # the noise differs every time
