"""Staff authentication (issue 3, section 3): the password policy, forced changes, lockout and
per-IP throttling, and two-factor authentication with TOTP and recovery codes."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fixtures.values import PASSWORD
from sqlalchemy import func, select, update

from interact import config as config_module
from interact.domain.errors import ValidationFailed
from interact.domain.db import db
from interact.domain.models import AuditEntry, LoginAttempt, PasswordHistory, RecoveryCode, User
from interact.services import directory, passwords, twofactor
from interact.domain.timeutil import utcnow

STRONG = "Blue-Kettle-Orbit-42"


def audit_actions(action: str) -> list[AuditEntry]:
    """The audit entries with this action, oldest first."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def attempt(csrf_from):
    """attempt(client, username: str, password: str, ip: str='127.0.0.1'): one sign-in attempt through the form, from `ip`."""

    def attempt(client, username: str, password: str, ip: str = "127.0.0.1"):
        """One sign-in attempt through the form, from `ip`."""
        page = client.get("/staff/login", environ_base={"REMOTE_ADDR": ip})
        return client.post("/staff/login", data={"username": username, "password": password,
                                                 "csrf_token": csrf_from(page.get_data(as_text=True))},
                           environ_base={"REMOTE_ADDR": ip})

    return attempt


def age_attempts(minutes: int) -> None:
    """Move every stored sign-in attempt `minutes` into the past (instead of sleeping)."""
    for row in db.session.scalars(select(LoginAttempt)):
        row.at = row.at - timedelta(minutes=minutes)
    db.session.commit()


def signed_in(client) -> bool:
    """Whether the client's session reaches the dashboard."""
    return client.get("/staff/").status_code == 200


def refresh(user: User) -> User:
    """The user as stored now."""
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- the password policy ---------------------------------------------------------------------

def test_common_password_list_ships_with_the_project_and_has_ten_thousand_entries():
    listed = passwords.common_passwords()
    assert len(listed) >= 10_000
    assert "password" in listed and "123456" in listed
    # The header lines are comments, not passwords.
    assert not any(entry.startswith("#") for entry in listed)


@pytest.mark.parametrize("password", ["Short-Pw-9", "A" * 60 + "b1-" + "c" * 66])
def test_passwords_shorter_than_12_or_longer_than_128_characters_are_refused(app, password):
    assert not 12 <= len(password) <= 128
    with pytest.raises(ValidationFailed) as exc:
        passwords.check_policy(password)
    assert "12至128" in exc.value.message


def test_passwords_of_12_and_128_characters_are_accepted(app):
    passwords.check_policy("Abcdefghij-1")
    passwords.check_policy("Aa1-" * 32)


@pytest.mark.parametrize("common", ["1qaz2wsx3edc", "qwerty123456", "123qweasdzxc"])
def test_common_passwords_are_refused_whatever_their_case(app, common):
    assert common in passwords.common_passwords()
    # Upper-casing some letters and adding a symbol class would pass every other rule.
    varied = common.upper()[:4] + common[4:]
    assert passwords.character_classes(varied) >= 3
    with pytest.raises(ValidationFailed) as exc:
        passwords.check_policy(varied)
    assert "常见" in exc.value.message


def test_too_few_character_classes_are_refused_and_the_number_is_configurable(app):
    with pytest.raises(ValidationFailed) as exc:
        passwords.check_policy("plainlowercase-only")  # lower + symbol: 2 classes
    assert "3类" in exc.value.message
    app.config["INTERACT_PASSWORD_MIN_CLASSES"] = 2
    passwords.check_policy("plainlowercase-only")
    app.config["INTERACT_PASSWORD_MIN_CLASSES"] = 4
    with pytest.raises(ValidationFailed):
        passwords.check_policy("Upper-and-lower-no-digit")


def test_the_policy_is_on_by_default(monkeypatch, tmp_path):
    for name in ("PASSWORD_MIN_CLASSES", "PASSWORD_MAX_AGE_DAYS", "PASSWORD_METHOD"):
        monkeypatch.delenv(f"INTERACT_{name}", raising=False)
    loaded = config_module.load(str(tmp_path))
    assert loaded["INTERACT_PASSWORD_MIN_CLASSES"] == 3
    assert loaded["INTERACT_PASSWORD_MAX_AGE_DAYS"] == 90
    assert loaded["INTERACT_PASSWORD_METHOD"] == "scrypt"
    assert loaded["INTERACT_LOCKOUT_THRESHOLD"] == 5
    assert loaded["INTERACT_LOCKOUT_WINDOW_MINUTES"] == 15
    assert loaded["INTERACT_LOCKOUT_MINUTES"] == 15


def test_passwords_are_hashed_with_scrypt_by_default(app, world):
    app.config["INTERACT_PASSWORD_METHOD"] = "scrypt"
    user = directory.create_user("hashed", STRONG, ["handler"], "housing")
    assert user.password_hash.startswith("scrypt:")
    assert STRONG not in user.password_hash


def test_the_cli_and_the_admin_page_refuse_a_weak_password(app, client, runner, world, login, post_form):
    result = runner.invoke(args=["users", "add", "weakling", "--role", "dispatcher", "--password-stdin"],
                           input="qwerty123456\n")
    assert result.exit_code == 1 and "常见" in result.output
    login(client, "admin")
    response = post_form(client, "/staff/admin/users", {"username": "weak2", "password": "alllowercaseletters",
                                                        "roles": ["dispatcher"]})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(User.id)).where(User.username.in_(["weakling", "weak2"]))) == 0


def test_the_last_five_passwords_cannot_be_used_again(app, world):
    user = world.handler
    history = [PASSWORD]
    for n in range(1, 5):
        new = f"Rotation-Step-{n}x"
        passwords.change_password(user, history[-1], new)
        history.append(new)
    db.session.commit()
    for old in history:  # the current one and the four before it
        with pytest.raises(ValidationFailed) as exc:
            passwords.change_password(user, history[-1], old)
        assert "最近5次" in exc.value.message
    passwords.change_password(user, history[-1], "Rotation-Step-5x")
    # The first one is now six passwords back, so it may come back.
    passwords.change_password(user, "Rotation-Step-5x", PASSWORD)
    db.session.commit()
    assert db.session.scalar(select(func.count(PasswordHistory.id))
                             .where(PasswordHistory.user_id == user.id)) <= 5


def test_changing_the_password_through_the_page_refuses_reuse(client, world, login, post_form):
    login(client, "handler")
    response = post_form(client, "/staff/account/password", {
        "current_password": PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 400
    assert "最近5次" in response.get_data(as_text=True)
    response = post_form(client, "/staff/account/password", {
        "current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG})
    assert response.status_code == 302
    assert directory.authenticate("handler", STRONG) is not None
    assert audit_actions("auth.password_change")[-1].username == "handler"


def test_a_wrong_current_password_is_refused(client, world, login, post_form):
    login(client, "handler")
    response = post_form(client, "/staff/account/password", {
        "current_password": "Not-The-Password-1", "new_password": STRONG, "confirm_password": STRONG})
    assert response.status_code == 400
    assert directory.authenticate("handler", PASSWORD) is not None


# --- forced changes ----------------------------------------------------------------------------

def test_an_operator_set_password_must_be_changed_before_anything_else(app, client, runner, world, create_case, csrf_from, login, post_form):
    case, _ = create_case("assigned")
    result = runner.invoke(args=["users", "add", "newbie", "--role", "handler", "--department", "housing",
                                 "--password-stdin"], input=STRONG + "\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.username == "newbie")).must_change_password
    login(client, "newbie", STRONG)
    for url in ("/staff/", f"/staff/cases/{case.number}", "/staff/account", "/staff/account/2fa"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/staff/account/password"), url
    # A POST is held back too.
    page = client.get("/staff/account/password")
    assert "系统管理员设置" in page.get_data(as_text=True)
    response = client.post(f"/staff/cases/{case.number}/accept",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.headers["Location"].endswith("/staff/account/password")
    response = post_form(client, "/staff/account/password", {
        "current_password": STRONG, "new_password": "Fresh-Start-2026", "confirm_password": "Fresh-Start-2026"})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert client.get(f"/staff/cases/{case.number}").status_code == 200


def test_a_password_set_on_the_admin_page_must_be_changed(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users", {"username": "added", "password": STRONG,
                                                        "roles": ["dispatcher"], "department": "gov-office"})
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.username == "added")).must_change_password


def test_an_admin_reset_forces_a_change_and_ends_the_users_sessions(app, client, world, login, post_form):
    other = app.test_client()
    login(other, "handler")
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/handler/password", {"new_password": STRONG},
                         form_url="/staff/admin/users/handler")
    assert response.status_code == 302
    assert refresh(world.handler).must_change_password
    assert not signed_in(other)
    login(other, "handler", STRONG)
    assert other.get("/staff/").headers["Location"].endswith("/staff/account/password")
    assert audit_actions("user.password_reset")[-1].username == "admin"


def test_an_admin_reset_applies_the_policy(client, world, login, post_form):
    login(client, "admin")
    post_form(client, "/staff/admin/users/handler/password", {"new_password": "short"},
              form_url="/staff/admin/users/handler")
    assert directory.authenticate("handler", PASSWORD) is not None
    assert not refresh(world.handler).must_change_password


def test_a_password_older_than_90_days_must_be_changed(client, world, login, post_form):
    db.session.execute(update(User).where(User.id == world.handler.id)
                       .values(password_changed_at=utcnow() - timedelta(days=91)))
    db.session.commit()
    login(client, "handler")
    response = client.get("/staff/")
    assert response.headers["Location"].endswith("/staff/account/password")
    assert "超过使用期限" in client.get("/staff/account/password").get_data(as_text=True)
    post_form(client, "/staff/account/password", {
        "current_password": PASSWORD, "new_password": STRONG, "confirm_password": STRONG})
    assert client.get("/staff/").status_code == 200


def test_a_password_younger_than_90_days_or_rotation_switched_off_is_not_forced(app, client, world, login):
    db.session.execute(update(User).where(User.id == world.handler.id)
                       .values(password_changed_at=utcnow() - timedelta(days=89)))
    db.session.commit()
    login(client, "handler")
    assert client.get("/staff/").status_code == 200
    db.session.execute(update(User).where(User.id == world.handler.id)
                       .values(password_changed_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    assert client.get("/staff/").status_code == 302
    app.config["INTERACT_PASSWORD_MAX_AGE_DAYS"] = 0
    assert client.get("/staff/").status_code == 200


# --- lockout and throttling ----------------------------------------------------------------------

def test_five_failures_lock_the_account_even_against_the_right_password(client, world, attempt):
    for _ in range(5):
        assert attempt(client, "handler", "Wrong-Password-1").status_code == 401
    assert refresh(world.handler).locked_until is not None
    response = attempt(client, "handler", PASSWORD)
    assert response.status_code == 401
    # The same message as a wrong password: the lock tells nothing about the account.
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert not signed_in(client)
    lockouts = audit_actions("auth.lockout")
    assert len(lockouts) == 1 and lockouts[0].username == "handler"
    assert len(audit_actions("auth.login_failed")) == 6


def test_four_failures_do_not_lock(client, world, attempt):
    for _ in range(4):
        attempt(client, "handler", "Wrong-Password-1")
    assert refresh(world.handler).locked_until is None
    assert attempt(client, "handler", PASSWORD).status_code == 302


def test_failures_older_than_15_minutes_do_not_count(client, world, attempt):
    for _ in range(4):
        attempt(client, "handler", "Wrong-Password-1")
    age_attempts(minutes=16)
    attempt(client, "handler", "Wrong-Password-1")
    assert refresh(world.handler).locked_until is None


def test_a_locked_account_opens_again_after_15_minutes(client, world, attempt):
    for _ in range(5):
        attempt(client, "handler", "Wrong-Password-1")
    assert attempt(client, "handler", PASSWORD).status_code == 401
    # Fifteen minutes later: move the lock and the attempts back instead of sleeping.
    db.session.execute(update(User).where(User.id == world.handler.id)
                       .values(locked_until=utcnow() - timedelta(seconds=1)))
    age_attempts(minutes=16)
    assert attempt(client, "handler", PASSWORD).status_code == 302
    assert signed_in(client)
    assert audit_actions("auth.login")[-1].username == "handler"


def test_a_lockout_leaves_other_accounts_working(app, client, world, login, attempt):
    for _ in range(6):
        attempt(client, "handler", "Wrong-Password-1")
    other = app.test_client()
    login(other, "dispatcher")
    assert signed_in(other)


def test_too_many_failures_from_one_address_refuse_it_for_a_while(app, client, world, attempt):
    for n in range(20):
        attempt(client, f"nobody{n}", "Wrong-Password-1", ip="10.1.2.3")
    response = attempt(client, "dispatcher", PASSWORD, ip="10.1.2.3")
    assert response.status_code == 429
    assert not signed_in(client)
    # The account itself is not locked: from another address it works.
    assert refresh(world.dispatcher).locked_until is None
    other = app.test_client()
    assert attempt(other, "dispatcher", PASSWORD, ip="10.9.9.9").status_code == 302
    # Once the failures are 15 minutes old, the address may try again.
    age_attempts(minutes=16)
    assert attempt(client, "dispatcher", PASSWORD, ip="10.1.2.3").status_code == 302


def test_failed_and_successful_sign_ins_are_audited_without_the_password(client, world, attempt):
    attempt(client, "handler", "Wrong-Password-1")
    attempt(client, "handler", PASSWORD)
    failed = audit_actions("auth.login_failed")
    assert [e.username for e in failed] == ["handler"] and failed[0].outcome == "failure"
    assert audit_actions("auth.login")[-1].user_id == world.handler.id
    for entry in db.session.scalars(select(AuditEntry)):
        assert "Wrong-Password-1" not in entry.details and PASSWORD not in entry.details


# --- two-factor authentication --------------------------------------------------------------------

@pytest.fixture
def enrol(post_form):
    """enrol(client, username: str): enrol the signed-in user through the page; return the secret and the recovery codes."""

    def enrol(client, username: str) -> tuple[str, list[str]]:
        """Enrol the signed-in user through the page; return the secret and the recovery codes."""
        html = client.get("/staff/account/2fa").get_data(as_text=True)
        secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
        response = post_form(client, "/staff/account/2fa", {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200
        codes = re.findall(r"<code>([a-z0-9-]{19})</code>", response.get_data(as_text=True))
        return secret, codes

    return enrol


def test_enrolment_shows_a_server_drawn_qr_code_and_the_key_and_needs_a_code(client, world, login, post_form, enrol):
    login(client, "handler")
    response = client.get("/staff/account/2fa")
    html = response.get_data(as_text=True)
    assert "<svg" in html or "data:image/png" in html
    # No outside service draws the code: no external URL in the page at all.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert len(secret) >= 16
    # Reloading shows the same key, so a scanned code stays valid until confirmed.
    assert secret in client.get("/staff/account/2fa").get_data(as_text=True).replace(" ", "")
    response = post_form(client, "/staff/account/2fa", {"code": "000000"})
    assert response.status_code == 400
    assert refresh(world.handler).totp_enabled_at is None
    secret, codes = enrol(client, "handler")
    assert refresh(world.handler).totp_enabled_at is not None
    assert len(codes) == 10 and len(set(codes)) == 10
    # Only hashes are stored.
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == world.handler.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert audit_actions("auth.totp_enable")[-1].username == "handler"


def test_with_2fa_the_password_alone_does_not_sign_in(app, client, world, login, post_form, totp_now, attempt, enrol):
    login(client, "handler")
    enrol(client, "handler")
    fresh = app.test_client()
    response = attempt(fresh, "handler", PASSWORD)
    assert response.headers["Location"].endswith("/staff/login/verify")
    assert not signed_in(fresh)
    response = post_form(fresh, "/staff/login/verify", {"code": "123456"})
    assert response.status_code == 401
    assert not signed_in(fresh)
    response = post_form(fresh, "/staff/login/verify", {"code": totp_now("handler")})
    assert response.status_code == 302
    assert signed_in(fresh)


def test_wrong_codes_count_towards_the_lockout(app, client, world, login, post_form, attempt, enrol):
    login(client, "handler")
    enrol(client, "handler")
    fresh = app.test_client()
    for _ in range(5):
        attempt(fresh, "handler", PASSWORD)
        response = post_form(fresh, "/staff/login/verify", {"code": "000000"})
    assert refresh(world.handler).locked_until is not None
    assert response.headers["Location"].endswith("/staff/login")
    assert attempt(fresh, "handler", PASSWORD).status_code == 401


def test_a_recovery_code_works_once(app, client, world, login, post_form, attempt, enrol):
    login(client, "handler")
    _secret, codes = enrol(client, "handler")
    first = app.test_client()
    attempt(first, "handler", PASSWORD)
    assert post_form(first, "/staff/login/verify", {"code": codes[0].upper()}).status_code == 302
    assert signed_in(first)
    assert audit_actions("auth.recovery_code_used")[-1].username == "handler"
    second = app.test_client()
    attempt(second, "handler", PASSWORD)
    assert post_form(second, "/staff/login/verify", {"code": codes[0]}).status_code == 401
    assert not signed_in(second)
    assert post_form(second, "/staff/login/verify", {"code": codes[1]}).status_code == 302


def test_the_code_step_expires(app, client, world, login, attempt, enrol):
    login(client, "handler")
    enrol(client, "handler")
    fresh = app.test_client()
    attempt(fresh, "handler", PASSWORD)
    with fresh.session_transaction() as sess:
        pending = dict(sess["_pending_2fa"])
        pending["at"] -= 301
        sess["_pending_2fa"] = pending
    response = fresh.get("/staff/login/verify")
    assert response.headers["Location"].endswith("/staff/login")


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_admins_and_reviewers_must_enrol_before_anything_else(client, world, create_user, create_case, role, login, enrol):
    user = create_user(role, department=world.housing if role == "reviewer" else None, two_factor=False)
    case, _ = create_case("pending_review")
    login(client, user.username)
    urls = ["/staff/", "/staff/account", f"/staff/cases/{case.number}", "/staff/admin/users"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/staff/account/2fa"), url
    assert "必须使用两步验证" in client.get("/staff/account/2fa").get_data(as_text=True)
    enrol(client, user.username)
    assert client.get("/staff/").status_code == 200


def test_a_handler_may_work_without_2fa(client, world, login):
    assert not twofactor.required(world.handler)
    login(client, "handler")
    assert client.get("/staff/").status_code == 200
    assert "绑定两步验证" in client.get("/staff/account").get_data(as_text=True)


def test_disabling_and_regenerating_need_the_password_and_a_code(client, world, login, post_form, totp_now, enrol):
    login(client, "handler")
    _secret, old_codes = enrol(client, "handler")
    response = post_form(client, "/staff/account/2fa/recovery-codes",
                         {"password": "Wrong-Password-1", "code": totp_now("handler")}, form_url="/staff/account")
    assert response.status_code == 302
    assert twofactor.unused_recovery_codes(world.handler) == 10
    response = post_form(client, "/staff/account/2fa/recovery-codes",
                         {"password": PASSWORD, "code": totp_now("handler")}, form_url="/staff/account")
    new_codes = re.findall(r"<code>([a-z0-9-]{19})</code>", response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert twofactor.verify(refresh(world.handler), old_codes[0]) is None
    post_form(client, "/staff/account/2fa/disable", {"password": PASSWORD, "code": "000000"},
              form_url="/staff/account")
    assert refresh(world.handler).totp_enabled_at is not None
    post_form(client, "/staff/account/2fa/disable", {"password": PASSWORD, "code": totp_now("handler")},
              form_url="/staff/account")
    assert refresh(world.handler).totp_enabled_at is None
    assert audit_actions("auth.totp_disable")


def test_an_admin_can_remove_a_lost_authenticator(client, world, runner, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/reviewer/2fa/reset", {},
                         form_url="/staff/admin/users/reviewer")
    assert response.status_code == 302
    assert refresh(world.reviewer).totp_enabled_at is None
    result = runner.invoke(args=["users", "reset-2fa", "other-reviewer"])
    assert result.exit_code == 0, result.output
    assert refresh(world.other_reviewer).totp_secret is None


def test_the_world_fixture_users_who_need_2fa_have_it(world):
    assert twofactor.enabled(world.admin) and twofactor.enabled(world.reviewer)
    assert not twofactor.enabled(world.handler)


def test_a_totp_code_cannot_be_replayed(world):
    totp = pyotp.TOTP(world.reviewer.totp_secret)
    step = totp.timecode(utcnow())
    world.reviewer.totp_last_step = None
    assert twofactor.verify(world.reviewer, totp.generate_otp(step)) == "totp"
    # The same code again, within its 30 seconds, is a replay.
    assert twofactor.verify(world.reviewer, totp.generate_otp(step)) is None
    # An older code (the previous step, still inside the drift window) is refused too.
    assert twofactor.verify(world.reviewer, totp.generate_otp(step - 1)) is None
    # The next step's code is later than the one used, so it is accepted, once.
    assert twofactor.verify(world.reviewer, totp.generate_otp(step + 1)) == "totp"
    assert twofactor.verify(world.reviewer, totp.generate_otp(step + 1)) is None
