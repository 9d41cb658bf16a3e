"""Atom feeds of published records (issue 4, section 5; Art. 18): valid Atom (parsed with
feedparser), per department and per kind, masked content and the reply, escaped citizen text."""
from __future__ import annotations

import calendar as calendar_module
import re
from datetime import timedelta

import feedparser
import pytest
from sqlalchemy import event

from interact.domain.db import db
from interact.services.subscriptions import FEED_SIZE

PUBLIC = "http://127.0.0.1:5000"
PERSONAL = {"name": "欧阳明华", "phone": "13912345678", "email": "ouyang.minghua@example.com"}
ID_NUMBER = "11010519491231002X"


def publish(create_case, at, **fields):
    """A case answered, approved and published, its reply dated `at`."""
    case, _code = create_case("replied", **fields)
    case.replied_at = at
    db.session.commit()
    return case


def fetch(client, url: str):
    """GET a feed and parse it; it must be well-formed Atom 1.0."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return response, feed


@pytest.fixture
def records(create_case, world, aware):
    """Three published records: a housing consultation, a transport consultation, a housing complaint."""
    t0 = aware(2026, 3, 2, 1, 0)
    return {
        "housing": publish(create_case, t0, title="住建局的咨询"),
        "transport": publish(create_case, t0 + timedelta(hours=1), title="交通局的咨询",
                             department=world.transport),
        "complaint": publish(create_case, t0 + timedelta(hours=2), title="住建局的投诉", kind="complaint"),
    }


def test_the_records_feed_is_valid_atom_with_every_published_record(client, records):
    _response, feed = fetch(client, "/feeds/records.atom")
    assert feed.feed.id == f"{PUBLIC}/feeds/records.atom"
    assert feed.feed.title and feed.feed.updated
    assert {"rel": "self", "type": "application/atom+xml", "href": f"{PUBLIC}/feeds/records.atom"} in [
        {k: link[k] for k in ("rel", "type", "href")} for link in feed.feed.links]
    titles = [e.title for e in feed.entries]
    assert titles == ["住建局的投诉", "交通局的咨询", "住建局的咨询"]  # newest first
    newest = feed.entries[0]
    case = records["complaint"]
    assert newest.id == newest.link == f"{PUBLIC}/records/{case.number}"
    assert calendar_module.timegm(newest.updated_parsed) == int(case.replied_at.timestamp())
    assert newest.author == "市住房和城乡建设局"
    assert case.public_content in newest.summary
    content = newest.content[0].value
    assert case.public_content in content and case.public_reply in content
    assert feed.feed.updated == newest.updated


def test_department_and_kind_feeds_hold_only_their_records(client, records):
    _r, transport = fetch(client, "/feeds/departments/transport.atom")
    assert [e.title for e in transport.entries] == ["交通局的咨询"]
    assert transport.feed.id == f"{PUBLIC}/feeds/departments/transport.atom"
    assert "市交通运输局" in transport.feed.title
    _r, housing = fetch(client, "/feeds/departments/housing.atom")
    assert [e.title for e in housing.entries] == ["住建局的投诉", "住建局的咨询"]
    _r, complaints = fetch(client, "/feeds/kinds/complaint.atom")
    assert [e.title for e in complaints.entries] == ["住建局的投诉"]
    assert complaints.entries[0].tags[0].term == "complaint"
    _r, consultations = fetch(client, "/feeds/kinds/consultation.atom")
    assert [e.title for e in consultations.entries] == ["交通局的咨询", "住建局的咨询"]


def test_unknown_department_or_kind_is_404(client, world):
    assert client.get("/feeds/departments/nowhere.atom").status_code == 404
    assert client.get("/feeds/kinds/nonsense.atom").status_code == 404


def test_an_empty_feed_is_still_valid_atom(client, world):
    _r, feed = fetch(client, "/feeds/kinds/correction.atom")
    assert feed.entries == [] and feed.feed.updated


def test_unpublished_and_withdrawn_records_stay_out(client, create_case, world):
    create_case("replied", publish=False, title="不公开的办件")
    create_case("handling", title="办理中的办件")
    create_case("replied", publish_consent=False, title="未同意公开的办件")
    _r, feed = fetch(client, "/feeds/records.atom")
    assert feed.entries == []


def test_a_feed_holds_the_newest_fifty(client, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    for n in range(FEED_SIZE + 2):
        publish(create_case, t0 + timedelta(minutes=n), title=f"办件{n}")
    _r, feed = fetch(client, "/feeds/records.atom")
    assert len(feed.entries) == FEED_SIZE
    assert feed.entries[0].title == f"办件{FEED_SIZE + 1}" and feed.entries[-1].title == "办件2"


def test_a_script_in_a_title_or_text_is_escaped(client, create_case, world, aware):
    payload = "<script>alert(1)</script>"
    publish(create_case, aware(2026, 3, 2, 1, 0), title=f"{payload}路灯",
            content=f"路灯坏了<img src=x onerror=alert(1)>{payload}")
    response, feed = fetch(client, "/feeds/records.atom")
    raw = response.get_data()
    assert b"<script" not in raw and b"<img" not in raw
    # The title is text, and reads exactly as written.
    assert feed.entries[0].title == f"{payload}路灯"


def test_feeds_carry_only_the_masked_public_copy(client, create_case, world, aware):
    content = (f"我是{PERSONAL['name']}，身份证{ID_NUMBER}，手机{PERSONAL['phone']}，"
               f"邮箱{PERSONAL['email']}。小区门口的路灯坏了一个月。")
    case = publish(create_case, aware(2026, 3, 2, 1, 0), title="小区路灯损坏", content=content, **PERSONAL)
    for url in ("/feeds/records.atom", "/feeds/departments/housing.atom", "/feeds/kinds/consultation.atom"):
        response, feed = fetch(client, url)
        raw = response.get_data(as_text=True)
        assert "路灯坏了" in raw and feed.entries[0].title == "小区路灯损坏"
        for secret in (*PERSONAL.values(), ID_NUMBER, "明华"):
            assert secret not in raw, (url, secret)
    assert case.public_content in feed.entries[0].content[0].value


def test_a_reader_polling_an_unchanged_feed_gets_304(client, records):
    response = client.get("/feeds/records.atom")
    again = client.get("/feeds/records.atom", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_the_records_page_advertises_the_feeds_and_the_subscription(client, world):
    html = client.get("/records").get_data(as_text=True)
    assert re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="/feeds/records.atom"', html)
    assert 'href="/subscribe"' in html
    filtered = client.get("/records?department=transport").get_data(as_text=True)
    assert 'href="/feeds/departments/transport.atom"' in filtered
    assert 'href="/subscribe?department=transport"' in filtered
    by_kind = client.get("/records?kind=complaint").get_data(as_text=True)
    assert 'href="/feeds/kinds/complaint.atom"' in by_kind
    # The public navigation links the subscription page.
    assert 'href="/subscribe"' in client.get("/").get_data(as_text=True)


def test_a_feed_runs_a_fixed_number_of_queries(client, create_case, world, aware):
    publish(create_case, aware(2026, 3, 2, 1, 0))
    few = _queries(client, "/feeds/departments/housing.atom")
    for n in range(6):
        publish(create_case, aware(2026, 3, 2, 2, n), department=world.transport if n % 2 else world.housing)
    assert _queries(client, "/feeds/departments/housing.atom") == few
    assert _queries(client, "/feeds/records.atom") <= few


def _queries(client, url: str) -> int:
    """How many SQL statements one GET of `url` runs."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)
