"""CSRF (issue 3, section 4): every state-changing HTML route of both surfaces refuses a request
without a token; only the cookie-less JSON APIs under /api/v1/ are exempt (and the one-click
unsubscribe of RFC 8058, for that one request only)."""
from __future__ import annotations

import re

import pytest

from interact.web.extensions import csrf
from interact.services.attachments import Upload

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_MESSAGE = "页面已过期或请求来源无效"
PARAM = re.compile(r"<(?:(?P<conv>[^:<>]+):)?(?P<name>[^<>]+)>")


def state_changing_rules(app) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) of every route that changes state, in a stable order."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & STATE_CHANGING):
            found.append((rule.rule, method, rule.endpoint))
    # Signing out last, so that the signed-in session lasts the whole walk.
    return sorted(found, key=lambda r: ("logout" in r[0], r[0], r[1]))


def fill(rule: str, values: dict[str, str]) -> str:
    """The rule with plausible values in its path parameters."""

    def value(match: re.Match) -> str:
        if match.group("name") in values:
            return values[match.group("name")]
        return "1" if (match.group("conv") or "").startswith("int") else "x"

    return PARAM.sub(value, rule)


@pytest.fixture
def walk(app, client, world, create_case, png_bytes):
    """Every state-changing route of the app (both surfaces), with its URL filled in."""
    case, _code = create_case("handling", uploads=[Upload("a.png", png_bytes())])
    values = {"number": case.number, "action": "accept", "kind": "consultation", "day": "2026-10-01",
              "username": "handler", "code": "housing", "attachment_id": str(case.attachments[0].id)}
    return [(fill(rule, values), method, endpoint) for rule, method, endpoint in state_changing_rules(app)]


def test_the_walk_covers_both_surfaces(walk):
    urls = {url for url, _m, _e in walk}
    assert {"/cases/query", "/cases/query/rating", "/staff/login", "/staff/logout", "/api/v1/cases"} <= urls
    assert any(u.startswith("/cases/new/") for u in urls)
    assert any(u.startswith("/staff/admin/") for u in urls) and any(u.startswith("/staff/cases/") for u in urls)
    assert any(u.startswith("/api/v1/staff/") for u in urls)


def test_every_html_form_route_refuses_a_request_without_a_token(client, walk, login):
    login(client, "handler")  # a real staff session: what refuses is CSRF, not the sign-in check
    for url, method, endpoint in walk:
        if url.startswith("/api/v1/"):
            continue
        response = client.open(url, method=method, data={"title": "x", "text": "x", "username": "x"})
        body = response.get_data(as_text=True)
        assert response.status_code == 400, (method, url, endpoint, response.status_code)
        assert CSRF_MESSAGE in body, (method, url, endpoint)
        # A token from another session is refused the same way.
        forged = client.open(url, method=method, data={"csrf_token": "Ij" + "a" * 40 + ".bad.sig"})
        assert forged.status_code == 400 and CSRF_MESSAGE in forged.get_data(as_text=True), (method, url)


def test_the_same_requests_with_a_token_pass_the_csrf_check(client, walk, csrf_from, login):
    """The refusal above is CSRF's: with the session's token, none of them is refused for it."""
    login(client, "handler")
    token = csrf_from(client.get("/staff/logout").get_data(as_text=True))
    for url, method, endpoint in walk:
        if url.startswith("/api/v1/"):
            continue
        response = client.open(url, method=method, data={"csrf_token": token})
        assert CSRF_MESSAGE not in response.get_data(as_text=True), (method, url, endpoint)


def test_only_the_json_apis_are_exempt_and_they_take_no_cookie_credentials(app, client, walk, world,
                                                                           create_token, login):
    names = {getattr(bp, "name", bp) for bp in csrf._exempt_blueprints}
    prefixes = {app.blueprints[name].url_prefix for name in names if name in app.blueprints}
    assert prefixes and all(p.startswith("/api/v1") for p in prefixes)
    for view in csrf._exempt_views:
        rules = [r.rule for r in app.url_map.iter_rules()
                 if f"{app.view_functions[r.endpoint].__module__}.{app.view_functions[r.endpoint].__name__}" == view]
        # Besides the APIs, only the RFC 8058 one-click unsubscribe target: a mail client posts
        # there without a token (the signed token in the URL is the proof); any other POST to it
        # is refused without the CSRF token (see the walk above).
        assert all(rule.startswith("/api/v1/") or rule == "/unsubscribe/<token>" for rule in rules), view
    # The API routes are reached without a token (and answer with JSON, never the CSRF error)…
    for url, method, _endpoint in walk:
        if url.startswith("/api/v1/"):
            response = client.open(url, method=method, json={})
            assert response.mimetype == "application/json", url
            assert response.get_json().get("error") != "csrf", url
    # …because a signed-in browser session is no credential there: the staff API wants a Bearer token.
    login(client, "handler")
    assert client.get("/api/v1/staff/cases").status_code == 401
    assert client.post("/api/v1/staff/cases/1/accept", json={}).status_code == 401
