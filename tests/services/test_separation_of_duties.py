"""Separation of duties (Art. 25, MLPS 三权分立): admin and auditor are each held alone, and nobody
changes their own roles, through the service, the admin's HTML forms and the command line; and
`interact users check-roles` finds accounts stored before the rule."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select

from interact.domain.db import db
from interact.domain.duties import role_conflicts
from interact.domain.errors import ValidationFailed
from interact.domain.models import AuditEntry, Role, User, UserRole
from interact.services import directory

GOOD_PASSWORD = "Long-Enough-Passw0rd"
FORBIDDEN = [("admin", "auditor"), ("admin", "dispatcher"), ("admin", "handler"), ("admin", "reviewer"),
             ("dispatcher", "auditor"), ("handler", "auditor"), ("reviewer", "auditor")]
ALLOWED = [["handler", "reviewer"], ["dispatcher", "handler"], ["dispatcher", "reviewer"],
           ["dispatcher", "handler", "reviewer"], ["admin"], ["auditor"]]


def roles_of(username: str) -> set[str]:
    """The stored roles of an account, read afresh."""
    db.session.expire_all()
    return {r.value for r in directory.user_by_username(username).roles}


def user_count() -> int:
    """Staff accounts in the database."""
    return db.session.scalar(select(func.count()).select_from(User))


def refusals(action: str) -> list[AuditEntry]:
    """The committed failure entries of one action, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                            AuditEntry.outcome == "failure")
                                   .order_by(AuditEntry.id)))


# --- the rule ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_every_forbidden_pair_is_a_conflict(pair):
    assert len(role_conflicts(pair)) == 1
    assert role_conflicts(["dispatcher", "handler", "reviewer", *pair])


@pytest.mark.parametrize("roles", ALLOWED, ids="+".join)
def test_allowed_combinations_have_no_conflict(roles):
    assert role_conflicts(roles) == []


def test_every_pair_is_named_once_in_declaration_order():
    assert role_conflicts(["auditor", "admin", "handler"]) == [
        (Role.admin, Role.handler), (Role.admin, Role.auditor), (Role.handler, Role.auditor)]


# --- the service -------------------------------------------------------------------------------

@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_create_user_refuses_a_forbidden_pair(world, pair):
    before = user_count()
    with pytest.raises(ValidationFailed) as refused:
        directory.create_user("newclerk", GOOD_PASSWORD, list(pair), "housing", actor=world.admin)
    message = refused.value.fields["roles"]
    assert "职责分离" in message
    for code in pair:
        assert str(Role(code).title) in message
    db.session.rollback()
    assert user_count() == before


@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_set_roles_refuses_a_forbidden_pair(world, pair):
    with pytest.raises(ValidationFailed) as refused:
        directory.set_roles(world.handler, list(pair), actor=world.admin)
    assert "职责分离" in refused.value.fields["roles"]
    db.session.rollback()
    assert roles_of("handler") == {"handler"}


@pytest.mark.parametrize("roles", ALLOWED, ids="+".join)
def test_allowed_combinations_are_created_and_set(world, roles):
    user = directory.create_user("newclerk", GOOD_PASSWORD, roles, "housing", actor=world.admin)
    assert {r.value for r in user.roles} == set(roles)
    directory.set_roles(world.handler, roles, actor=world.admin)
    db.session.commit()
    assert roles_of("handler") == set(roles)


@pytest.mark.parametrize("roles", [["dispatcher"], ["admin", "auditor"], ["auditor"]])
def test_nobody_changes_their_own_roles(world, roles):
    with pytest.raises(ValidationFailed) as refused:
        directory.set_roles(world.admin, roles, actor=world.admin)
    assert "不能修改自己的角色" in refused.value.fields["roles"]
    db.session.rollback()
    assert roles_of("admin") == {"admin"}


def test_saving_ones_own_unchanged_roles_is_allowed(world):
    directory.set_roles(world.admin, ["admin"], actor=world.admin)
    db.session.commit()
    assert roles_of("admin") == {"admin"}


# --- the admin's HTML forms --------------------------------------------------------------------

@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_the_new_user_form_refuses_a_forbidden_pair(client, world, login, post_form, pair):
    login(client, "admin")
    before = user_count()
    response = post_form(client, "/staff/admin/users", {
        "username": "newclerk", "password": GOOD_PASSWORD, "roles": list(pair), "department": "housing"})
    assert response.status_code == 400
    assert "不能由同一账号兼任" in response.get_data(as_text=True)
    assert user_count() == before
    entry = refusals("user.create")[-1]
    assert (entry.username, entry.object_id) == ("admin", "newclerk")
    assert json.loads(entry.details) == {"error": "invalid", "roles": sorted(pair)}


@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_the_user_page_refuses_a_forbidden_pair(client, world, login, post_form, pair):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/handler", {"roles": list(pair), "active": "y"})
    assert response.status_code == 400
    assert "不能由同一账号兼任" in response.get_data(as_text=True)
    assert roles_of("handler") == {"handler"}
    assert refusals("user.roles")[-1].object_id == "handler"


def test_the_user_page_keeps_allowed_combinations(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/handler", {"roles": ["dispatcher", "handler"], "active": "y"})
    assert response.status_code == 302
    assert roles_of("handler") == {"dispatcher", "handler"}


@pytest.mark.parametrize("roles", [["admin", "auditor"], ["admin", "dispatcher"], ["dispatcher"]])
def test_the_admin_cannot_change_their_own_roles_on_their_page(client, world, login, post_form, roles):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/admin", {"roles": roles, "active": "y"})
    assert response.status_code == 400
    assert "不能修改自己的角色" in response.get_data(as_text=True)
    assert roles_of("admin") == {"admin"}
    assert refusals("user.roles")[-1].object_id == "admin"
    # Nor may they then read the trail: the auditor role was never granted.
    assert client.get("/staff/audit").status_code == 403


def test_the_admin_still_saves_their_own_page_with_unchanged_roles(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/users/admin",
                         {"roles": ["admin"], "active": "y", "email": "admin@example.gov.cn"})
    assert response.status_code == 302
    db.session.expire_all()
    assert directory.user_by_username("admin").email == "admin@example.gov.cn"


# --- the command line --------------------------------------------------------------------------

def invoke(runner, *args: str, input: str | None = None):
    """Run `interact ARGS…` and return the result."""
    return runner.invoke(args=list(args), input=input)


@pytest.mark.parametrize("pair", FORBIDDEN, ids="+".join)
def test_users_add_refuses_a_forbidden_pair(runner, world, pair):
    before = user_count()
    args = ["users", "add", "newclerk", "--role", pair[0], "--role", pair[1], "--department", "housing",
            "--password-stdin"]
    result = invoke(runner, *args, input=GOOD_PASSWORD + "\n")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "职责分离" in result.output
    assert user_count() == before


def test_users_add_keeps_allowed_combinations(runner, world):
    result = invoke(runner, "users", "add", "newclerk", "--role", "dispatcher", "--role", "handler",
                    "--department", "housing", "--password-stdin", input=GOOD_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert roles_of("newclerk") == {"dispatcher", "handler"}


def test_users_set_roles_follows_the_rule(runner, world):
    refused = invoke(runner, "users", "set-roles", "handler", "--role", "handler", "--role", "auditor")
    assert refused.exit_code == 1, refused.output
    assert "职责分离" in refused.output
    assert roles_of("handler") == {"handler"}
    done = invoke(runner, "users", "set-roles", "handler", "--role", "handler", "--role", "reviewer")
    assert done.exit_code == 0, done.output
    assert roles_of("handler") == {"handler", "reviewer"}


def test_check_roles_passes_when_every_account_follows_the_rule(runner, world):
    result = invoke(runner, "users", "check-roles")
    assert result.exit_code == 0, result.output
    assert "没有违反职责分离的账号" in result.output


def test_check_roles_finds_rows_written_past_the_service(runner, world):
    # An install made before the rule: the rows are written straight into user_roles.
    db.session.execute(insert(UserRole), [{"user_id": world.admin.id, "role": Role.auditor},
                                          {"user_id": world.dispatcher.id, "role": Role.auditor}])
    db.session.commit()
    db.session.expire_all()
    result = invoke(runner, "users", "check-roles")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    admin = next(line for line in lines if line.startswith("admin "))
    assert "admin,auditor" in admin and "admin+auditor" in admin
    assert any(line.startswith("dispatcher ") and "dispatcher+auditor" in line for line in lines)
    assert not any(line.startswith(("handler ", "auditor ")) for line in lines)
    assert "2 个账号" in result.output
    # Another operator fixes them; then the check passes.
    assert invoke(runner, "users", "set-roles", "admin", "--role", "admin").exit_code == 0
    assert invoke(runner, "users", "set-roles", "dispatcher", "--role", "dispatcher").exit_code == 0
    assert invoke(runner, "users", "check-roles").exit_code == 0
