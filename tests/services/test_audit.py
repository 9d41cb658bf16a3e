"""The audit trail (Art. 25; MLPS security audit): what is recorded, tamper evidence, retention,
the auditor's page and its export."""
from __future__ import annotations

import csv
import io
import json
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from interact.domain.db import db
from interact.domain.models import AuditEntry, Setting
from interact.services import audit, directory
from interact.services import cases as case_service
from interact.services.attachments import Upload
from interact.domain.timeutil import local_tz, utcnow
from interact.services import deadlines


def entries(action: str | None = None) -> list[AuditEntry]:
    """The trail (or one action's entries), oldest first, as committed."""
    db.session.expire_all()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.scalars(stmt))


def details(entry: AuditEntry) -> dict:
    """An entry's details as a dict."""
    return json.loads(entry.details)


def is_postgres() -> bool:
    """Whether the suite runs on PostgreSQL."""
    return db.engine.dialect.name == "postgresql"


@contextmanager
def tampering():
    """Raw SQL as someone with rights over the database would run it, past the append-only trigger."""
    db.session.commit()  # no open transaction may hold a lock the ALTER below waits for
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            yield conn
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        else:
            ddl = conn.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                   "AND name = 'audit_log_no_update'"))
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            yield conn
            conn.execute(text(ddl))


@contextmanager
def clock(moment: datetime, monkeypatch):
    """Record entries as if it were `moment`."""
    with monkeypatch.context() as patch:
        patch.setattr(audit, "utcnow", lambda: moment)
        yield


def chain_of(n: int, action: str = "test.entry") -> list[AuditEntry]:
    """Record and commit `n` entries."""
    for i in range(n):
        audit.record(action, username="tester", object_type="thing", object_id=i, details={"i": i})
    db.session.commit()
    return entries(action)


# --- what is recorded --------------------------------------------------------------------------

def test_every_case_action_is_recorded_with_actor_object_and_statuses(create_case, world):
    create_case("replied")
    trail = [e for e in entries() if e.object_type == "case"]
    assert [e.action for e in trail] == ["case.dispatch", "case.accept", "case.reply", "case.approve"]
    assert [e.username for e in trail] == ["dispatcher", "handler", "handler", "reviewer"]
    assert trail[0].roles == "dispatcher"
    assert all(e.outcome == "success" and e.object_id == trail[0].object_id for e in trail)
    assert details(trail[0]) == {"from": "submitted", "to": "assigned", "department": "housing"}
    assert details(trail[3]) == {"from": "pending_review", "to": "replied", "department": "housing",
                                 "decision": "approve", "published": True}


def test_publication_decision_and_return_are_recorded(create_case, world):
    case, _code = create_case("pending_review", publish_consent=True)
    case_service.review_draft(world.reviewer, case, "return", "请补充政策依据。")
    case_service.draft_reply(world.handler, case, "已补充依据。")
    case_service.review_draft(world.reviewer, case, "approve", "", publish=False)
    db.session.commit()
    returned, approved = entries("case.return")[0], entries("case.approve")[0]
    assert details(returned)["decision"] == "return"
    assert details(approved) == {"from": "pending_review", "to": "replied", "department": "housing",
                                 "decision": "approve", "published": False}


def test_case_entries_hold_no_citizen_text(create_case):
    create_case("replied", content="我的手机号是13912345678，请回电。")
    for entry in entries():
        assert "13912345678" not in entry.details
        assert "经核实" not in entry.details  # the reply text stays in the case, not in the trail


def test_a_rolled_back_action_leaves_no_success_entry(create_case, world):
    case, _code = create_case("assigned")
    before = len(entries())
    case_service.accept_case(world.handler, case)
    db.session.rollback()
    assert len(entries()) == before
    assert audit.verify() is None


def test_refused_html_action_is_recorded_as_a_failure(client, create_case, world, login, post_form):
    case, _code = create_case("assigned")
    login(client, "other-handler")
    # Another department's case: NotFound, audited before the 404 page.
    response = post_form(client, f"/staff/cases/{case.number}/accept", {},
                         form_url="/staff/")
    assert response.status_code == 404
    refused = entries("case.accept")[-1]
    assert (refused.outcome, refused.username, refused.object_id) == ("failure", "other-handler", case.number)
    assert details(refused) == {"error": "not_found"}


@pytest.mark.parametrize(("who", "action", "data", "status", "error"), [
    ("handler", "dispatch", {"department": "housing"}, "assigned", "forbidden"),
    ("handler", "reply", {"text": "答复"}, "assigned", "conflict"),
    ("handler", "transfer", {"reason": ""}, "handling", "invalid"),
])
def test_refused_html_actions_of_every_kind_are_recorded(client, create_case, world, who, action, data,
                                                        status, error, login, post_form):
    case, _code = create_case(status)
    login(client, who)
    post_form(client, f"/staff/cases/{case.number}/{action}", data, form_url=f"/staff/cases/{case.number}")
    refused = entries("case." + action)[-1]
    assert refused.outcome == "failure"
    assert details(refused)["error"] == error


def test_service_validation_refusal_is_recorded(client, create_case, world, login, post_form):
    case, _code = create_case("handling")
    login(client, "handler")
    response = post_form(client, f"/staff/cases/{case.number}/decline", {"reason": "out_of_scope",
                                                                          "explanation": "x" * 1001},
                         form_url=f"/staff/cases/{case.number}")
    assert response.status_code == 400
    assert details(entries("case.decline")[-1]) == {"error": "invalid"}


@pytest.mark.parametrize(("user", "action", "body", "status", "code"), [
    ("handler", "dispatch", {"department": "housing"}, 403, "forbidden"),
    ("handler", "accept", {}, 409, "conflict"),
    ("other_handler", "accept", {}, 404, "not_found"),
    ("handler", "transfer", {"reason": 5}, 400, "invalid"),
    ("handler", "teleport", {}, 404, "not_found"),
])
def test_refused_api_action_is_recorded_as_a_failure(client, create_case, create_token, world, user, action,
                                                     body, status, code):
    case, _code = create_case("handling")
    token = create_token(getattr(world, user))
    response = client.post(f"/api/v1/staff/cases/{case.number}/{action}", json=body,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    refused = entries("case." + action)[-1]
    assert (refused.outcome, refused.username, refused.object_id) == ("failure", getattr(world, user).username,
                                                                      case.number)
    assert details(refused) == {"error": code}


def test_entry_holds_time_user_roles_ip_and_user_agent(client, create_case, create_token, world):
    case, _code = create_case("assigned")
    token = create_token(world.handler)
    started = utcnow() - timedelta(seconds=1)
    response = client.post(f"/api/v1/staff/cases/{case.number}/accept", json={},
                           headers={"Authorization": f"Bearer {token}", "User-Agent": "Audit-Test/1.0"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200
    entry = entries("case.accept")[-1]
    assert started <= entry.at <= utcnow()
    assert (entry.user_id, entry.username, entry.roles) == (world.handler.id, "handler", "handler")
    assert (entry.ip, entry.user_agent, entry.outcome) == ("10.1.2.3", "Audit-Test/1.0", "success")


def test_user_and_role_changes_are_recorded(client, world, login, post_form):
    login(client, "admin")
    post_form(client, "/staff/admin/users", {"username": "newclerk", "password": "Another-Strong-Pass-42",
                                             "roles": ["dispatcher"], "department": "gov-office"})
    created = entries("user.create")[-1]
    assert (created.username, created.object_id) == ("admin", "newclerk")
    assert details(created) == {"roles": ["dispatcher"], "department": "gov-office"}
    assert "Another-Strong-Pass-42" not in created.details
    # dispatcher + auditor is refused now (separation of duties); a case role may be added.
    post_form(client, "/staff/admin/users/newclerk", {"roles": ["dispatcher", "handler"]})
    roles = entries("user.roles")[-1]
    assert details(roles) == {"from": ["dispatcher"], "to": ["dispatcher", "handler"]}
    active = entries("user.active")[-1]
    assert details(active) == {"from": True, "to": False}  # the box was left unticked


def test_department_site_calendar_and_deadline_changes_are_recorded(client, world, login, post_form):
    login(client, "admin")
    post_form(client, "/staff/admin/departments", {"code": "water", "name": "市水务局"})
    post_form(client, "/staff/admin/departments/water", {"name": "市水务集团", "active": "y"})
    post_form(client, "/staff/admin/sites", {"department": "water", "name": "水务网", "base_url": "https://sw.example.gov.cn"})
    post_form(client, "/staff/admin/calendar/overrides", {"day": "2026-12-28", "working": "off", "note": "测试"},
              form_url="/staff/admin/calendar?year=2026")
    post_form(client, "/staff/admin/calendar/overrides/2026-12-28/clear", {},
              form_url="/staff/admin/calendar?year=2026")
    post_form(client, "/staff/admin/calendar/confirm", {"year": "2026", "note": "国办发明电"},
              form_url="/staff/admin/calendar?year=2026")
    post_form(client, "/staff/admin/deadlines", {"kind": "complaint", "days": "5"})
    by_action = {e.action: e for e in entries() if e.username == "admin"}
    assert by_action["department.create"].object_id == "water"
    assert details(by_action["department.update"])["to"]["name"] == "市水务集团"
    assert details(by_action["site.create"])["department"] == "water"
    assert details(by_action["calendar.override"])["working"] is False
    assert by_action["calendar.clear"].object_id == "2026-12-28"
    assert by_action["calendar.confirm"].object_id == "2026"
    assert details(by_action["deadline.set"]) == {"from": 3, "to": 5}
    assert all(e.roles == "admin" for e in by_action.values())


def test_command_line_changes_are_recorded_as_the_operating_system_user(runner, world, monkeypatch):
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "ops")
    result = runner.invoke(args=["deadlines", "set", "suggestion", "4"])
    assert result.exit_code == 0, result.output
    entry = entries("deadline.set")[-1]
    assert (entry.username, entry.user_id, entry.ip) == ("cli:ops", None, "")


def test_attachment_download_is_recorded(client, world, create_case, login, pdf_bytes):
    case, _code = create_case("assigned", uploads=[Upload("proof.pdf", pdf_bytes())])
    attachment_id = case.attachments[0].id
    login(client, "handler")
    response = client.get(f"/staff/cases/{case.number}/attachments/{attachment_id}")
    assert response.status_code == 200
    response.close()
    entry = entries("attachment.download")[-1]
    assert (entry.username, entry.object_type, entry.object_id) == ("handler", "attachment", str(attachment_id))
    assert details(entry) == {"case": case.number}


def test_no_code_path_updates_or_deletes_audit_entries_except_the_purge():
    """Append-only: only services/audit.py's purge deletes entries, and nothing updates them."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "interact"
    pattern = re.compile(r"(update|delete)\(\s*AuditEntry|(UPDATE|DELETE FROM)\s+audit_log|"
                         r"AuditEntry\.__table__\.(update|delete)", re.IGNORECASE)
    hits = []
    for path in root.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    # The chain's SQLite write lock (a no-op UPDATE matching no row) and the purge's DELETE.
    assert [h.split(":")[0] for h in hits] == ["services/audit.py", "services/audit.py"], hits
    assert "WHERE 0 = 1" in hits[0] and "AuditEntry.id <= last_id" in hits[1], hits


def test_no_route_writes_to_the_audit_trail_directly(app):
    """The auditor's pages only read: every rule under /staff/audit is GET (and HEAD/OPTIONS)."""
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff/audit")]
    assert rules
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules)


# --- tamper evidence ---------------------------------------------------------------------------

def test_intact_chain_verifies(app):
    chain_of(5)
    assert audit.verify() is None
    head = audit.check_chain()
    assert (head.entries, head.entry_id) == (5, entries()[-1].id)
    assert head.hash == entries()[-1].hash


def test_changed_details_break_the_chain_at_that_entry(app, runner):
    trail = chain_of(5)
    with tampering() as conn:
        conn.execute(text("UPDATE audit_log SET details = :d WHERE id = :id"),
                     {"d": json.dumps({"i": 99}), "id": trail[2].id})
    broken = audit.verify()
    assert (broken.entry_id, broken.reason) == (trail[2].id, "hash")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {trail[2].id} 条" in result.output
    assert trail[2].at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M:%S") in result.output


def test_deleted_middle_entry_breaks_the_chain_at_the_next_one(app, runner):
    trail = chain_of(5)
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": trail[2].id})
    broken = audit.verify()
    assert (broken.entry_id, broken.reason) == (trail[3].id, "link")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {trail[3].id} 条" in result.output


def test_changed_time_or_user_is_detected(app):
    trail = chain_of(3)
    with tampering() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'someone-else' WHERE id = :id"), {"id": trail[1].id})
    assert audit.verify().entry_id == trail[1].id


def _forge(conn, prev_hash: str, hash_: str) -> int:
    """Insert a hand-made entry at the end; return its id."""
    conn.execute(text(
        "INSERT INTO audit_log (at, user_id, username, roles, action, object_type, object_id, outcome, ip, "
        "user_agent, details, prev_hash, hash) VALUES (:at, NULL, 'forger', '', 'user.create', 'user', 'x', "
        "'success', '', '', '{}', :prev, :hash)"),
        {"at": datetime(2026, 1, 1, 8, 0), "prev": prev_hash, "hash": hash_})
    return conn.scalar(text("SELECT max(id) FROM audit_log"))


def test_forged_entry_with_a_made_up_hash_is_detected(app, runner):
    trail = chain_of(3)
    with tampering() as conn:
        forged = _forge(conn, trail[-1].hash, "f" * 64)
    assert (audit.verify().entry_id, audit.verify().reason) == (forged, "hash")
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_forged_entry_linked_into_the_middle_is_detected(app):
    trail = chain_of(3)
    with tampering() as conn:
        forged = _forge(conn, trail[0].hash, "e" * 64)  # claims to follow the first entry
    broken = audit.verify()
    assert (broken.entry_id, broken.reason) == (forged, "link")


def test_verify_command_exits_zero_and_reports_the_head_when_intact(app, runner):
    trail = chain_of(2)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"第 {trail[-1].id} 条" in result.output
    assert trail[-1].hash in result.output


def test_database_refuses_to_change_audit_entries(app):
    trail = chain_of(2)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET details = '{}' WHERE id = :id"), {"id": trail[0].id})
    if is_postgres():
        # Only the purge may delete, inside its own transaction.
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": trail[0].id})
    assert audit.verify() is None
    assert len(entries()) == 2


def test_two_writers_at_once_do_not_fork_the_chain(app):
    errors = []

    def write(name: str) -> None:
        try:
            with app.app_context():
                for i in range(50):
                    audit.record_now("test.concurrent", username=name, object_id=i, outcome="success")
        except Exception as exc:  # noqa: BLE001 - reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"writer{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trail = entries()
    assert len(trail) == 100
    assert len({e.prev_hash for e in trail}) == 100
    assert audit.verify() is None
    # Times never go backwards along the chain.
    assert [e.at for e in trail] == sorted(e.at for e in trail)


def test_record_now_refuses_to_wait_on_its_own_transaction(app):
    audit.record("test.entry", username="tester")
    with pytest.raises(RuntimeError, match="record_now"):
        audit.record_now("test.other", username="tester")
    db.session.rollback()


# --- retention ---------------------------------------------------------------------------------

def _local_day(moment: datetime) -> date:
    return moment.astimezone(local_tz()).date()


def _aged_trail(monkeypatch) -> tuple[list[AuditEntry], list[AuditEntry]]:
    """Four entries 400 days old and three 100 days old."""
    now = utcnow()
    with clock(now - timedelta(days=400), monkeypatch):
        old = chain_of(4, "test.old")
    with clock(now - timedelta(days=100), monkeypatch):
        recent = chain_of(3, "test.recent")
    return old, recent


def test_purge_deletes_old_entries_records_itself_and_keeps_the_chain_verifiable(app, runner, monkeypatch):
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "ops")
    old, recent = _aged_trail(monkeypatch)
    before = _local_day(utcnow() - timedelta(days=200))
    result = runner.invoke(args=["audit", "purge", "--before", before.isoformat()])
    assert result.exit_code == 0, result.output
    assert "4" in result.output
    remaining = entries()
    assert [e.action for e in remaining] == ["test.recent"] * 3 + ["audit.purge"]
    purge = remaining[-1]
    assert purge.username == "cli:ops"
    assert details(purge) == {"before": before.isoformat(), "deleted": 4, "anchor": old[-1].hash,
                              "anchor_entry_id": old[-1].id}
    assert json.loads(db.session.get(Setting, audit.ANCHOR_KEY).value)["hash"] == old[-1].hash
    assert audit.verify() is None
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # New entries keep chaining on.
    chain_of(1, "test.after")
    assert audit.verify() is None


def test_purge_refuses_anything_younger_than_the_retention(app, runner, monkeypatch):
    old, recent = _aged_trail(monkeypatch)
    too_recent = _local_day(utcnow() - timedelta(days=150))
    result = runner.invoke(args=["audit", "purge", "--before", too_recent.isoformat()])
    assert result.exit_code == 1
    assert "180" in result.output
    trail = entries()
    assert len(trail) == 8  # nothing deleted; the refusal itself is recorded
    assert (trail[-1].action, trail[-1].outcome) == ("audit.purge", "failure")
    assert audit.verify() is None


def test_purge_boundary_is_the_retention_day(app, monkeypatch):
    old, recent = _aged_trail(monkeypatch)
    limit = _local_day(utcnow() - timedelta(days=180))
    with pytest.raises(audit.ValidationFailed):
        audit.purge(limit + timedelta(days=1))
    db.session.rollback()
    assert audit.purge(limit).deleted == 4


def test_retention_can_be_configured_upward(app, monkeypatch):
    old, recent = _aged_trail(monkeypatch)
    app.config["INTERACT_AUDIT_RETENTION_DAYS"] = 500
    with pytest.raises(audit.ValidationFailed):
        audit.purge(_local_day(utcnow() - timedelta(days=200)))
    db.session.rollback()
    assert len(entries("test.old")) == 4


def test_retention_below_180_days_is_refused_at_startup_and_at_use(app, monkeypatch, make_app):
    monkeypatch.setenv("INTERACT_AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(RuntimeError, match="INTERACT_AUDIT_RETENTION_DAYS"):
        make_app()
    monkeypatch.delenv("INTERACT_AUDIT_RETENTION_DAYS")
    app.config["INTERACT_AUDIT_RETENTION_DAYS"] = 90
    with pytest.raises(audit.ValidationFailed, match="180"):
        audit.purge(date(2000, 1, 1))
    db.session.rollback()


def test_purging_everything_old_still_chains_new_entries_to_the_anchor(app, monkeypatch):
    with clock(utcnow() - timedelta(days=300), monkeypatch):
        old = chain_of(3, "test.old")
    audit.purge(_local_day(utcnow() - timedelta(days=200)))
    db.session.commit()
    trail = entries()
    assert [e.action for e in trail] == ["audit.purge"]
    assert trail[0].prev_hash == old[-1].hash
    assert audit.verify() is None


def test_deleting_old_entries_by_hand_and_moving_the_anchor_is_detected(app, monkeypatch):
    old, recent = _aged_trail(monkeypatch)
    audit.purge(_local_day(utcnow() - timedelta(days=200)))
    db.session.commit()
    first = entries()[0]
    with tampering() as conn:  # hide the oldest remaining entry: delete it, re-anchor past it
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": first.id})
        conn.execute(text("UPDATE settings SET value = :v WHERE key = :k"),
                     {"v": json.dumps({"hash": first.hash, "entry_id": first.id, "at": "x"}),
                      "k": audit.ANCHOR_KEY})
    broken = audit.verify()
    assert broken is not None and broken.reason == "anchor"


def test_an_anchor_without_a_purge_is_detected(app):
    trail = chain_of(3)
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": trail[0].id})
        conn.execute(text("INSERT INTO settings (key, value, updated_at) VALUES (:k, :v, :at)"),
                     {"k": audit.ANCHOR_KEY, "v": json.dumps({"hash": trail[0].hash, "entry_id": trail[0].id}),
                      "at": datetime(2026, 1, 1)})
    broken = audit.verify()
    assert broken is not None and broken.reason == "anchor"


# --- the auditor's page and export -------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "handler", "reviewer", "dispatcher"])
def test_only_the_auditor_reads_the_audit_trail(client, world, who, login):
    login(client, who)
    assert client.get("/staff/audit").status_code == 403
    assert client.get("/staff/audit/export.csv").status_code == 403


def test_auditor_page_lists_entries_newest_first_and_links_in_the_nav(client, world, login):
    chain_of(3)
    login(client, "auditor")
    home = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/audit"' in home
    page = client.get("/staff/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    positions = [html.index(f"thing {i}") for i in (2, 1, 0)]
    assert positions == sorted(positions)


def _entry_at(moment: datetime, monkeypatch, **fields) -> None:
    with clock(moment, monkeypatch):
        audit.record(fields.pop("action", "test.entry"), **fields)
    db.session.commit()


def test_time_filter_uses_local_dates(client, world, monkeypatch, login):
    # 2026-03-01 23:30 in Beijing is 15:30 UTC; 2026-03-02 00:30 in Beijing is 16:30 UTC on 03-01.
    _entry_at(datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc), monkeypatch, username="x", object_id="late-1st")
    _entry_at(datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc), monkeypatch, username="x", object_id="early-2nd")
    login(client, "auditor")
    first = client.get("/staff/audit?start=2026-03-01&end=2026-03-01").get_data(as_text=True)
    assert "late-1st" in first and "early-2nd" not in first
    second = client.get("/staff/audit?start=2026-03-02").get_data(as_text=True)
    assert "early-2nd" in second and "late-1st" not in second


def test_filters_by_user_action_prefix_object_and_outcome(client, world, create_case, login):
    case, _code = create_case("replied")
    audit.record_now("case.accept", username="intruder", object_type="case", object_id=case.number)
    login(client, "auditor")

    def shown(query: str) -> str:
        response = client.get("/staff/audit?" + query)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    by_user = shown("username=reviewer")
    assert "case.approve" in by_user and "case.dispatch" not in by_user
    by_prefix = shown("action=case.")
    assert all(a in by_prefix for a in ("case.dispatch", "case.accept", "case.reply", "case.approve"))
    assert "user.create" not in by_prefix
    assert "case.accept" not in shown("action=case.a_")  # the prefix is literal, not a LIKE pattern
    by_object = shown(f"object_type=case&object_id={case.number}")
    assert "case.approve" in by_object and "user.create" not in by_object
    failures = shown("outcome=failure")
    assert "intruder" in failures and "case.approve" not in failures


def test_bad_filters_are_refused_with_a_message(client, world, login):
    login(client, "auditor")
    response = client.get("/staff/audit?start=2026-13-01&outcome=maybe")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "YYYY-MM-DD" in html and "结果须为成功或失败" in html
    assert client.get("/staff/audit/export.csv?start=yesterday").status_code == 400


def test_pages_go_back_in_time_and_forward_again(client, world, login):
    chain_of(120, "test.page")
    login(client, "auditor")
    ids = [e.id for e in entries("test.page")][::-1]  # newest first
    import re

    def page_ids(url: str) -> tuple[list[int], str]:
        html = client.get(url).get_data(as_text=True)
        return [int(n) for n in re.findall(r"<tr[^>]*>\s*<td>(\d+)</td>", html)], html

    first, html = page_ids("/staff/audit?action=test.page")
    assert first == ids[:50]
    older = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second, html = page_ids(older)
    assert second == ids[50:100]
    third, html = page_ids(re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&"))
    assert third == ids[100:]
    assert 'rel="next"' not in html
    back, _html = page_ids(re.search(r'rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&"))
    assert back == ids[50:100]


def test_export_is_excel_ready_csv_with_the_same_filters_and_is_audited(client, world, create_case, login):
    case, _code = create_case("replied")
    audit.record_now("auth.login_failed", username="=HYPERLINK(\"http://evil\")", outcome="failure")
    login(client, "auditor")
    response = client.get(f"/staff/audit/export.csv?object_type=case&object_id={case.number}",
                          headers={"User-Agent": "Export-Test"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "用户", "角色", "操作", "对象类型", "对象编号", "结果", "IP 地址", "用户代理", "详情"]
    assert [r[3] for r in rows[1:]] == ["case.dispatch", "case.accept", "case.reply", "case.approve"]
    assert rows[1][0].endswith("+08:00")
    assert rows[1][1:3] == ["dispatcher", "dispatcher"]
    assert json.loads(rows[4][9])["published"] is True
    export = entries("audit.export")[-1]
    assert (export.username, export.roles, export.user_agent) == ("auditor", "auditor", "Export-Test")
    assert details(export) == {"filters": {"object_type": "case", "object_id": case.number}, "rows": 4}


def test_export_cells_never_run_as_spreadsheet_formulas(client, world, login):
    audit.record_now("auth.login_failed", username="=HYPERLINK(\"http://evil\")", outcome="failure")
    login(client, "auditor")
    rows = list(csv.reader(io.StringIO(
        client.get("/staff/audit/export.csv?outcome=failure").get_data().decode("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"http://evil\")"


def test_export_streams_large_trails_in_order(client, world, login):
    chain_of(1200, "test.bulk")
    login(client, "auditor")
    body = client.get("/staff/audit/export.csv?action=test.bulk").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert [r[5] for r in rows] == [str(i) for i in range(1200)]


def test_directory_and_calendar_services_take_the_actor(world):
    directory.create_department("parks", "市园林局", actor=world.admin)
    deadlines.set_deadline_days("suggestion", 7, actor=world.admin)
    db.session.commit()
    assert {e.action: e.username for e in entries() if e.action in ("department.create", "deadline.set")} == {
        "department.create": "admin", "deadline.set": "admin"}


def test_total_count_matches_filters(world):
    chain_of(4, "test.count")
    assert audit.count(audit.parse_filter({"action": "test.count"})) == 4
    assert db.session.scalar(select(func.count(AuditEntry.id))) >= 4


def test_an_emptied_trail_behind_a_purge_anchor_is_detected(app, runner, monkeypatch):
    with clock(utcnow() - timedelta(days=300), monkeypatch):
        chain_of(2, "test.old")
    audit.purge(_local_day(utcnow() - timedelta(days=200)))
    db.session.commit()
    with tampering() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    assert audit.verify().reason == "anchor"
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "清除锚点" in result.output


def test_reaching_another_roles_page_is_recorded(client, world, login):
    login(client, "handler")
    assert client.get("/staff/admin/users").status_code == 403
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "access.denied"))
    assert entry is not None and entry.outcome == "failure"
    assert entry.username == "handler" and entry.object_id == "staff_admin.admin_users"
    assert json.loads(entry.details)["required_role"] == "admin"
    assert audit.verify() is None
