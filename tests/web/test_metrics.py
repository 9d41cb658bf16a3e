"""`/metrics`: requests and latency by endpoint, and the platform's figures, in Prometheus format."""
from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from interact.domain.timeutil import utcnow
from interact.services import operations


def scrape(client) -> dict[tuple[str, tuple], float]:
    """The samples of one scrape, by (name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_requests_are_counted_and_timed_by_endpoint(make_app, world):
    staff = make_app("staff").test_client()
    before = scrape(staff)
    key = ("interact_http_requests_total",
           (("endpoint", "staff.login"), ("method", "GET"), ("status", "200"), ("surface", "staff")))
    for _ in range(3):
        staff.get("/staff/login")
    staff.get("/no-such-page-123")
    after = scrape(staff)
    assert after[key] - before.get(key, 0) == 3
    unmatched = [k for k in after if k[0] == "interact_http_requests_total" and ("endpoint", "unmatched") in k[1]]
    assert unmatched, "a 404 is counted without its path"
    assert not [k for k in after if "no-such-page" in str(k)]
    count = ("interact_http_request_duration_seconds_count", (("endpoint", "staff.login"), ("surface", "staff")))
    assert after[count] - before.get(count, 0) == 3


def test_the_platform_figures_are_read_at_each_scrape(make_app, world, create_case, at):
    create_case("handling")
    create_case("submitted", submitted_at=utcnow() - timedelta(days=30))  # long overdue
    create_case("replied")
    figures = operations.figures()
    assert figures.open_by_status["handling"] == 1 and figures.open_by_status["submitted"] == 1
    assert figures.overdue == 1
    assert figures.outbox_by_status["pending"] >= 1 and figures.oldest_pending_seconds >= 0
    samples = scrape(make_app("staff").test_client())
    assert samples[("interact_open_cases", (("status", "handling"),))] == 1
    assert samples[("interact_open_cases", (("status", "pending_review"),))] == 0
    assert samples[("interact_overdue_cases", ())] == 1
    assert samples[("interact_outbox_messages", (("status", "pending"),))] == figures.outbox_by_status["pending"]
    assert ("interact_outbox_oldest_pending_seconds", ()) in samples


def test_the_oldest_waiting_mail_ages(make_app, world, create_case):
    create_case("submitted", submitted_at=utcnow() - timedelta(hours=2))  # its receipt waits in the outbox
    assert operations.figures().oldest_pending_seconds >= 0
    later = operations.figures(now=utcnow() + timedelta(hours=1))
    assert later.oldest_pending_seconds >= 3600


def test_a_public_host_answers_metrics_to_allowed_networks_only(make_app, world):
    assert make_app("public").test_client().get("/metrics").status_code == 404
    allowed = make_app("public", INTERACT_METRICS_ALLOWED_NETWORKS="127.0.0.0/8").test_client()
    assert allowed.get("/metrics").status_code == 200
    elsewhere = make_app("public", INTERACT_METRICS_ALLOWED_NETWORKS="10.0.0.0/8").test_client()
    assert elsewhere.get("/metrics").status_code == 404


def test_no_personal_data_in_the_metrics(make_app, world, create_case):
    case, _code = create_case("handling", name="欧阳明远", phone="13912345678", title="关于噪音的投诉")
    body = make_app("staff").test_client().get("/metrics").get_data(as_text=True)
    for secret in ("欧阳明远", "13912345678", "噪音", case.number):
        assert secret not in body
