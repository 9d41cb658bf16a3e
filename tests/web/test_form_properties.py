"""Property tests (hypothesis) of the form validators: whatever a citizen types, the answer is the
value, cleaned, or a readable refusal naming the field, never another error; and the citizen's
form over HTTP answers a receipt or 400 with the form again, never a 500 and never half a case."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.errors import ValidationFailed
from interact.domain.models import Case
from interact.services import submissions
from interact.services.cases import PHONE_RE
from interact.services.inputs import LIMITS, clean_text, is_valid_email
from interact.web.paging import MAX_PAGE, positive_int

PROPERTY = settings(max_examples=120, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
# What people type: any printable text, Chinese included, with the odd tab and newline; the
# gatekeeper refuses other control characters before a validator sees them (tested there).
typed = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r "), max_size=120)


@PROPERTY
@given(value=typed | st.text(min_size=95, max_size=110), required=st.booleans())
def test_clean_text_returns_the_stripped_text_within_its_limit_or_refuses_naming_the_field(app, value, required):
    with app.test_request_context():
        try:
            cleaned = clean_text(value, "title", "标题", required=required)
        except ValidationFailed as exc:
            assert list(exc.fields) == ["title"] and "标题" in exc.message
            assert (required and not value.strip()) or len(value.strip()) > LIMITS["title"]
        else:
            assert cleaned == value.strip() and len(cleaned) <= LIMITS["title"]
            assert cleaned or not required


@PROPERTY
@given(address=st.emails() | typed | st.text(alphabet="ab.@-_+\"<>() ", max_size=40))
def test_an_accepted_address_is_one_a_mail_server_takes(address):
    if is_valid_email(address):
        local, _, domain = address.rpartition("@")
        assert len(address) <= 254 and local.isascii() and local and "." in domain
        assert not set(address) & set(" <>\"()\r\n\t")


@PROPERTY
@given(raw=st.one_of(typed, st.integers(-10**30, 10**30).map(str), st.just("")))
def test_a_page_number_is_in_range_or_the_default_and_strict_mode_refuses_the_rest(app, raw):
    with app.test_request_context("/", query_string={"page": raw}):
        lenient = positive_int("page", 1)
        assert 1 <= lenient <= MAX_PAGE
        try:
            strict = positive_int("page", 1, strict=True)
        except ValidationFailed as exc:
            assert list(exc.fields) == ["page"]
        else:
            assert strict == lenient and (raw == "" or re.fullmatch(r"[0-9]{1,6}", raw))


TOKEN_RE = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')


@pytest.fixture
def form_page(client, world, csrf_from):
    """The consultation form's CSRF token; a fresh one-time token per post."""
    html = client.get("/cases/new/consultation").get_data(as_text=True)
    return csrf_from(html)


@settings(PROPERTY, max_examples=40)
@given(title=typed, content=typed, name=typed, phone=typed | st.from_regex(PHONE_RE, fullmatch=True),
       email=st.one_of(st.just(""), st.emails(), typed), publish=st.sampled_from(["y", "n", "", "maybe"]))
def test_the_citizen_form_answers_a_receipt_or_the_form_with_messages(client, form_page, title, content, name,
                                                                     phone, email, publish):
    before = db.session.scalar(select(func.count()).select_from(Case))
    response = client.post("/cases/new/consultation", data={
        "csrf_token": form_page, "submission_token": submissions.new_form_token(), "title": title,
        "content": content, "name": name, "phone": phone, "email": email, "publish": publish})
    db.session.expire_all()
    after = db.session.scalar(select(func.count()).select_from(Case))
    assert response.status_code in (303, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 303:
        assert after == before + 1
    else:
        assert after == before
        assert 'class="field-error"' in response.get_data(as_text=True)
