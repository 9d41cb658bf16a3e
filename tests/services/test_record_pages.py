"""The published records at scale: totals from tallies kept by publication, pages by cursor.

The records list must cost the same at page 1 and page 30,000, and must not count every
published case per request: the total comes from RecordTally rows that the publication keeps in
the same transaction, and pages past the numbered ones are reached by a (time, id) cursor.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text, update

from interact.domain.db import db
from interact.domain.errors import ValidationFailed
from interact.domain.models import Case, RecordTally
from interact.domain.timeutil import local_tz
from interact.services import cases as case_service
from interact.services import listing, publication
from interact.services.tx import unit_of_work


def tally_rows() -> set[tuple]:
    """Every tally row as (department_id, kind, month, published), zero rows left out."""
    return {(t.department_id, t.kind, t.month, t.published)
            for t in db.session.scalars(select(RecordTally)) if t.published}


def true_count(**where) -> int:
    """The published cases matching `where`, counted the slow way."""
    stmt = select(func.count()).select_from(Case).where(Case.published.is_(True))
    for column, value in where.items():
        stmt = stmt.where(getattr(Case, column) == value)
    return db.session.scalar(stmt)


def numbers(page) -> list[str]:
    return [c.number for c in page.items]


def expected_order() -> list[str]:
    return list(db.session.scalars(select(Case.number).where(Case.published.is_(True))
                                   .order_by(Case.replied_at.desc(), Case.id.desc())))


def test_tallies_follow_every_approval_and_agree_with_a_count(app, world, create_case):
    create_case("replied", kind="complaint")
    create_case("replied", department=world.transport, kind="complaint")
    create_case("replied", department=world.transport, kind="suggestion")
    create_case("replied", publish=False)  # the reviewer did not publish it
    create_case("replied", publish_consent=False)  # the citizen did not consent
    create_case("declined")
    create_case("handling")
    assert publication.published_total() == true_count() == 3
    assert publication.published_total(department_id=world.transport.id) == 2
    assert publication.published_total(kind="complaint") == true_count(kind="complaint") == 2
    assert publication.published_total(department_id=world.housing.id, kind="suggestion") == 0
    month = f"{db.session.scalar(select(func.max(Case.replied_at))).astimezone(local_tz()):%Y-%m}"
    assert publication.published_total(month=month) == 3
    assert publication.published_total(month="1999-01") == 0
    kept = tally_rows()
    assert publication.rebuild_tallies() == 3
    assert tally_rows() == kept


def test_withdrawing_a_record_takes_it_off_the_tally(app, create_case):
    case, _code = create_case("replied")
    assert publication.published_total() == 1
    with unit_of_work():
        publication.clear_public_copy(case)
    assert publication.published_total() == 0 and not case.published
    with unit_of_work():  # withdrawing twice counts once
        publication.clear_public_copy(case)
    assert publication.published_total() == 0


def test_a_failed_approval_leaves_the_tally_as_it_was(app, world, create_case):
    """The tally moves in the approval's transaction: a rollback takes both back."""
    case, _code = create_case("pending_review")
    with pytest.raises(RuntimeError), unit_of_work():
        case_service.review_draft(world.reviewer, case.number, "approve", "", publish=True)
        raise RuntimeError("the request failed after the approval")
    assert publication.published_total() == 0 and tally_rows() == set()


@pytest.fixture
def records(app, create_case):
    """45 published records; ten of them share one reply time (ties the cursor must break by id)."""
    made = [create_case("replied", title=f"记录{n:02d}")[0] for n in range(45)]
    shared = made[10].replied_at
    db.session.execute(update(Case).where(Case.id.in_([c.id for c in made[10:20]])).values(replied_at=shared))
    publication.rebuild_tallies()
    db.session.commit()
    return expected_order()


def test_walking_older_cursors_visits_every_record_once_in_order(records):
    seen, page = [], case_service.published_records(per_page=7)
    assert page.page == 1 and page.newer is None and page.total == 45 and page.pages == 7
    while True:
        seen += numbers(page)
        if page.older is None:
            break
        page = case_service.published_records(per_page=7, older_than=page.older)
        assert page.page is None and page.newer is not None
    assert seen == records and page.is_last


def test_walking_newer_cursors_from_the_last_page_comes_back_to_the_first(records):
    page = case_service.published_records(per_page=7, last=True)
    assert page.is_last and page.older is None and numbers(page) == records[-7:]
    seen = []
    while True:
        seen = numbers(page) + seen
        if page.newer is None:
            break
        page = case_service.published_records(per_page=7, newer_than=page.newer)
    assert seen == records


def test_a_numbered_page_holds_what_the_cursor_reaches(records):
    by_cursor = case_service.published_records(per_page=10)
    for number in range(2, 6):
        by_cursor = case_service.published_records(per_page=10, older_than=by_cursor.older)
        assert numbers(case_service.published_records(page=number, per_page=10)) == numbers(by_cursor)
    assert numbers(by_cursor) == records[40:] and by_cursor.is_last


def test_page_numbers_stop_at_the_cap_and_bad_cursors_are_refused(records):
    case_service.published_records(page=listing.MAX_NUMBERED_PAGE)
    with pytest.raises(ValidationFailed) as deep:
        case_service.published_records(page=listing.MAX_NUMBERED_PAGE + 1)
    assert "page" in deep.value.fields
    for bad in ("abc", "1-", "-1", "12.5-3", "1" * 18 + "-1", "1-" + "9" * 19, "１２-３"):
        with pytest.raises(ValidationFailed) as refused:
            case_service.published_records(older_than=bad)
        assert "cursor" in refused.value.fields, bad


def test_a_cursor_id_past_the_id_range_ties_with_no_row(records):
    """A forged cursor with a huge id reads as "after every id" (PostgreSQL's integer would overflow)."""
    newest = db.session.scalar(select(Case).where(Case.number == records[0]))
    at = listing.encode_cursor(newest.replied_at, 0).split("-")[0]
    older = case_service.published_records(older_than=f"{at}-{'9' * 18}")
    assert numbers(older)[0] == records[0]
    newer = case_service.published_records(newer_than=f"{at}-{'9' * 18}")
    assert records[0] not in numbers(newer)


def test_cursors_round_trip_to_the_microsecond(records):
    case = db.session.scalar(select(Case).where(Case.published.is_(True)))
    cursor = listing.encode_cursor(case.replied_at, case.id)
    assert listing.decode_cursor(cursor) == (case.replied_at, case.id)
    later = case.replied_at + timedelta(microseconds=1)
    assert listing.decode_cursor(listing.encode_cursor(later, 1))[0] == later


def test_filters_page_by_cursor_with_their_own_totals(app, world, create_case):
    for n in range(5):
        create_case("replied", department=world.transport, title=f"交通{n}")
        create_case("replied", title=f"住房{n}")
    page = case_service.published_records(department="transport", per_page=2)
    seen = numbers(page)
    while page.older:
        page = case_service.published_records(department="transport", per_page=2, older_than=page.older)
        seen += numbers(page)
    assert page.total == 5 and len(seen) == 5
    assert all(db.session.scalar(select(Case.department_id).where(Case.number == n)) == world.transport.id
               for n in seen)
    assert case_service.published_records(department="nowhere").total == 0


def test_the_records_page_counts_no_cases(client, records, counted):
    """No statement of the list (first, cursor or last page) counts the cases table."""
    for url in ("/records", "/records?page=last", "/api/v1/records"):
        with counted() as statements:
            assert client.get(url).status_code == 200
        assert not [s for s in statements if re.search(r"count\(", s, re.I) and "cases" in s.lower()], url


def test_the_records_page_links_walk_every_record(client, records):
    url, seen = "/records", []
    html = client.get(url).get_data(as_text=True)
    assert 'rel="last"' in html and "共 45 条，第 1 / 3 页" in html
    while True:
        seen += re.findall(r'href="/records/([0-9]+)"', html)
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        if not nxt:
            break
        html = client.get(nxt[1].replace("&amp;", "&")).get_data(as_text=True)
    assert seen == records
    last = client.get("/records?page=last").get_data(as_text=True)
    assert re.findall(r'href="/records/([0-9]+)"', last) == records[-20:]
    assert 'rel="last"' not in last and 'rel="first"' in last and "末页" in last


def test_a_bad_cursor_is_a_clear_400_on_the_page_and_in_the_api(client, records):
    page = client.get("/records?older=not-a-cursor")
    assert page.status_code == 400 and "翻页位置无效" in page.get_data(as_text=True)
    api = client.get("/api/v1/records?cursor=not-a-cursor")
    assert api.status_code == 400 and "cursor" in api.get_json()["fields"]
    first = client.get("/api/v1/records").get_json()
    both = client.get(f"/api/v1/records?page=2&cursor={first['next_cursor']}").get_json()
    assert both["page"] is None  # the cursor decides; the page number is ignored
    assert both["items"] == client.get(f"/api/v1/records?cursor={first['next_cursor']}").get_json()["items"]


def test_the_api_walks_every_record_by_next_cursor(client, records):
    body = client.get("/api/v1/records?per_page=20").get_json()
    assert (body["total"], body["page"], body["pages"]) == (45, 1, 3)
    seen = [r["number"] for r in body["items"]]
    while body["next_cursor"]:
        body = client.get(f"/api/v1/records?per_page=20&cursor={body['next_cursor']}").get_json()
        assert body["page"] is None and body["total"] == 45
        seen += [r["number"] for r in body["items"]]
    assert seen == records


def test_the_migration_fills_the_tallies_from_published_cases(make_app, reset_database, tmp_path):
    url = "sqlite:///" + os.path.join(tmp_path, "tallies.db")
    reset_database(url)
    built = make_app(url=url)
    with built.app_context():
        upgrade(revision="7d2e5b8c4a31")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO departments (id, code, name, active, created_at) VALUES (1, 'd', '部门', 1, CURRENT_TIMESTAMP)"))
            for n, (status, published, replied) in enumerate([
                ("replied", 1, "2026-03-31 16:30:00"),  # 00:30 on 1 April in Shanghai
                ("replied", 1, "2026-03-31 15:30:00"),  # 23:30 on 31 March
                ("replied", 0, "2026-03-10 08:00:00"), ("handling", 0, None),
            ]):
                conn.execute(text(
                    "INSERT INTO cases (id, number, kind, status, department_id, title, content, name, phone, "
                    "publish_consent, query_code_hash, submitted_at, submitted_on, deadline_days, due_at, "
                    "transfer_count, extension_days, extension_count, urge_count, published, replied_at) "
                    "VALUES (:id, :num, 'complaint', :status, 1, 't', 'c', 'n', 'p', 1, 'h', '2026-03-01 00:00:00', "
                    "'2026-03-01', 3, '2026-03-05 00:00:00', 0, 0, 0, 0, :published, :replied)"),
                    {"id": n + 1, "num": f"N{n}", "status": status, "published": published, "replied": replied})
        upgrade()
        assert tally_rows() == {(1, "complaint", "2026-04", 1), (1, "complaint", "2026-03", 1)}
        first = publication.public_version()
        assert first is not None  # pages can be cached from the start
        downgrade(revision="7d2e5b8c4a31")
        assert publication.public_version() is None
        upgrade()
        assert publication.public_version() not in (None, first)  # random: no two databases share one
        downgrade(revision="7d2e5b8c4a31")
        assert "record_tallies" not in inspect(db.engine).get_table_names()
