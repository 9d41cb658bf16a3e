"""Separate surfaces (Art. 25; issue 3, section 6): the public surface has no staff route and
ignores the staff cookie; the staff surface can be limited to configured networks (else 404)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.values import PASSWORD

from interact.web.pages import parse_networks

ROOT = Path(__file__).resolve().parents[2]
STAFF_BLUEPRINTS = ("staff", "staff_admin", "staff_account", "staff_masks", "staff_audit", "staff_security",
                    "staff_outbox", "staff_supervision", "api_staff")


@pytest.fixture
def build(app, make_app):
    """Factory: an app of one surface with config overrides."""

    def make(surface: str = "all", **overrides):
        return make_app(surface, isolated=True, **overrides)

    return make


def from_ip(ip: str) -> dict:
    """Test-client keyword arguments for a request from `ip`."""
    return {"environ_base": {"REMOTE_ADDR": ip}}


# --- the public surface has no staff route ----------------------------------------------------

def test_the_public_url_map_has_no_staff_route(build):
    public = build("public")
    for rule in public.url_map.iter_rules():
        view = public.view_functions[rule.endpoint]
        assert not rule.rule.startswith(("/staff", "/api/v1/staff")), rule.rule
        assert rule.endpoint.split(".")[0] not in STAFF_BLUEPRINTS, rule.endpoint
        assert not view.__module__.startswith(("interact.staff", "interact.api.staff")), (rule.rule, view.__module__)
    assert not set(STAFF_BLUEPRINTS) & set(public.blueprints)
    client = public.test_client()
    for path in ("/staff/", "/staff/login", "/staff/admin/security", "/api/v1/staff/cases"):
        assert client.get(path).status_code == 404, path
    assert client.post("/staff/login", data={"username": "admin", "password": PASSWORD}).status_code in (400, 404)


def test_the_public_surface_does_not_even_import_the_staff_code(tmp_path):
    script = (
        "import sys\n"
        "from interact import create_app\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://'}, surface='public')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('interact.staff', 'interact.api.staff')))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded or hasattr(app, 'login_manager') else 0)\n"
    )
    env = {**os.environ, "INTERACT_INSTANCE_PATH": str(tmp_path), "INTERACT_SECRET_KEY": "x" * 32}
    env.pop("INTERACT_SURFACE", None)
    # Our own interpreter running our own fixed script.
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,  # noqa: S603
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the public surface ignores the staff cookie ----------------------------------------------

def test_the_public_surface_ignores_a_valid_staff_session(build, world, create_case, csrf_from):
    staff = build("staff")
    public = build("public")
    staff_client = staff.test_client()
    page = staff_client.get("/staff/login")
    signed_in = staff_client.post("/staff/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                        "username": "handler", "password": PASSWORD})
    assert signed_in.status_code in (302, 303)
    staff_cookie = staff_client.get_cookie(staff.config["SESSION_COOKIE_NAME"])
    assert staff_cookie is not None and staff_client.get("/staff/").status_code == 200
    assert not hasattr(public, "login_manager") and "login_manager" not in public.extensions

    anonymous = public.test_client()
    carrying = public.test_client()
    # The staff cookie under its own name, and (same secret key) under the public cookie's name.
    carrying.set_cookie(staff.config["SESSION_COOKIE_NAME"], staff_cookie.value)
    carrying.set_cookie(public.config["SESSION_COOKIE_NAME"], staff_cookie.value)
    case, code = create_case("replied")
    for path in ("/", "/records", f"/records/{case.number}", "/api/v1/records", "/staff/", "/api/v1/staff/cases"):
        plain, with_cookie = anonymous.get(path), carrying.get(path)
        assert with_cookie.status_code == plain.status_code, path
        shown = with_cookie.get_data(as_text=True)
        assert "退出登录" not in shown and "handler" not in shown, path
    # Nothing a staff session would unlock: the citizen's case still needs its query code.
    assert carrying.get(f"/api/v1/cases/{case.number}").status_code == 404
    assert carrying.get(f"/api/v1/cases/{case.number}", headers={"X-Query-Code": code}).status_code == 200


def test_the_surfaces_cookie_names_differ(build):
    assert build("public").config["SESSION_COOKIE_NAME"] != build("staff").config["SESSION_COOKIE_NAME"]


# --- INTERACT_STAFF_ALLOWED_NETWORKS ----------------------------------------------------------

ALLOWED = "10.0.0.0/8, 192.168.10.0/24,2001:db8:abcd::/48"


def test_networks_parse_ipv4_and_ipv6_and_refuse_nonsense():
    nets = parse_networks(ALLOWED)
    assert [str(n) for n in nets] == ["10.0.0.0/8", "192.168.10.0/24", "2001:db8:abcd::/48"]
    assert parse_networks("") == [] and parse_networks(" , ") == []
    with pytest.raises(ValueError, match="INTERACT_STAFF_ALLOWED_NETWORKS"):
        parse_networks("10.0.0.0/8, intranet")


def test_a_bad_network_stops_the_app(app, make_app):
    with pytest.raises(ValueError, match="INTERACT_STAFF_ALLOWED_NETWORKS"):
        make_app("staff", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.300/8")


def test_the_setting_comes_from_the_environment(monkeypatch, tmp_path):
    from interact import create_app

    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INTERACT_STAFF_ALLOWED_NETWORKS", "10.0.0.0/8")
    monkeypatch.setenv("INTERACT_PROXY_COUNT", "2")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, surface="staff")
    assert app.config["INTERACT_STAFF_ALLOWED_NETWORKS"] == "10.0.0.0/8" and app.config["INTERACT_PROXY_COUNT"] == 2
    assert app.test_client().get("/staff/login", **from_ip("203.0.113.1")).status_code == 404


@pytest.mark.parametrize("ip", ["10.20.30.40", "192.168.10.7", "2001:db8:abcd:12::5", "::ffff:10.1.1.1"])
def test_staff_pages_and_api_answer_inside_the_allowed_networks(build, world, create_token, ip):
    client = build("staff", INTERACT_STAFF_ALLOWED_NETWORKS=ALLOWED).test_client()
    token = create_token(world.handler)
    assert client.get("/staff/login", **from_ip(ip)).status_code == 200
    assert client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"},
                      **from_ip(ip)).status_code == 200


@pytest.mark.parametrize("ip", ["203.0.113.5", "192.168.11.7", "2001:db8:abce::1", "::ffff:203.0.113.5", "127.0.0.1"])
def test_staff_surface_is_404_from_anywhere_else(build, world, create_token, ip):
    client = build("staff", INTERACT_STAFF_ALLOWED_NETWORKS=ALLOWED).test_client()
    token = create_token(world.handler)
    outside = from_ip(ip)
    for path in ("/staff/login", "/staff/", "/staff/admin/security", "/api/v1/openapi.json"):
        response = client.get(path, **outside)
        assert response.status_code == 404, path
        assert "办件管理后台" not in response.get_data(as_text=True), path
    api = client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {token}"}, **outside)
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    # Not even the CSRF check or the sign-in answers: the back office does not exist from here.
    assert client.post("/staff/login", data={"username": "handler", "password": PASSWORD},
                       **outside).status_code == 404
    assert client.post("/api/v1/staff/cases/1/accept", json={}, **outside).status_code == 404


def test_on_the_combined_surface_only_the_staff_part_is_limited(build, world):
    client = build("all", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.0/8").test_client()
    outside = from_ip("203.0.113.5")
    assert client.get("/", **outside).status_code == 200
    assert client.get("/records", **outside).status_code == 200
    assert client.get("/api/v1/records", **outside).status_code == 200
    assert client.get("/staff/login", **outside).status_code == 404
    assert client.get("/staff/login", **from_ip("10.9.9.9")).status_code == 200


def test_the_public_surface_ignores_the_setting(build, world):
    client = build("public", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.0/8").test_client()
    assert client.get("/", **from_ip("203.0.113.5")).status_code == 200


def test_without_the_setting_the_staff_surface_answers_everyone(build, world):
    assert build("staff").test_client().get("/staff/login", **from_ip("203.0.113.5")).status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_counts(build, world):
    proxied = build("staff", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.0/8", INTERACT_PROXY_COUNT=1).test_client()
    via_proxy = from_ip("172.16.0.2")  # the proxy itself is outside the allowed network
    assert proxied.get("/staff/login", headers={"X-Forwarded-For": "10.4.4.4"}, **via_proxy).status_code == 200
    assert proxied.get("/staff/login", headers={"X-Forwarded-For": "203.0.113.5"}, **via_proxy).status_code == 404
    # A client cannot add its own hop in front of the proxy's: only the last one is believed.
    assert proxied.get("/staff/login", headers={"X-Forwarded-For": "10.4.4.4, 203.0.113.5"},
                       **via_proxy).status_code == 404
    # With no proxy configured, a forged X-Forwarded-For is ignored.
    direct = build("staff", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.0/8").test_client()
    assert direct.get("/staff/login", headers={"X-Forwarded-For": "10.4.4.4"},
                      **from_ip("203.0.113.5")).status_code == 404
