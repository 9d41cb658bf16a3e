"""Public pages from the page cache: the same page for one query, never stale once a change commits."""
from __future__ import annotations

import json
import os
import uuid

import pytest

from interact.domain.db import db
from interact.services import directory, publication
from interact.services.tx import unit_of_work

PAGES = ["/", "/records", "/api/v1/records", "/feeds/records.atom", "/feeds/departments/housing.atom"]
REDIS_URL = os.environ.get("INTERACT_TEST_REDIS_URL")


def text(response) -> str:
    """The answer as text; JSON with its characters unescaped."""
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return response.get_data(as_text=True)


def test_a_cached_page_is_the_same_page_for_one_query(client, create_case, counted):
    case, _code = create_case("replied", title="公交线路调整咨询")
    for url in PAGES + [f"/records/{case.number}", f"/api/v1/records/{case.number}"]:
        first = client.get(url)
        with counted() as statements:
            second = client.get(url)
        assert second.status_code == 200 and second.get_data() == first.get_data(), url
        assert second.content_type == first.content_type
        assert len(statements) == 1, (url, statements)  # the public state's version, nothing else
        assert second.headers["ETag"] == first.headers["ETag"]
        assert second.headers["Cache-Control"] in ("public, no-cache", "public, max-age=300")


def test_a_new_or_withdrawn_record_shows_on_every_cached_page_at_once(client, create_case):
    create_case("replied", title="第一条公开记录")
    etags = {url: client.get(url).headers["ETag"] for url in PAGES}
    case, _code = create_case("replied", title="第二条新公开")
    for url in PAGES[1:]:
        response = client.get(url)
        assert "第二条新公开" in text(response), url
        assert response.headers["ETag"] != etags[url]
    assert client.get(f"/records/{case.number}").status_code == 200
    with unit_of_work():
        publication.clear_public_copy(case)
    for url in PAGES[1:]:
        assert "第二条新公开" not in text(client.get(url)), url
    assert client.get(f"/records/{case.number}").status_code == 404
    assert client.get(f"/api/v1/records/{case.number}").status_code == 404


def test_a_department_renamed_shows_on_the_cached_records(client, world, create_case):
    create_case("replied")
    assert world.housing.name in text(client.get("/records"))
    with unit_of_work():
        directory.update_department(world.housing, name="市住房保障和房产管理局", active=True,
                                    mailbox_name=None)
    assert "市住房保障和房产管理局" in text(client.get("/records"))


def test_work_on_unpublished_cases_keeps_the_cached_pages(client, create_case):
    """Submissions, dispatches and drafts change nothing public: the cache stays warm under them."""
    create_case("replied")
    client.get("/records")
    version = publication.public_version()
    for status in ("submitted", "assigned", "handling", "pending_review"):
        create_case(status)
    assert publication.public_version() == version


def test_an_unchanged_page_answers_304_without_a_body(client, create_case):
    create_case("replied")
    etag = client.get("/records").headers["ETag"]
    again = client.get("/records", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    create_case("replied", title="又一条")
    changed = client.get("/records", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "又一条" in text(changed)


def test_unknown_parameters_do_not_make_new_cache_entries(client, create_case):
    create_case("replied")
    plain = client.get("/records").headers["ETag"]
    assert client.get(f"/records?utm={uuid.uuid4().hex}").headers["ETag"] == plain
    assert client.get("/records?kind=complaint").headers["ETag"] != plain


def test_errors_and_pages_that_write_the_session_are_not_cached(client, create_case):
    create_case("replied")
    bad = client.get("/records?month=2025-13")
    assert bad.status_code == 400 and "ETag" not in bad.headers
    form = client.get("/cases/new/consultation")  # holds a CSRF token: someone's own page
    assert "ETag" not in form.headers


def test_a_cache_that_is_down_only_costs_speed(make_app, create_case):
    create_case("replied", title="缓存不可用时的记录")
    down = make_app("public", INTERACT_REDIS_URL="redis://127.0.0.1:9/0")
    client = down.test_client()
    for _ in range(2):
        response = client.get("/records")
        assert response.status_code == 200 and "缓存不可用时的记录" in text(response)


@pytest.mark.skipif(not REDIS_URL, reason="INTERACT_TEST_REDIS_URL is not set (.ci/run sets it)")
def test_two_hosts_share_one_cache_through_redis(make_app, create_case, counted):
    """What one host rendered, another serves; a publication through either outdates both."""
    create_case("replied", title="共享缓存的记录")
    shared = {"INTERACT_REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": f"interact-test-{uuid.uuid4().hex}"}
    one, two = make_app("public", **shared), make_app("public", **shared)
    first = one.test_client().get("/records")
    with two.app_context(), counted(db.engine) as statements:
        second = two.test_client().get("/records")
    assert second.get_data() == first.get_data() and len(statements) == 1
    create_case("replied", title="后来公开的记录")
    assert "后来公开的记录" in text(two.test_client().get("/records"))


def test_a_waiting_message_is_shown_on_a_fresh_page_not_a_cached_one(client, create_case):
    create_case("replied")
    cached = client.get("/records")
    assert "ETag" in cached.headers
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "订阅已确认。")]
    shown = client.get("/records")
    assert "订阅已确认。" in text(shown) and "ETag" not in shown.headers
    assert "订阅已确认。" not in text(client.get("/records"))  # shown once; the cached page again
