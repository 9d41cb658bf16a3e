"""Explicit wiring: `create_app` registers one blueprint per feature module, listed per surface; no
module adds routes to another module's blueprint; every back-office blueprint gets the shared setup;
and no context processor queries the database (the case page gets its data from its view)."""
from __future__ import annotations

import inspect
from functools import wraps

import pytest

from interact.staff import auth, sessions

PUBLIC = {"public", "public_query_reset", "public_captcha", "public_feeds", "public_subscribe", "api_public"}
STAFF_PAGES = {"staff", "staff_admin", "staff_account", "staff_masks", "staff_audit", "staff_security",
               "staff_outbox", "staff_supervision"}
STAFF = STAFF_PAGES | {"api_staff"}
SHARED = {"openapi", "health", "metrics"}
EXPECTED = {"public": PUBLIC | SHARED, "staff": STAFF | SHARED, "all": PUBLIC | STAFF | SHARED}


@pytest.fixture(params=sorted(EXPECTED))
def surface_app(request, make_app):
    """(surface, an app of that surface)."""
    return request.param, make_app(request.param)


def test_each_surface_registers_exactly_its_listed_blueprints(surface_app):
    surface, app = surface_app
    assert set(app.blueprints) == EXPECTED[surface]
    # One blueprint per feature module: no module builds two.
    modules = [bp.import_name for bp in app.blueprints.values()]
    assert len(modules) == len(set(modules))


def test_every_route_belongs_to_the_blueprint_of_the_module_that_defines_it(surface_app):
    _surface, app = surface_app
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        name, _dot, function = rule.endpoint.rpartition(".")
        assert name in app.blueprints, rule.endpoint
        # The rate limiter wraps some views; what counts is the function the module wrote.
        view = inspect.unwrap(app.view_functions[rule.endpoint])
        assert view.__module__ == app.blueprints[name].import_name, (rule.rule, rule.endpoint, view.__module__)
        assert view.__name__ == function, rule.endpoint


def test_every_back_office_blueprint_gets_the_shared_setup(make_app):
    app = make_app("staff")
    for name in STAFF_PAGES:
        assert app.blueprints[name].url_prefix == "/staff", name
        assert app.before_request_funcs[name] == [sessions.guard, auth.require_sign_in], name
        processors = [p for p in app.template_context_processors[name] if p.__module__.startswith("interact")]
        assert processors == [auth.staff_globals], name


def test_sign_in_is_required_by_default_on_every_back_office_page(client, app):
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.rpartition(".")[0]
        if name not in STAFF_PAGES or rule.endpoint in auth.SIGN_IN_PAGES or "GET" not in rule.methods:
            continue
        url = rule.rule.replace("<number>", "20260101-0001").replace("<int:attachment_id>", "1")
        url = url.replace("<username>", "handler").replace("<code>", "housing").replace("<day>", "2026-01-01")
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], url


@pytest.mark.fresh_app
def test_no_context_processor_queries_the_database(app, world, create_case, login, counted):
    """Every page's context processors run with a statement counter around them: none may run a query."""
    submitted, _code = create_case("submitted")
    handling, _code = create_case("handling")
    under_review, _code = create_case("pending_review")
    replied, _code = create_case("replied")
    calls: list[str] = []
    spent: list[tuple[str, str]] = []

    with counted() as statements:
        def counting(processor):
            """`processor`, noting each call and any statement it runs."""

            @wraps(processor)
            def wrapped():
                """Run the processor, keeping the statements it ran."""
                before = len(statements)
                result = processor()
                calls.append(processor.__qualname__)
                spent.extend((processor.__qualname__, s) for s in statements[before:])
                return result

            return wrapped

        for processors in app.template_context_processors.values():
            processors[:] = [counting(p) for p in processors]

        # A citizen, never signed in (on the "all" surface a staff session would make Flask-Login's
        # processor load that user; on the public host there is no Flask-Login at all).
        citizen = app.test_client()
        for url in ("/", "/records", f"/records/{replied.number}", "/cases/query", "/cases/query/reset",
                    "/cases/new/consultation", "/subscribe", "/staff/login"):
            assert citizen.get(url).status_code == 200, url
        pages = {
            "dispatcher": ["/staff/", f"/staff/cases/{submitted.number}", "/staff/overdue"],
            "handler": ["/staff/", f"/staff/cases/{handling.number}", "/staff/account"],
            "reviewer": [f"/staff/cases/{under_review.number}"],
            "admin": ["/staff/admin/users/handler", "/staff/admin/users", "/staff/admin/calendar",
                      "/staff/admin/deadlines", "/staff/admin/security", "/staff/admin/outbox"],
            "auditor": ["/staff/audit"],
        }
        for username, urls in pages.items():
            client = app.test_client()
            login(client, username)
            for url in urls:
                assert client.get(url).status_code == 200, (username, url)

    assert "staff_globals" in calls and len(calls) > 20
    assert spent == []
