"""A re-sent submission never creates a second case (issue 8): post/redirect/get and a one-time
token for the HTML form, an optional `Idempotency-Key` header for the JSON API.

The concurrent re-send runs each request in its own thread with its own app context (so its own
session and connection), the first one held inside its transaction after creating its case: the
unique index on the key's hash, not a check before it, must decide which one creates.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.models import Case
from interact.services import submissions
from interact.services.cases import Submission

FORM = {"title": "路灯不亮", "content": "某路口路灯不亮。", "name": "王五", "phone": "13700000000", "publish": "y"}
BODY = {"kind": "consultation", "title": "路灯不亮", "content": "某路口路灯不亮。", "name": "王五",
        "phone": "13700000000"}
CODE_RE = re.compile(r'class="query-code">([^<]+)<')
NUMBER_RE = re.compile(r'class="case-number">(\d{13})<')
TOKEN_RE = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')
HOLD_SECONDS = 0.4


def case_count() -> int:
    """How many cases exist."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def form_payload(client, csrf_from) -> dict:
    """The form's fields with the CSRF and one-time tokens of one rendering of the form."""
    html = client.get("/cases/new/consultation").get_data(as_text=True)
    return {**FORM, "csrf_token": csrf_from(html), "submission_token": TOKEN_RE.search(html).group(1)}


def test_each_rendering_of_the_form_carries_a_new_token(client, world):
    first, second = (TOKEN_RE.search(client.get("/cases/new/consultation").get_data(as_text=True))
                     for _ in range(2))
    assert first and second and first.group(1) != second.group(1)


def test_refreshing_the_receipt_creates_nothing_and_shows_the_code_once(client, world, csrf_from):
    before = case_count()
    payload = form_payload(client, csrf_from)
    posted = client.post("/cases/new/consultation", data=payload)
    assert posted.status_code == 303 and posted.headers["Location"] == "/cases/receipt"
    shown = client.get("/cases/receipt").get_data(as_text=True)
    number = NUMBER_RE.search(shown).group(1)
    assert CODE_RE.search(shown)
    # The refresh a browser does now is a GET; the one it did before re-sent the POST.
    again = client.get("/cases/receipt")
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and again.headers["Cache-Control"] == "no-store"
    assert NUMBER_RE.search(html).group(1) == number
    assert not CODE_RE.search(html) and "查询码已在首次显示本页时给出" in html
    resent = client.post("/cases/new/consultation", data=payload, follow_redirects=True)
    assert resent.status_code == 200
    assert NUMBER_RE.search(resent.get_data(as_text=True)).group(1) == number
    assert case_count() == before + 1


def test_a_resend_before_the_receipt_was_seen_still_shows_the_code_once(client, world, csrf_from):
    payload = form_payload(client, csrf_from)
    assert client.post("/cases/new/consultation", data=payload).status_code == 303
    assert client.post("/cases/new/consultation", data=payload).status_code == 303
    html = client.get("/cases/receipt").get_data(as_text=True)
    assert CODE_RE.search(html)
    assert not CODE_RE.search(client.get("/cases/receipt").get_data(as_text=True))


def test_the_same_token_from_another_session_gets_the_receipt_without_the_code(app, client, world, csrf_from):
    before = case_count()
    payload = form_payload(client, csrf_from)
    first = client.post("/cases/new/consultation", data=payload, follow_redirects=True).get_data(as_text=True)
    other = app.test_client()
    html = other.get("/cases/new/consultation").get_data(as_text=True)
    resent = other.post("/cases/new/consultation", data={**payload, "csrf_token": csrf_from(html)},
                        follow_redirects=True).get_data(as_text=True)
    assert NUMBER_RE.search(resent).group(1) == NUMBER_RE.search(first).group(1)
    assert not CODE_RE.search(resent)
    assert case_count() == before + 1


def test_a_receipt_page_without_a_submission_sends_home(client, world):
    response = client.get("/cases/receipt")
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_two_concurrent_resends_of_one_token_create_one_case(app, world, monkeypatch):
    before = case_count()
    real = submissions.submit_case
    calls = {"n": 0}

    def held(*args, **kwargs):
        """The first submission waits inside its transaction after creating its case."""
        calls["n"] += 1
        case, code = real(*args, **kwargs)
        if calls["n"] == 1:
            time.sleep(HOLD_SECONDS)
        return case, code

    monkeypatch.setattr(submissions, "submit_case", held)
    numbers: dict[str, object] = {}
    started = threading.Event()

    def run(name, wait=None):
        with app.test_request_context():
            try:
                if wait is not None:
                    wait.wait(5)
                case, code = submissions.submit_once(Submission(**{**BODY, "publish": True}),
                                                     submissions.FORM_SCOPE, "same-token-1234")
                numbers[name] = (case.number, code is not None)
            except Exception as exc:  # the assertion below shows what a racer raised
                numbers[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=("first",)),
               threading.Thread(target=run, args=("second", started))]
    for t in threads:
        t.start()
    time.sleep(0.1)
    started.set()
    for t in threads:
        t.join(15)
    assert isinstance(numbers.get("first"), tuple) and isinstance(numbers.get("second"), tuple), numbers
    assert numbers["first"][0] == numbers["second"][0]
    assert sorted(shown for _, shown in numbers.values()) == [False, True]  # one code, shown once
    assert case_count() == before + 1


def test_the_api_idempotency_key_answers_the_first_receipt(client, world):
    before = case_count()
    headers = {"Idempotency-Key": "order-42-e7c1"}
    first = client.post("/api/v1/cases", json=BODY, headers=headers)
    assert first.status_code == 201 and first.get_json()["query_code"]
    again = client.post("/api/v1/cases", json=BODY, headers=headers)
    assert again.status_code == 200
    replay, receipt = again.get_json(), first.get_json()
    assert replay["number"] == receipt["number"] and replay["query_code"] is None
    assert replay["status"] == receipt["status"] and replay["due_date"] == receipt["due_date"]
    assert again.headers["Location"] == first.headers["Location"]
    assert case_count() == before + 1


def test_the_same_key_with_another_body_is_a_conflict(client, world):
    headers = {"Idempotency-Key": "order-43"}
    assert client.post("/api/v1/cases", json=BODY, headers=headers).status_code == 201
    before = case_count()
    response = client.post("/api/v1/cases", json={**BODY, "title": "另一件事"}, headers=headers)
    assert response.status_code == 409
    assert case_count() == before


def test_without_a_key_every_api_request_is_a_new_case(client, world):
    before = case_count()
    numbers = {client.post("/api/v1/cases", json=BODY).get_json()["number"] for _ in range(2)}
    assert len(numbers) == 2 and case_count() == before + 2


@pytest.mark.parametrize("key", ["", "with space", "x" * 129, "caf\u00e9"])
def test_a_malformed_key_is_refused(client, world, key):
    before = case_count()
    response = client.post("/api/v1/cases", json=BODY, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert case_count() == before
