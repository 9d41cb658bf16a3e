"""Rate limits (issue 3, section 4): case submission, query-code lookups and staff sign-in are
limited per client address; refusals are 429 with Retry-After; memory or Redis storage."""
from __future__ import annotations

import os
import re
import uuid

import pytest
from fixtures.values import PASSWORD

from interact import create_app
from interact.web.ratelimit import EXTENSION, client_key

SUBMISSION = {"kind": "consultation", "title": "咨询", "content": "内容", "name": "李四", "phone": "13900000000"}
FORM = {"title": "咨询", "content": "内容", "name": "李四", "phone": "13900000000", "publish": "y"}


@pytest.fixture
def limited(app, make_app):
    """Factory: an app with rate limits on (small ones, so tests stay quick)."""

    def make(surface: str = "all", **overrides):
        config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                  "INTERACT_RATELIMIT_SUBMIT": "2 per minute", "INTERACT_RATELIMIT_LOOKUP": "3 per minute",
                  "INTERACT_RATELIMIT_LOGIN": "2 per minute"}
        config.update(overrides)
        return make_app(surface, isolated=True, **config)

    return make


def from_ip(ip: str) -> dict:
    """Test-client keyword arguments for a request from `ip`."""
    return {"environ_base": {"REMOTE_ADDR": ip}}


@pytest.fixture
def form_post(csrf_from):
    """form_post(client, url: str, data: dict, ip: str): gET the form (free), then POST it with its token, from `ip`."""

    def form_post(client, url: str, data: dict, ip: str):
        """GET the form (free), then POST it with its token, from `ip`."""
        page = client.get(url, **from_ip(ip))
        # A case form redirects to its receipt page (post/redirect/get); sign-in redirects are checked as such.
        return client.post(url, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))},
                           follow_redirects=url.startswith("/cases/new/"), **from_ip(ip))

    return form_post


def assert_refused(response, json_api: bool) -> None:
    """A 429 with a positive Retry-After, as JSON or as a Chinese page."""
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    if json_api:
        body = response.get_json()
        assert body["error"] == "too_many_requests" and "频繁" in body["message"]
    else:
        assert response.mimetype == "text/html" and "操作过于频繁" in response.get_data(as_text=True)


def test_limits_are_off_in_the_default_test_app_and_on_by_default_in_production(app, monkeypatch, tmp_path):
    assert EXTENSION not in app.extensions
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    production = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert production.config["RATELIMIT_ENABLED"] is True
    assert production.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert EXTENSION in production.extensions


def test_submissions_share_one_budget_across_the_form_and_the_api(limited, world, form_post):
    client = limited().test_client()
    ip = "198.51.100.7"
    assert client.get("/cases/new/consultation", **from_ip(ip)).status_code == 200  # forms cost nothing
    assert form_post(client, "/cases/new/consultation", FORM, ip).status_code == 200
    assert client.post("/api/v1/cases", json=SUBMISSION, **from_ip(ip)).status_code == 201
    assert_refused(client.post("/api/v1/cases", json=SUBMISSION, **from_ip(ip)), json_api=True)
    assert_refused(form_post(client, "/cases/new/consultation", FORM, ip), json_api=False)
    # Another address has its own budget.
    assert client.post("/api/v1/cases", json=SUBMISSION, **from_ip("198.51.100.8")).status_code == 201


SUBSCRIPTION = {"email": "reader@example.com", "scope": "all", "frequency": "immediate", "department": "",
                "kind": ""}


def test_letters_and_subscriptions_have_separate_budgets(limited, world, form_post):
    client = limited(INTERACT_RATELIMIT_SUBSCRIBE="2 per minute").test_client()
    ip, other = "198.51.100.30", "198.51.100.31"
    # Case submissions used up: a subscription from the same address still goes through.
    for _ in range(2):
        assert client.post("/api/v1/cases", json=SUBMISSION, **from_ip(ip)).status_code == 201
    assert_refused(form_post(client, "/cases/new/consultation", FORM, ip), json_api=False)
    assert form_post(client, "/subscribe", SUBSCRIPTION, ip).status_code == 200
    # Subscriptions used up: letters from that address are still received.
    for _ in range(2):
        assert form_post(client, "/subscribe", SUBSCRIPTION, other).status_code == 200
    assert_refused(form_post(client, "/subscribe", SUBSCRIPTION, other), json_api=False)
    assert form_post(client, "/cases/new/consultation", FORM, other).status_code == 200
    assert client.post("/api/v1/cases", json=SUBMISSION, **from_ip(other)).status_code == 201


def test_the_subscription_budget_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["INTERACT_RATELIMIT_SUBSCRIBE"] == \
        "10 per hour; 3 per minute"
    monkeypatch.setenv("INTERACT_RATELIMIT_SUBSCRIBE", "1 per hour")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["INTERACT_RATELIMIT_SUBSCRIBE"] == "1 per hour"
    monkeypatch.setenv("INTERACT_RATELIMIT_SUBSCRIBE", "lots")
    with pytest.raises(ValueError, match="INTERACT_RATELIMIT_SUBSCRIBE"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_query_code_lookups_are_limited_against_guessing(limited, world, create_case, csrf_from, form_post):
    case, _code = create_case("replied")
    client = limited().test_client()
    ip = "203.0.113.20"
    guess = {"X-Query-Code": "AAAA-BBBB-CCCC"}
    assert client.get(f"/api/v1/cases/{case.number}", headers=guess, **from_ip(ip)).status_code == 404
    assert form_post(client, "/cases/query", {"number": case.number, "code": "WRONG"}, ip).status_code == 404
    assert client.post(f"/api/v1/cases/{case.number}/rating", json={"rating": "satisfied"}, headers=guess,
                       **from_ip(ip)).status_code == 404
    # The fourth try, by whichever route, is refused, even with the right code.
    assert_refused(client.get(f"/api/v1/cases/{case.number}", headers=guess, **from_ip(ip)), json_api=True)
    assert_refused(form_post(client, "/cases/query", {"number": case.number, "code": _code}, ip), json_api=False)
    page = client.get("/cases/query", **from_ip(ip))
    assert page.status_code == 200  # showing the empty form is no lookup
    rating = client.post("/cases/query/rating", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                     "number": case.number, "code": _code,
                                                     "rating": "satisfied"}, **from_ip(ip))
    assert_refused(rating, json_api=False)
    assert client.get(f"/api/v1/cases/{case.number}", headers={"X-Query-Code": _code},
                      **from_ip("203.0.113.21")).status_code == 200


def test_staff_sign_in_attempts_are_limited_per_address(limited, world, form_post):
    client = limited().test_client()
    ip = "10.1.2.3"
    for _ in range(2):
        refused = form_post(client, "/staff/login", {"username": "handler", "password": "wrong-password-1"}, ip)
        assert refused.status_code == 401
    blocked = form_post(client, "/staff/login", {"username": "handler", "password": PASSWORD}, ip)
    assert_refused(blocked, json_api=False)
    # From another desk the same account still signs in.
    ok = form_post(client, "/staff/login", {"username": "handler", "password": PASSWORD}, "10.1.2.4")
    assert ok.status_code in (302, 303)


def test_the_staff_surface_limits_sign_in_and_the_public_one_submissions(limited, world, form_post):
    staff = limited("staff").test_client()
    for _ in range(2):
        form_post(staff, "/staff/login", {"username": "x", "password": "y"}, "10.0.0.9")
    assert form_post(staff, "/staff/login", {"username": "x", "password": "y"}, "10.0.0.9").status_code == 429
    public = limited("public").test_client()
    for _ in range(2):
        public.post("/api/v1/cases", json=SUBMISSION, **from_ip("10.0.0.9"))
    assert public.post("/api/v1/cases", json=SUBMISSION, **from_ip("10.0.0.9")).status_code == 429


def test_limits_come_from_the_environment_and_bad_ones_stop_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INTERACT_RATELIMIT_SUBMIT", "1 per hour")
    monkeypatch.setenv("INTERACT_RATELIMIT_LOOKUP", "5 per minute")
    monkeypatch.setenv("INTERACT_RATELIMIT_LOGIN", "4 per minute")
    monkeypatch.setenv("INTERACT_RATELIMIT_STORAGE_URL", "memory://")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert (app.config["INTERACT_RATELIMIT_SUBMIT"], app.config["INTERACT_RATELIMIT_LOOKUP"],
            app.config["INTERACT_RATELIMIT_LOGIN"]) == ("1 per hour", "5 per minute", "4 per minute")
    monkeypatch.setenv("INTERACT_RATELIMIT_LOGIN", "lots")
    with pytest.raises(ValueError, match="INTERACT_RATELIMIT_LOGIN"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_one_env_limit_is_applied(limited, world):
    client = limited(INTERACT_RATELIMIT_SUBMIT="1 per hour").test_client()
    assert client.post("/api/v1/cases", json=SUBMISSION, **from_ip("192.0.2.50")).status_code == 201
    refused = client.post("/api/v1/cases", json=SUBMISSION, **from_ip("192.0.2.50"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60  # until the hour ends
    assert "分钟" in refused.get_json()["message"]


def test_clients_are_told_apart_by_the_trusted_proxy_only(limited, world):
    # Behind one proxy, the address it forwards is the client's.
    proxied = limited(INTERACT_PROXY_COUNT=1, INTERACT_RATELIMIT_SUBMIT="1 per minute").test_client()
    via = {"environ_base": {"REMOTE_ADDR": "10.0.0.1"}}
    assert proxied.post("/api/v1/cases", json=SUBMISSION, headers={"X-Forwarded-For": "198.51.100.1"},
                        **via).status_code == 201
    assert proxied.post("/api/v1/cases", json=SUBMISSION, headers={"X-Forwarded-For": "198.51.100.2"},
                        **via).status_code == 201
    assert proxied.post("/api/v1/cases", json=SUBMISSION, headers={"X-Forwarded-For": "198.51.100.1"},
                        **via).status_code == 429
    # Without a configured proxy, a forged X-Forwarded-For buys no fresh budget.
    direct = limited(INTERACT_RATELIMIT_SUBMIT="1 per minute").test_client()
    assert direct.post("/api/v1/cases", json=SUBMISSION, headers={"X-Forwarded-For": "1.1.1.1"},
                       **from_ip("192.0.2.9")).status_code == 201
    assert direct.post("/api/v1/cases", json=SUBMISSION, headers={"X-Forwarded-For": "2.2.2.2"},
                       **from_ip("192.0.2.9")).status_code == 429


def test_an_ipv6_client_is_counted_by_its_64_network(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}):
        first = client_key()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:bbbb::9"}):
        assert client_key() == first == "2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.1"}):
        assert client_key() == "192.0.2.1"


# .ci/run starts Redis and sets this; a machine with only Python and pip has no Redis server.
REDIS_URL = os.environ.get("INTERACT_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="INTERACT_TEST_REDIS_URL is not set (.ci/run sets it)")
def test_redis_storage_is_shared_between_processes(limited, world):
    """Two apps (as two worker processes) on one Redis share the counters."""
    import redis

    prefix = f"interact-test-{uuid.uuid4().hex}"
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
                "INTERACT_RATELIMIT_SUBMIT": "2 per minute"}
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        assert server.ping(), f"Redis must answer at {REDIS_URL}"
        one, two = limited(**settings).test_client(), limited(**settings).test_client()
        assert one.post("/api/v1/cases", json=SUBMISSION, **from_ip("192.0.2.77")).status_code == 201
        assert two.post("/api/v1/cases", json=SUBMISSION, **from_ip("192.0.2.77")).status_code == 201
        refused = one.post("/api/v1/cases", json=SUBMISSION, **from_ip("192.0.2.77"))
        assert_refused(refused, json_api=True)
        keys = list(server.scan_iter(match=f"*{prefix}*"))
        assert keys, "the counters are in Redis"
    finally:
        for key in server.scan_iter(match=f"*{prefix}*"):
            server.delete(key)
        server.close()


def test_the_api_document_describes_the_refusals(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method in (("/api/v1/cases", "post"), ("/api/v1/cases/{number}", "get"),
                         ("/api/v1/cases/{number}/rating", "post")):
        assert spec["paths"][path][method]["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "Retry-After" in spec["components"]["responses"]["TooManyRequests"]["headers"]
    assert spec["paths"]["/api/v1/cases"]["post"]["responses"]["413"]


TOKEN_RE = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')


def test_a_resent_submission_does_not_spend_the_budget_again(limited, world, csrf_from):
    client = limited().test_client()
    ip = "198.51.100.40"
    page = client.get("/cases/new/consultation", **from_ip(ip)).get_data(as_text=True)
    form = {**FORM, "csrf_token": csrf_from(page), "submission_token": TOKEN_RE.search(page).group(1)}
    # The first send and four re-sends of the same form (double clicks, a flaky network): one case.
    for _ in range(5):
        assert client.post("/cases/new/consultation", data=form, **from_ip(ip)).status_code == 303
    keyed = {"Idempotency-Key": "letter-1"}
    for _ in range(5):
        assert client.post("/api/v1/cases", json=SUBMISSION, headers=keyed, **from_ip(ip)).status_code in (200, 201)
    # Two letters were made and the budget is two: a new one is refused, a re-send still answered.
    assert_refused(client.post("/api/v1/cases", json=SUBMISSION, **from_ip(ip)), json_api=True)
    again = client.post("/api/v1/cases", json=SUBMISSION, headers=keyed, **from_ip(ip))
    assert again.status_code == 200 and again.get_json()["number"]
