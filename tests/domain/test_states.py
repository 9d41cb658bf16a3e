"""State enums (interact.domain.states): every value has a title, every state column holds only its
enum's values, and the database itself refuses any other value, whoever writes it.

The raw-SQL tests bypass the ORM on purpose: the CHECK constraints that the migration adds are
what stops them, on SQLite and on PostgreSQL alike.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import Enum, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from interact.domain import states
from interact.domain.db import db
from interact.domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from interact.domain.models import Case, OutboxMessage
from interact.domain.states import CaseKind, OutboxStatus, Status
from interact.services import audit
from interact.services import cases as case_service
from interact.services.attachments import Upload

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = next((ROOT / "migrations" / "versions").glob("*_state_check_constraints.py"))
BEFORE = "e44ed7d6f5f6"  # the revision before the state constraints


def _migration_checks() -> dict[str, dict[str, tuple[str, ...]]]:
    """The migration's table → column → allowed values."""
    spec = importlib.util.spec_from_file_location("state_check_constraints", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHECKS


def _enum_columns() -> dict[tuple[str, str], type[states.RichEnum]]:
    """Every enum-typed column of the models, (table, column) → its enum."""
    return {(table.name, column.name): column.type.enum_class
            for table in db.metadata.tables.values() for column in table.columns
            if isinstance(column.type, Enum)}


# --- the enums ---------------------------------------------------------------------------------

@pytest.mark.parametrize("enum_class", states.ALL, ids=lambda c: c.__name__)
def test_every_member_has_a_non_empty_title(app, enum_class):
    assert list(enum_class.titles()) == enum_class.values(), "a title for each value, and no others"
    for member in enum_class:
        assert str(member.title).strip(), member


def test_members_behave_as_their_plain_value():
    member = OutboxStatus.pending
    assert member == "pending" and "pending" == member
    assert str(member) == "pending" and f"{member}" == "pending" and f"{member:>8}" == " pending"
    assert json.dumps({"status": member}) == '{"status": "pending"}'
    assert {"pending": 1}[member] == 1 and {member: 1}["pending"] == 1
    assert OutboxStatus("dead") is OutboxStatus.dead


def test_the_registries_use_the_enum_titles(app):
    assert list(KINDS) == CaseKind.values()
    assert all(KINDS[k].label == CaseKind(k).title for k in KINDS)
    assert ERROR_TYPES == states.ErrorType.titles()
    assert DECLINE_REASONS == states.DeclineReason.titles()
    assert RATINGS == states.Rating.titles()


# --- the columns -------------------------------------------------------------------------------

def test_model_columns_allow_exactly_the_enum_values():
    columns = _enum_columns()
    for (table, name), enum_class in columns.items():
        column = db.metadata.tables[table].c[name]
        assert column.type.enums == enum_class.values(), f"{table}.{name}"
        assert column.type.create_constraint and not column.type.native_enum, f"{table}.{name}"
        assert column.type.validate_strings, f"{table}.{name}"
    assert set(columns.values()) == set(states.ALL), "every enum is some column's type"


def test_the_migration_checks_every_enum_column_with_its_values():
    checks = _migration_checks()
    expected = {(t, c): tuple(e.values()) for (t, c), e in _enum_columns().items()}
    found = {(t, c): values for t, columns in checks.items() for c, values in columns.items()}
    assert found == expected


def test_the_database_holds_a_named_check_for_every_enum_column(app):
    inspector = inspect(db.engine)
    for (table, name), enum_class in _enum_columns().items():
        constraints = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        sql = constraints.get(f"ck_{table}_{name}")
        assert sql is not None, f"ck_{table}_{name} is missing"
        assert all(f"'{value}'" in sql for value in enum_class.values()), sql


def test_loaded_values_are_enum_members(create_case):
    case, _code = create_case("replied", kind="complaint")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.kind is CaseKind.complaint and case.status is Status.replied
    assert case.events[-1].to_status is Status.replied


def test_the_orm_refuses_a_value_outside_the_enum(app):
    db.session.add(OutboxMessage(recipient="a@example.com", subject="s", text_body="t", html_body="h",
                                 template="x", status="bogus"))
    with pytest.raises(StatementError, match="bogus"):
        db.session.flush()
    db.session.rollback()


# --- the database refuses what the ORM would -----------------------------------------------------

# (statement, a valid value, an invalid one). The valid value must go through, so that the
# invalid one is refused by its CHECK constraint and not by anything else in the statement.
WRITES = {
    "cases.status": ("UPDATE cases SET status = :v WHERE id = :case", "handling", "bogus"),
    "cases.kind": ("UPDATE cases SET kind = :v WHERE id = :case", "complaint", "petition"),
    "cases.error_type": ("UPDATE cases SET error_type = :v WHERE id = :case", "other", "typo"),
    "cases.draft_kind": ("UPDATE cases SET draft_kind = :v WHERE id = :case", "reply", "maybe"),
    "cases.draft_reason": ("UPDATE cases SET draft_reason = :v WHERE id = :case", "abusive", "boring"),
    "cases.decline_reason": ("UPDATE cases SET decline_reason = :v WHERE id = :case", "duplicate", "boring"),
    "cases.rating": ("UPDATE cases SET rating = :v WHERE id = :case", "satisfied", "great"),
    "case_events.to_status": ("UPDATE case_events SET to_status = :v WHERE case_id = :case", "assigned", "lost"),
    "case_events.from_status": ("UPDATE case_events SET from_status = :v WHERE case_id = :case", "submitted", "x"),
    "users.notify_mode": ("UPDATE users SET notify_mode = :v WHERE id = :user", "digest", "weekly"),
    "user_roles.role": ("UPDATE user_roles SET role = :v WHERE user_id = :user", "auditor", "superuser"),
    "kind_settings.kind": ("INSERT INTO kind_settings (kind, deadline_days) VALUES (:v, 5)", "mailbox", "petition"),
    "attachments.purpose": (
        "INSERT INTO attachments (case_id, purpose, filename, stored_name, content_type, size, created_at) "
        "VALUES (:case, :v, 'f.png', :unique, 'image/png', 1, CURRENT_TIMESTAMP)", "screenshot", "avatar"),
    "case_flags.kind": (
        "INSERT INTO case_flags (case_id, kind, field, \"match\", created_at) "
        "VALUES (:case, :v, 'title', 'm', CURRENT_TIMESTAMP)", "sensitive_word", "rude"),
    "case_flags.field": (
        "INSERT INTO case_flags (case_id, kind, field, \"match\", created_at) "
        "VALUES (:case, 'external_link', :v, 'm', CURRENT_TIMESTAMP)", "reply", "name"),
    "text_masks.origin": (
        'INSERT INTO text_masks (object_type, object_id, field, start, "end", text, label, origin, lifted, '
        "created_at) VALUES ('case', :case, 'title', 0, 1, 'x', 'manual', :v, false, CURRENT_TIMESTAMP)",
        "reviewer", "robot"),
    "text_masks.field": (
        'INSERT INTO text_masks (object_type, object_id, field, start, "end", text, label, origin, lifted, '
        "created_at) VALUES ('case', :case, :v, 0, 1, 'x', 'manual', 'reviewer', false, CURRENT_TIMESTAMP)",
        "content", "phone"),
    "audit_log.outcome": (
        "INSERT INTO audit_log (at, user_id, username, roles, action, object_type, object_id, outcome, ip, "
        "user_agent, details, prev_hash, hash) VALUES (CURRENT_TIMESTAMP, NULL, 'x', '', 'test', '', '', :v, "
        "'', '', '{}', 'p', :unique)", "failure", "partial"),
    "outbox.status": (
        "INSERT INTO outbox (created_at, recipient, subject, text_body, html_body, headers, template, status, "
        "attempts, next_attempt_at) VALUES (CURRENT_TIMESTAMP, 'a@example.com', 's', 't', 'h', '{}', 'x', :v, 0, "
        "CURRENT_TIMESTAMP)", "sent", "bogus"),
    "extension_requests.status": (
        "INSERT INTO extension_requests (case_id, days, reason, requested_by_id, requested_at, status) "
        "VALUES (:case, 1, 'r', :user, CURRENT_TIMESTAMP, :v)", "approved", "maybe"),
    "subscriptions.scope": (
        "INSERT INTO subscriptions (email, scope, scope_value, frequency, created_at) "
        "VALUES ('a@example.com', :v, '', 'daily', CURRENT_TIMESTAMP)", "kind", "city"),
    "subscriptions.frequency": (
        "INSERT INTO subscriptions (email, scope, scope_value, frequency, created_at) "
        "VALUES ('a@example.com', 'all', '', :v, CURRENT_TIMESTAMP)", "daily", "weekly"),
}


def test_the_raw_sql_cases_cover_every_enum_column():
    assert set(WRITES) == {f"{t}.{c}" for t, c in _enum_columns()}


@pytest.mark.parametrize("column", sorted(WRITES))
def test_raw_sql_cannot_write_a_value_outside_the_enum(create_case, world, column):
    statement, good, bad = WRITES[column]
    case, _code = create_case("assigned")
    params = {"case": case.id, "user": world.handler.id}
    db.session.commit()  # no open transaction may hold the lock the writes below need
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(statement), {**params, "v": bad, "unique": f"u-{bad}"})
    with db.engine.begin() as conn:
        written = conn.execute(text(statement), {**params, "v": good, "unique": f"u-{good}"})
        assert written.rowcount >= 1, "the valid value goes through"


def test_the_audit_trail_stays_append_only(app, world):
    """SQLite re-created audit_log to add its CHECK: the trigger refusing UPDATE came back with it."""
    audit.record("test.entry", user=world.admin)
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'someone-else'"))


# --- the migration keeps the rows (SQLite re-creates every table it constrains) ------------------

def test_the_sqlite_migration_keeps_rows_foreign_keys_and_triggers(make_app, reset_database, tmp_path):
    url = "sqlite:///" + os.path.join(tmp_path, "states.db")
    reset_database(url)
    built = make_app(url=url)
    with built.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, password_hash, active, created_at, "
                              "must_change_password, session_version, notify_mode) "
                              "VALUES (1, 'u', 'h', 1, CURRENT_TIMESTAMP, 0, 1, 'digest')"))
            conn.execute(text("INSERT INTO user_roles (user_id, role) VALUES (1, 'handler')"))
            conn.execute(text("INSERT INTO cases (id, number, kind, status, title, content, name, phone, "
                              "publish_consent, query_code_hash, submitted_at, submitted_on, deadline_days, due_at, "
                              "transfer_count, extension_days, extension_count, urge_count, published) "
                              "VALUES (1, 'N1', 'complaint', 'submitted', 't', 'c', 'n', 'p', 1, 'h', "
                              "CURRENT_TIMESTAMP, CURRENT_DATE, 3, CURRENT_TIMESTAMP, 0, 0, 0, 0, 0)"))
            conn.execute(text("INSERT INTO case_events (case_id, at, action, to_status, note, public_note, public) "
                              "VALUES (1, CURRENT_TIMESTAMP, 'submit', 'submitted', '', '', 1)"))
        tables = ("users", "user_roles", "cases", "case_events")

        def counts() -> dict[str, int]:
            """Rows per table."""
            with db.engine.connect() as conn:
                return {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}  # noqa: S608

        def state() -> tuple[list, int, list]:
            """The triggers, the foreign-key setting and the cases table's CHECK names."""
            with db.engine.connect() as conn:
                triggers = conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all()
                return triggers, conn.scalar(text("PRAGMA foreign_keys")), sorted(
                    c["name"] for c in inspect(conn).get_check_constraints("cases"))

        before = counts()
        assert before == dict.fromkeys(tables, 1)
        upgrade()
        assert counts() == before, "re-creating the tables with foreign keys off cascades nothing"
        triggers, foreign_keys, checks = state()
        assert triggers == ["audit_log_no_update"] and foreign_keys == 1
        assert {"ck_cases_status", "ck_cases_kind", "ck_cases_published_only_when_replied"} <= set(checks)
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE cases SET kind = 'petition'"))

        downgrade(revision=BEFORE)
        assert counts() == before
        triggers, foreign_keys, checks = state()
        assert triggers == ["audit_log_no_update"] and foreign_keys == 1
        assert checks == ["ck_cases_published_only_when_replied"]


def test_an_unknown_kind_filter_lists_no_records(client, create_case):
    """A kind outside the enum cannot even be compared with the column: the list is empty, not an error."""
    case, _code = create_case("replied", kind="complaint")
    unknown, known = client.get("/records?kind=petition"), client.get("/records?kind=complaint")
    assert unknown.status_code == 200 and case.number not in unknown.get_data(as_text=True)
    assert known.status_code == 200 and case.number in known.get_data(as_text=True)


def test_staff_pages_label_states_with_the_enum_titles(client, world, create_case, login, png_bytes):
    case, _code = create_case("submitted", kind="correction", site=world.site.id,
                              page_url="https://zjj.example.gov.cn/notice/1", error_type="broken_link",
                              content="详见 http://evil.example.com/x", screenshot=Upload("s.png", png_bytes()))
    case_service.accept_case(world.handler, case)
    world.handler.notify_mode = "digest"
    db.session.commit()
    login(client, "handler")
    html = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    for title in (states.AttachmentPurpose.screenshot.title, states.FlagKind.external_link.title,
                  f"{states.TextField.content.title}：", states.ErrorType.broken_link.title):
        assert str(title) in html, title

    client.post("/staff/logout", data={})
    login(client, "admin")
    outbox = client.get("/staff/admin/outbox").get_data(as_text=True)
    assert all(str(s.title) in outbox for s in OutboxStatus)
    account = client.get("/staff/admin/users/handler").get_data(as_text=True)
    assert str(states.NotifyMode.digest.title) in account
