"""List pages run a fixed number of queries, however many rows they show (no query per row)."""
from __future__ import annotations

import pytest

from interact.services import supervision
from interact.services.tx import unit_of_work



@pytest.fixture
def queries_for(counted):
    """queries_for(client, url: str, headers=None): how many statements one GET of `url` runs."""

    def queries_for(client, url: str, headers=None) -> int:
        """How many statements one GET of `url` runs."""
        with counted() as statements:
            response = client.get(url, headers=headers or {})
        assert response.status_code == 200, url
        return len(statements)

    return queries_for


@pytest.mark.parametrize("url", ["/records", "/api/v1/records"])
def test_public_record_lists_do_not_query_per_row(client, world, create_case, url, queries_for):
    for _ in range(2):
        create_case("replied")
    few = queries_for(client, url)
    for department in (world.transport, world.housing, world.transport):
        for _ in range(3):
            create_case("replied", department=department)
    assert queries_for(client, url) == few


def test_staff_queue_and_api_list_do_not_query_per_row(client, world, create_case, create_token, login, queries_for):
    token = create_token(world.handler)
    headers = {"Authorization": f"Bearer {token}"}
    create_case("handling")
    login(client, "handler")
    dashboard, api = queries_for(client, "/staff/"), queries_for(client, "/api/v1/staff/cases", headers)
    for status in ("assigned", "handling", "pending_review", "handling", "assigned", "handling"):
        create_case(status)
    assert queries_for(client, "/staff/") == dashboard
    assert queries_for(client, "/api/v1/staff/cases", headers) == api


# --- every list and dashboard (issue 9): the count does not grow with the rows ---------------------

PUBLIC_LISTS = ["/records", "/records?page=2", "/records?page=last", "/records?department=transport",
                "/records?kind=consultation", "/api/v1/records", "/api/v1/records?per_page=5",
                "/feeds/records.atom", "/feeds/departments/transport.atom", "/feeds/kinds/consultation.atom"]


@pytest.mark.parametrize("url", PUBLIC_LISTS)
def test_every_public_list_runs_a_fixed_number_of_queries_rendered_afresh(app, client, world, create_case,
                                                                         url, queries_for, monkeypatch):
    """Rendered every time (the page cache off): the queries do not grow with the records."""
    monkeypatch.setitem(app.config, "INTERACT_PAGE_CACHE", False)
    for _ in range(22):  # past one page of twenty, so that page 2 and the last page have rows
        create_case("replied", department=world.transport)
    few = queries_for(client, url)
    for _ in range(21):
        create_case("replied", department=world.transport)
        create_case("replied", department=world.housing)
    assert queries_for(client, url) == few, url


def test_a_page_deep_by_cursor_runs_as_many_queries_as_the_first(app, client, world, create_case, queries_for,
                                                                monkeypatch):
    monkeypatch.setitem(app.config, "INTERACT_PAGE_CACHE", False)
    for _ in range(45):
        create_case("replied")
    cursor = client.get("/api/v1/records?per_page=20").get_json()["next_cursor"]
    assert cursor
    assert queries_for(client, f"/records?older={cursor}") == queries_for(client, "/records")
    assert queries_for(client, f"/api/v1/records?cursor={cursor}") == queries_for(client, "/api/v1/records")


@pytest.mark.parametrize("username, url, status", [
    ("dispatcher", "/staff/", "submitted"),
    ("reviewer", "/staff/", "pending_review"),
    ("handler", "/staff/?handling_page=2", "handling"),
    ("dispatcher", "/staff/overdue", "handling"),
    ("auditor", "/staff/audit", "handling"),
    ("admin", "/staff/admin/outbox", "handling"),
    ("admin", "/staff/admin/users", "handling"),
])
def test_every_staff_list_and_dashboard_runs_a_fixed_number_of_queries(client, world, create_case, login, aware,
                                                                      username, url, status, queries_for):
    """Each role's dashboard and the back office's lists, with few and with many rows."""
    long_ago = aware(2026, 1, 5, 2, 0)  # overdue by now, so the supervision board lists them
    for _ in range(3):
        create_case(status, submitted_at=long_ago)
    login(client, username)
    few = queries_for(client, url)
    for _ in range(35):  # more than a page of thirty
        create_case(status, submitted_at=long_ago)
    assert queries_for(client, url) == few, url


def test_the_staff_case_page_runs_a_fixed_number_of_queries(client, world, create_case, login, aware, queries_for):
    """A case with a long timeline (a dozen urges by different days) costs what a short one costs."""
    long_ago = aware(2026, 1, 5, 2, 0)
    short, _code = create_case("handling", submitted_at=long_ago)
    long, _code = create_case("handling", submitted_at=long_ago)
    with unit_of_work():
        for day in range(12):
            supervision.urge(world.dispatcher, long.number, f"请尽快办理（第{day + 1}次）",
                             now=aware(2026, 2, 1 + day, 2, 0))
    login(client, "handler")
    assert queries_for(client, f"/staff/cases/{long.number}") == queries_for(client, f"/staff/cases/{short.number}")
