"""The `interact` command line: directory commands, API tokens, the working-day clock and the demo."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from interact.domain import privacy
from interact.domain.db import db
from interact.domain.kinds import KINDS
from interact.domain.models import ApiToken, Case, Department, Role, Site, Status, User
from interact.services import calendar, directory
from interact.services import deadlines

GOOD_PASSWORD = "Long-Enough-Passw0rd"


def invoke(runner, *args: str, input: str | None = None):
    """Run `interact ARGS…` and return the result."""
    return runner.invoke(args=list(args), input=input)


def assert_refused(result, *fragments: str) -> None:
    """The command failed cleanly: exit status 1, a Chinese message, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "错误：" in result.output
    for fragment in fragments:
        assert fragment in result.output


def count(model) -> int:
    """Rows of `model` in the database."""
    return db.session.scalar(select(func.count()).select_from(model))


# --- departments, sites, users ---------------------------------------------------------------

def test_departments_add_shows_up_in_list(runner):
    result = invoke(runner, "departments", "add", "gov-office", "市政府办公厅", "--mailbox", "市长信箱")
    assert result.exit_code == 0, result.output
    assert "gov-office" in result.output

    listing = invoke(runner, "departments", "list")
    assert listing.exit_code == 0
    line = next(line for line in listing.output.splitlines() if line.startswith("gov-office"))
    assert "市政府办公厅" in line and "市长信箱" in line


def test_duplicate_department_code_is_refused(runner, create_department):
    create_department("housing", "市住房和城乡建设局")
    result = invoke(runner, "departments", "add", "housing", "另一个部门")
    assert_refused(result, "已存在")
    assert count(Department) == 1


def test_bad_department_code_is_refused(runner):
    result = invoke(runner, "departments", "add", "Bad Code!", "市教育局")
    assert_refused(result, "部门代码")
    assert count(Department) == 0


def test_sites_add_shows_up_in_list(runner, create_department):
    create_department("housing", "市住房和城乡建设局")
    result = invoke(runner, "sites", "add", "housing", "市住建局网站", "https://zjj.example.gov.cn")
    assert result.exit_code == 0, result.output

    listing = invoke(runner, "sites", "list")
    assert "https://zjj.example.gov.cn" in listing.output
    assert "市住建局网站" in listing.output


def test_site_with_bad_url_or_unknown_department_is_refused(runner, create_department):
    create_department("housing", "市住房和城乡建设局")
    assert_refused(invoke(runner, "sites", "add", "housing", "市住建局网站", "zjj.example.gov.cn"), "http")
    assert_refused(invoke(runner, "sites", "add", "nowhere", "某网站", "https://x.example.gov.cn"), "nowhere")
    assert count(Site) == 0


def test_users_add_reads_password_from_stdin(runner, create_department):
    create_department("housing", "市住房和城乡建设局")
    result = invoke(runner, "users", "add", "wang", "--role", "handler", "--role", "reviewer",
                    "--department", "housing", "--email", "wang@example.gov.cn", "--password-stdin",
                    input=GOOD_PASSWORD + "\nsecond line is ignored\n")
    assert result.exit_code == 0, result.output
    assert GOOD_PASSWORD not in result.output

    # Only the first line, without its newline, is the password.
    user = directory.authenticate("wang", GOOD_PASSWORD)
    assert user is not None
    assert user.roles == {Role.handler, Role.reviewer}
    assert user.department.code == "housing"

    listing = invoke(runner, "users", "list")
    line = next(line for line in listing.output.splitlines() if line.startswith("wang"))
    assert "handler,reviewer" in line and "housing" in line and "wang@example.gov.cn" in line


def test_users_add_without_password_stdin_is_refused(runner):
    result = invoke(runner, "users", "add", "wang", "--role", "admin", input=GOOD_PASSWORD + "\n")
    assert_refused(result, "--password-stdin")
    assert count(User) == 0


def test_users_add_with_empty_stdin_is_refused(runner):
    assert_refused(invoke(runner, "users", "add", "wang", "--role", "admin", "--password-stdin", input=""))
    assert count(User) == 0


def test_short_password_is_refused(runner):
    result = invoke(runner, "users", "add", "wang", "--role", "admin", "--password-stdin", input="short-pass\n")
    assert_refused(result, "密码长度")
    assert count(User) == 0


def test_duplicate_username_and_unknown_role_are_refused(runner, create_user):
    create_user("admin", username="admin")
    assert_refused(invoke(runner, "users", "add", "admin", "--role", "admin", "--password-stdin",
                          input=GOOD_PASSWORD + "\n"), "已存在")
    assert_refused(invoke(runner, "users", "add", "li", "--role", "superuser", "--password-stdin",
                          input=GOOD_PASSWORD + "\n"), "角色")
    assert_refused(invoke(runner, "users", "add", "zhao", "--role", "handler", "--password-stdin",
                          input=GOOD_PASSWORD + "\n"), "部门")
    assert count(User) == 1


def test_fresh_database_has_no_user(app):
    # Art. 25: no default or anonymous account; only an operator creates staff.
    assert count(User) == 0


# --- tokens ----------------------------------------------------------------------------------

def test_tokens_create_prints_a_working_token_and_stores_only_its_hash(runner, create_user):
    user = create_user("dispatcher", username="api-user")
    result = invoke(runner, "tokens", "create", "api-user")
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith(directory.TOKEN_PREFIX) and len(raw) > 30

    assert directory.user_for_token(raw).id == user.id
    rows = db.session.execute(select(ApiToken.__table__)).all()
    assert len(rows) == 1
    assert all(raw not in str(value) for value in rows[0])


def test_tokens_create_for_unknown_user_is_refused(runner):
    assert_refused(invoke(runner, "tokens", "create", "nobody"), "nobody")
    assert count(ApiToken) == 0


# --- working days ----------------------------------------------------------------------------

def due(runner, *args: str) -> str:
    """The output of `interact workdays due ARGS…`."""
    result = invoke(runner, "workdays", "due", *args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_workdays_due_skips_national_day_2025(runner):
    # 10-01..10-08 off; 10-09, 10-10 and the make-up Saturday 10-11.
    assert due(runner, "2025-09-30") == "2025-10-11"


def test_workdays_due_skips_spring_festival_2026(runner):
    # 02-14 is a make-up Saturday, 02-15..02-23 off: 02-14, 02-24, 02-25.
    assert due(runner, "2026-02-13") == "2026-02-25"


def test_workdays_due_converts_an_offset_to_shanghai_first(runner):
    # 2026-09-30 20:00 at UTC-4 is 2026-10-01 08:00 in Shanghai; 10-01..10-07 are off,
    # then 10-08, 10-09 and the make-up Saturday 10-10.
    assert due(runner, "2026-09-30T20:00:00-04:00") == "2026-10-10"
    # 23:30 UTC on 09-29 is already 09-30 in Shanghai, which moves the due date by a day.
    assert due(runner, "2026-09-29T23:30:00+00:00") == "2026-10-10"
    assert due(runner, "2026-09-29") == "2026-10-09"


def test_workdays_due_takes_the_number_of_days(runner):
    assert due(runner, "2025-09-30", "--days", "5") == "2025-10-14"


def test_workdays_due_refuses_garbage(runner):
    assert_refused(invoke(runner, "workdays", "due", "next tuesday"), "YYYY-MM-DD")


def test_workdays_count_excludes_start_includes_end(runner):
    result = invoke(runner, "workdays", "count", "2025-09-30", "2025-10-11")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3"


def test_workdays_year_lists_days_off_and_make_up_days(runner):
    result = invoke(runner, "workdays", "year", "2025")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("2025-09-28  work  library") for line in lines)
    assert any(line.startswith("2025-10-01  off  library") for line in lines)
    assert not any(line.startswith("2025-09-29") for line in lines)  # an ordinary Monday
    assert "已确认" in lines[-1]  # the migration confirms 2024-2026


def test_unconfirmed_year_is_reported_until_confirmed(runner):
    assert "尚未确认" in invoke(runner, "workdays", "year", "2030").output
    result = invoke(runner, "workdays", "confirm", "2030", "--note", "国办发明电")
    assert result.exit_code == 0, result.output
    assert 2030 in calendar.confirmed_years()
    assert "已确认" in invoke(runner, "workdays", "year", "2030").output


def test_override_moves_open_deadline_and_clear_restores_it(runner, create_case, aware):
    # Submitted Monday 2026-03-02 10:00 Shanghai: due Thursday 03-05.
    case, _code = create_case("handling", submitted_at=aware(2026, 3, 2, 2, 0))
    assert deadlines.case_deadline(case, calendar.current_calendar()).due_date == date(2026, 3, 5)

    result = invoke(runner, "workdays", "override", "2026-03-04", "--off", "--note", "临时停工")
    assert result.exit_code == 0, result.output
    assert "重新计算了 1 件" in result.output
    db.session.refresh(case)
    assert deadlines.case_deadline(case, calendar.current_calendar()).due_date == date(2026, 3, 6)

    year = invoke(runner, "workdays", "year", "2026").output.splitlines()
    assert "2026-03-04  off  override  临时停工" in year

    result = invoke(runner, "workdays", "override", "2026-03-04", "--clear")
    assert result.exit_code == 0, result.output
    db.session.refresh(case)
    assert deadlines.case_deadline(case, calendar.current_calendar()).due_date == date(2026, 3, 5)
    assert not any(line.startswith("2026-03-04") for line in invoke(runner, "workdays", "year", "2026").output.splitlines())


def test_override_needs_exactly_a_mode_and_a_date(runner):
    assert_refused(invoke(runner, "workdays", "override", "2026-03-04"), "--off")
    assert_refused(invoke(runner, "workdays", "override", "2026-13-04", "--off"), "YYYY-MM-DD")
    assert_refused(invoke(runner, "workdays", "override", "2026-03-04", "--clear"), "2026-03-04")


# --- deadlines -------------------------------------------------------------------------------

def test_deadlines_set_applies_to_new_cases_of_that_kind(runner, create_case, aware):
    result = invoke(runner, "deadlines", "set", "complaint", "5")
    assert result.exit_code == 0, result.output
    listing = invoke(runner, "deadlines", "list").output.splitlines()
    assert any(line.startswith("complaint") and line.rstrip().endswith("5") for line in listing)
    assert any(line.startswith("consultation") and line.rstrip().endswith("3") for line in listing)

    complaint, _code = create_case("submitted", kind="complaint", submitted_at=aware(2026, 3, 2, 2, 0))
    consultation, _code = create_case("submitted", submitted_at=aware(2026, 3, 2, 2, 0))
    cal = calendar.current_calendar()
    assert complaint.deadline_days == 5
    assert deadlines.case_deadline(complaint, cal).due_date == date(2026, 3, 9)
    assert deadlines.case_deadline(consultation, cal).due_date == date(2026, 3, 5)


def test_deadlines_set_refuses_unknown_kind_and_out_of_range_days(runner):
    assert_refused(invoke(runner, "deadlines", "set", "petition", "5"), "类别")
    assert_refused(invoke(runner, "deadlines", "set", "complaint", "0"), "工作日")
    assert deadlines.deadline_days("complaint") == 3


# --- demo ------------------------------------------------------------------------------------

def _demo_passwords(output: str) -> dict[str, str]:
    """username → password from the table the demo prints."""
    usernames = set(db.session.scalars(select(User.username)))
    table = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in usernames:
            table[parts[0]] = parts[-1]
    return table


def test_demo_fills_a_fresh_database_with_every_role_kind_and_status(runner):
    result = invoke(runner, "demo")
    assert result.exit_code == 0, result.output

    departments = db.session.scalars(select(Department)).all()
    assert len(departments) >= 6
    assert sum(1 for d in departments if d.mailbox_name) >= 2
    assert count(Site) >= 3

    users = db.session.scalars(select(User)).all()
    assert set().union(*(u.roles for u in users)) == set(Role)
    passwords = _demo_passwords(result.output)
    assert set(passwords) == {u.username for u in users}
    # Each printed password logs its user in; they are random, not a shared default.
    for username in ("admin", "dispatcher", "housing-handler"):
        assert directory.authenticate(username, passwords[username]) is not None
    assert len(set(passwords.values())) == len(passwords)
    # No demo account breaks the separation of duties (admin and auditor held alone).
    assert invoke(runner, "users", "check-roles").exit_code == 0

    cases = db.session.scalars(select(Case)).all()
    assert len(cases) >= 30
    assert {c.status for c in cases} == set(Status)
    assert {c.kind for c in cases} == set(KINDS)
    assert db.session.scalar(select(func.count(Case.id)).where(deadlines.overdue_filter())) > 0
    replied = [c for c in cases if c.status == Status.replied]
    assert any(c.on_time for c in replied) and any(c.on_time is False for c in replied)
    assert any(c.published for c in replied) and any(c.rating for c in replied)
    assert any(c.transfer_count for c in cases)


def test_the_demo_publishes_no_personal_data(runner, client):
    assert invoke(runner, "demo").exit_code == 0
    published = db.session.scalars(select(Case).where(Case.published.is_(True))).all()
    # The demo's letters include a mistyped ID number: it is written in, and it never comes out.
    mistyped = "110101199003071234"
    assert any(mistyped in c.content for c in published)
    # Only the departments' own published contacts are left readable, and one reply quotes them.
    contacts = directory.published_contact_keys()
    kept = []
    for case in published:
        for text in (case.public_title, case.public_content, case.public_reply):
            found = privacy.find(text or "")
            assert all(privacy.is_published_contact(m, contacts) for m in found), (case.number, text)
            kept += [m.text for m in found]
    assert "gjj@demo.gov.cn" in kept
    shown = client.get("/feeds/records.atom").get_data(as_text=True) + "".join(
        client.get(url).get_data(as_text=True) for c in published
        for url in (f"/records/{c.number}", f"/api/v1/records/{c.number}"))
    assert mistyped not in shown and "[身份证号]" in shown


def test_second_demo_changes_nothing(runner):
    assert invoke(runner, "demo").exit_code == 0
    before = (count(Department), count(User), count(Case))
    hashes = set(db.session.scalars(select(User.password_hash)))

    result = invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert "未做任何改动" in result.output
    assert (count(Department), count(User), count(Case)) == before
    assert set(db.session.scalars(select(User.password_hash))) == hashes


def test_demo_does_nothing_on_a_database_in_use(runner, create_department):
    create_department("housing", "市住房和城乡建设局")
    result = invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert count(User) == 0 and count(Case) == 0


def test_demo_is_refused_in_production(runner, app):
    app.config["ENV_NAME"] = "production"
    assert_refused(invoke(runner, "demo"), "INTERACT_ENV")
    assert count(Department) == 0
