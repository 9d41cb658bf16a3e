"""List pages run a fixed number of queries, however many rows they show (no query per row)."""
from __future__ import annotations

import pytest



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
