"""Staff sessions (issue 3, section 3): a fresh session at sign-in, the idle and absolute limits,
server-side revocation on logout, password change and disabling, cookie flags, and API tokens
that can be listed and revoked."""
from __future__ import annotations

import re
from datetime import timedelta

from fixtures.values import PASSWORD
from sqlalchemy import select

from interact.domain.db import db
from interact.domain.models import ApiToken, AuditEntry, User
from interact.domain.timeutil import utcnow

STRONG = "Blue-Kettle-Orbit-42"


def signed_in(client) -> bool:
    """Whether the client's session reaches the dashboard."""
    return client.get("/staff/").status_code == 200


def shift(client, **seconds_back: float) -> None:
    """Move the session's stored times (login_at, seen_at) back by the given seconds."""
    with client.session_transaction() as sess:
        for name, back in seconds_back.items():
            sess[f"_{name}"] = sess[f"_{name}"] - back


def actions() -> list[str]:
    """Every audit action so far, in order."""
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- fresh session and limits ----------------------------------------------------------------

def test_signing_in_starts_a_fresh_session(client, world, login):
    client.get("/staff/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
    login(client, "handler")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_sv"] == world.handler.session_version
        assert sess["_login_at"] == sess["_seen_at"]


def test_a_session_idle_for_30_minutes_ends(client, world, login):
    login(client, "handler")
    shift(client, seen_at=29 * 60)
    assert signed_in(client)  # 29 minutes idle: still fine, and the clock restarts
    shift(client, seen_at=30 * 60 + 1)
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert not signed_in(client)
    assert "auth.session_expired" in actions()


def test_a_busy_session_still_ends_after_12_hours(client, world, login):
    login(client, "handler")
    shift(client, login_at=12 * 3600 - 60)
    assert signed_in(client)
    shift(client, login_at=61)  # seen a moment ago, but signed in over 12 hours ago
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert not signed_in(client)


def test_the_limits_are_configurable(app, client, world, login):
    app.config["INTERACT_SESSION_IDLE_MINUTES"] = 5
    login(client, "handler")
    shift(client, seen_at=5 * 60 + 1)
    assert not signed_in(client)
    app.config["INTERACT_SESSION_MAX_HOURS"] = 1
    login(client, "handler")
    shift(client, login_at=3601)
    assert not signed_in(client)


def test_the_expired_page_is_offered_again_after_signing_in(client, world, login):
    login(client, "handler")
    shift(client, seen_at=31 * 60)
    response = client.get("/staff/account")
    assert "next=/staff/account" in response.headers["Location"].replace("%2F", "/")


def test_a_session_without_its_times_is_refused(client, world, login):
    login(client, "handler")
    with client.session_transaction() as sess:
        del sess["_login_at"]
    assert not signed_in(client)


# --- revocation ----------------------------------------------------------------------------------

def test_logout_ends_every_session_of_the_user(app, client, world, login, post_form):
    other = app.test_client()
    login(client, "handler")
    login(other, "handler")
    third = app.test_client()
    login(third, "dispatcher")
    response = post_form(client, "/staff/logout", {})
    assert response.status_code == 302
    assert not signed_in(client)
    assert not signed_in(other)  # the same user elsewhere
    assert signed_in(third)  # other users are untouched
    assert "auth.logout" in actions()


def test_a_copied_cookie_is_worthless_after_logout(app, client, world, login, post_form):
    login(client, "handler")
    cookie = client.get_cookie("interact")
    copy = app.test_client()
    copy.set_cookie("interact", cookie.value)
    assert signed_in(copy)
    post_form(client, "/staff/logout", {})
    assert not signed_in(copy)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, client, world, login, post_form):
    other = app.test_client()
    login(client, "handler")
    login(other, "handler")
    response = post_form(client, "/staff/account/password", {
        "current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG})
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other)


def test_disabling_an_account_ends_its_sessions(app, client, world, login, post_form):
    victim, dormant = app.test_client(), app.test_client()
    login(victim, "handler")
    login(dormant, "handler")
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/handler", {"roles": ["handler"]})
    assert response.status_code == 302
    assert not db.session.get(User, world.handler.id).active
    assert not signed_in(victim)
    # Enabling it again does not revive a session opened before it was disabled.
    post_form(client, "/staff/admin/users/handler", {"roles": ["handler"], "active": "y"})
    assert db.session.get(User, world.handler.id).active
    assert not signed_in(dormant)


# --- cookies -------------------------------------------------------------------------------------

def session_cookie_header(response, name: str) -> str:
    """The Set-Cookie header that sets `name`."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, response.headers.getlist("Set-Cookie")
    return headers[-1]


def test_the_session_cookie_is_httponly_and_samesite_and_not_remembered(client, world, login):
    response = login(client, "handler")
    header = session_cookie_header(response, "interact")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain HTTP in development
    assert not any("remember" in h for h in response.headers.getlist("Set-Cookie"))


def test_the_cookies_are_secure_when_configured(monkeypatch, make_app):
    monkeypatch.setenv("INTERACT_COOKIE_SECURE", "1")
    staff = make_app("staff")
    assert staff.config["SESSION_COOKIE_SECURE"] and staff.config["REMEMBER_COOKIE_SECURE"]
    with staff.app_context():
        response = staff.test_client().get("/staff/login")
    header = session_cookie_header(response, "interact_staff")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_the_cookies_are_secure_in_production(monkeypatch, make_app):
    monkeypatch.setenv("INTERACT_ENV", "production")
    monkeypatch.delenv("INTERACT_COOKIE_SECURE", raising=False)
    staff = make_app("staff")
    assert staff.config["SESSION_COOKIE_SECURE"] is True


def test_the_two_surfaces_use_different_cookie_names(make_app):
    public = make_app("public").config["SESSION_COOKIE_NAME"]
    staff = make_app("staff").config["SESSION_COOKIE_NAME"]
    assert public != staff


# --- API tokens ------------------------------------------------------------------------------------

def test_tokens_can_be_listed_without_showing_them(runner, world, create_token):
    handler_token = create_token(world.handler)
    dispatcher_token = create_token(world.dispatcher)
    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0, result.output
    assert handler_token not in result.output and dispatcher_token not in result.output
    assert handler_token[:10] in result.output and dispatcher_token[:10] in result.output
    assert "handler" in result.output and "dispatcher" in result.output
    only = runner.invoke(args=["tokens", "list", "handler"])
    assert handler_token[:10] in only.output and dispatcher_token[:10] not in only.output
    assert runner.invoke(args=["tokens", "list", "nobody"]).exit_code == 1


def test_a_revoked_token_gets_401(client, runner, world, create_token):
    raw = create_token(world.handler)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/staff/cases", headers=headers).status_code == 200
    token_id = db.session.scalar(select(ApiToken.id))
    result = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    assert raw not in result.output
    assert client.get("/api/v1/staff/cases", headers=headers).status_code == 401
    listing = runner.invoke(args=["tokens", "list"]).output
    row = next(line for line in listing.splitlines() if raw[:10] in line)
    # Created, expires, last used and revoked are all shown.
    assert len(re.findall(r"\d{4}-\d{2}-\d{2}", row)) == 4
    assert "token.create" in actions() and "token.revoke" in actions()


def test_a_token_can_be_revoked_by_its_prefix_once(client, runner, world, create_token):
    raw = create_token(world.handler)
    result = runner.invoke(args=["tokens", "revoke", raw[:10]])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    again = runner.invoke(args=["tokens", "revoke", raw[:10]])
    assert again.exit_code == 1 and "已于此前吊销" in again.output
    assert runner.invoke(args=["tokens", "revoke", "itk_nothere"]).exit_code == 1
    assert runner.invoke(args=["tokens", "revoke", "999"]).exit_code == 1


def test_tokens_expire(client, world, create_token):
    raw = create_token(world.handler)
    token = db.session.scalar(select(ApiToken))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/staff/cases", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
