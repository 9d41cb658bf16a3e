"""`interact remind`: the day-before reminder, the overdue reminder and supervision (Art. 28),
at the right working-day boundaries across public holidays and make-up workdays, once each.

Every expected date is worked out by hand from tests/data/cn-holiday-notices.json (the State
Council notices), and `oracle_add_working_days` re-checks each one against the notices, never
against the `holidays` library the code uses.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fixtures.values import STAFF_EMAILS
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.models import Case, DigestItem, OutboxMessage
from interact.services import reminders
from interact.domain.workdays import local_date
from interact.services import extensions

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICES = json.loads((Path(__file__).resolve().parents[1] / "data" / "cn-holiday-notices.json").read_text(encoding="utf-8"))
REMINDER_TEMPLATES = ("reminder_due_soon", "reminder_overdue", "supervision_overdue")


# --- the oracle: the State Council notices, read by their own rule ----------------------------

def oracle_is_working(day: date) -> bool:
    """The notices' rule: make-up workdays work, listed days off rest, else Monday to Friday."""
    year = NOTICES["years"][str(day.year)]
    if day.isoformat() in year["make_up_workdays"]:
        return True
    if day.isoformat() in year["days_off"]:
        return False
    return day.weekday() < 5


def oracle_add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` by the notices."""
    day = start
    while n:
        day += timedelta(days=1)
        n -= oracle_is_working(day)
    return day


def test_the_oracle_reads_the_notices():
    """2025-09-28 is a make-up Sunday, National Day runs 10-01..10-08, 10-11 is a make-up Saturday."""
    assert oracle_is_working(date(2025, 9, 28)) and not oracle_is_working(date(2025, 9, 27))
    assert not any(oracle_is_working(date(2025, 10, d)) for d in range(1, 9))
    assert oracle_is_working(date(2025, 10, 11)) and not oracle_is_working(date(2025, 10, 12))
    assert oracle_is_working(date(2026, 2, 14)) and not oracle_is_working(date(2026, 2, 23))


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture
def case_due(create_case, mailed, at):
    """Factory: a housing case submitted on `submitted` (local), checked to be due on `due`."""

    def make(submitted: date, due: date, status: str = "assigned", **fields) -> Case:
        assert oracle_add_working_days(submitted, 3) == due, "the hand-computed due date disagrees with the notices"
        case, _code = create_case(status, submitted_at=at(submitted.year, submitted.month, submitted.day, 10),
                                  **fields)
        assert local_date(case.due_at) == due
        return case

    return make


def remind(runner, moment: datetime):
    """Run `interact remind --as-of MOMENT` and return the result."""
    result = runner.invoke(args=["remind", "--as-of", moment.isoformat()])
    assert result.exit_code == 0, result.output
    return result


def reminders_sent(template: str) -> set[tuple[str, str]]:
    """(case number, recipient) of every queued mail of `template`."""
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template))
    return {(next(n for n in _numbers() if n in row.subject), row.recipient) for row in rows}


def _numbers() -> list[str]:
    """Every case number."""
    return list(db.session.scalars(select(Case.number)))


def reminder_count() -> int:
    """Queued reminder mails of every threshold."""
    return db.session.scalar(select(func.count(OutboxMessage.id))
                             .where(OutboxMessage.template.in_(REMINDER_TEMPLATES)))


# --- the day before --------------------------------------------------------------------------

def test_due_soon_reminder_comes_on_the_last_working_day_before_the_due_date(runner, case_due, at):
    """Across the 2025 National Day: due on the make-up Sunday 09-28 → told Friday 09-26; due on
    10-09 after the holiday → told 09-30, before it; due on the make-up Saturday 10-11 → told 10-10."""
    sunday = case_due(date(2025, 9, 24), date(2025, 9, 28))
    after_holiday = case_due(date(2025, 9, 28), date(2025, 10, 9))
    saturday = case_due(date(2025, 9, 30), date(2025, 10, 11))
    handler = STAFF_EMAILS["handler"]
    expected = {
        date(2025, 9, 25): set(),
        date(2025, 9, 26): {(sunday.number, handler)},
        date(2025, 9, 27): set(),  # a day off: nothing new
        date(2025, 9, 28): set(),
        date(2025, 9, 29): set(),
        date(2025, 9, 30): {(after_holiday.number, handler)},
        **{date(2025, 10, d): set() for d in range(1, 10)},
        date(2025, 10, 10): {(saturday.number, handler)},
        date(2025, 10, 11): set(),
    }
    told: set = set()
    for day, new in expected.items():
        remind(runner, at(day.year, day.month, day.day, 8))
        now_told = reminders_sent("reminder_due_soon")
        assert now_told - told == new, day
        told = now_told


def test_due_soon_reminder_comes_on_the_make_up_saturday_before_spring_festival(runner, case_due, at):
    """2026: 02-14 is a make-up Saturday and 02-15..02-23 are off, so a case due 02-24 is
    reminded on Saturday 02-14, not on Friday 02-13."""
    case = case_due(date(2026, 2, 12), date(2026, 2, 24))
    remind(runner, at(2026, 2, 13, 17))
    assert reminders_sent("reminder_due_soon") == set()
    remind(runner, at(2026, 2, 14, 9))
    assert reminders_sent("reminder_due_soon") == {(case.number, STAFF_EMAILS["handler"])}


def test_due_soon_reminder_text_names_the_case_and_the_due_date(runner, case_due, at):
    case = case_due(date(2025, 9, 28), date(2025, 10, 9))
    remind(runner, at(2025, 9, 30, 8))
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "reminder_due_soon"))
    assert case.number in message.subject and "2025-10-09" in message.subject
    for body in (message.text_body, message.html_body):
        assert case.number in body and case.title in body and "市住房和城乡建设局" in body
        assert f"/staff/cases/{case.number}" in body
        assert "1 个工作日" in body


def test_a_draft_waiting_for_review_reminds_the_reviewers_too(runner, case_due, at):
    case = case_due(date(2025, 9, 28), date(2025, 10, 9), status="pending_review")
    remind(runner, at(2025, 9, 30, 8))
    assert reminders_sent("reminder_due_soon") == {(case.number, STAFF_EMAILS["handler"]),
                                                   (case.number, STAFF_EMAILS["reviewer"])}


def test_a_case_without_a_department_reminds_the_dispatchers(runner, case_due, at):
    case = case_due(date(2025, 9, 28), date(2025, 10, 9), status="submitted", department=None)
    assert case.department_id is None
    remind(runner, at(2025, 9, 30, 8))
    assert reminders_sent("reminder_due_soon") == {(case.number, STAFF_EMAILS["dispatcher"])}


def test_other_departments_are_not_told(runner, case_due, world, at):
    case_due(date(2025, 9, 28), date(2025, 10, 9))
    remind(runner, at(2025, 9, 30, 8))
    recipients = {r for _n, r in reminders_sent("reminder_due_soon")}
    assert STAFF_EMAILS["other_handler"] not in recipients and STAFF_EMAILS["other_reviewer"] not in recipients


# --- overdue and supervision -----------------------------------------------------------------

def test_overdue_tells_handler_and_reviewers_first_then_dispatchers_across_national_day(runner, case_due, at):
    """Due 2025-09-30; 10-01..10-08 are off: nothing during the holiday, handler and reviewer on
    10-09 (first overdue working day), the dispatch office on 10-10 (second)."""
    case = case_due(date(2025, 9, 26), date(2025, 9, 30))
    for day in range(1, 9):
        remind(runner, at(2025, 10, day, 9))
    assert reminders_sent("reminder_overdue") == set() and reminders_sent("supervision_overdue") == set()

    remind(runner, at(2025, 10, 9, 0, 5))
    assert reminders_sent("reminder_overdue") == {(case.number, STAFF_EMAILS["handler"]),
                                                  (case.number, STAFF_EMAILS["reviewer"])}
    assert reminders_sent("supervision_overdue") == set()
    overdue = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "reminder_overdue"))
    assert "超期 1 个工作日" in overdue.subject and "2025-09-30" in overdue.text_body

    remind(runner, at(2025, 10, 10, 8))
    assert reminders_sent("supervision_overdue") == {(case.number, STAFF_EMAILS["dispatcher"])}
    supervision = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "supervision_overdue"))
    assert "超期 2 个工作日" in supervision.subject
    assert "市住房和城乡建设局" in supervision.text_body and "/staff/overdue" in supervision.html_body
    # The handler and the reviewer were told once, not again on the second day.
    assert len(reminders_sent("reminder_overdue")) == 2


def test_overdue_after_a_make_up_saturday_counts_the_sunday_off(runner, case_due, at):
    """Due on the make-up Saturday 2025-10-11: Sunday 10-12 is off, so the first overdue working
    day is Monday 10-13 and supervision starts Tuesday 10-14."""
    case = case_due(date(2025, 9, 30), date(2025, 10, 11))
    remind(runner, at(2025, 10, 12, 10))
    assert reminders_sent("reminder_overdue") == set()
    remind(runner, at(2025, 10, 13, 8))
    assert {n for n, _r in reminders_sent("reminder_overdue")} == {case.number}
    assert reminders_sent("supervision_overdue") == set()
    remind(runner, at(2025, 10, 14, 8))
    assert reminders_sent("supervision_overdue") == {(case.number, STAFF_EMAILS["dispatcher"])}


def test_supervision_waits_for_the_second_working_day_across_spring_festival(runner, case_due, at):
    """Due Friday 2026-02-13: the make-up Saturday 02-14 is the first overdue working day; the
    holiday 02-15..02-23 adds none, so the dispatch office hears on 02-24."""
    case = case_due(date(2026, 2, 10), date(2026, 2, 13))
    remind(runner, at(2026, 2, 14, 8))
    assert {n for n, _r in reminders_sent("reminder_overdue")} == {case.number}
    for day in (15, 18, 23):
        remind(runner, at(2026, 2, day, 8))
    assert reminders_sent("supervision_overdue") == set()
    remind(runner, at(2026, 2, 24, 8))
    assert reminders_sent("supervision_overdue") == {(case.number, STAFF_EMAILS["dispatcher"])}


def test_a_missed_run_is_caught_up_with_as_of(runner, case_due, at):
    """Nothing ran for a week: one run later queues both stages once, and nothing after that."""
    case = case_due(date(2025, 9, 26), date(2025, 9, 30))
    result = remind(runner, at(2025, 10, 14, 8))
    assert reminders_sent("reminder_overdue") == {(case.number, STAFF_EMAILS["handler"]),
                                                  (case.number, STAFF_EMAILS["reviewer"])}
    assert reminders_sent("supervision_overdue") == {(case.number, STAFF_EMAILS["dispatcher"])}
    assert "超期提醒：1 件" in result.output and "超期督办：1 件" in result.output
    assert "共 3 条通知" in result.output


def test_answered_cases_get_no_reminders(runner, case_due, at):
    case_due(date(2025, 9, 26), date(2025, 9, 30), status="replied")
    case_due(date(2025, 9, 28), date(2025, 10, 9), status="declined")
    remind(runner, at(2025, 9, 30, 8))
    remind(runner, at(2025, 10, 14, 8))
    assert reminder_count() == 0


# --- idempotence -----------------------------------------------------------------------------

def test_running_twice_queues_nothing_the_second_time(runner, case_due, at):
    case_due(date(2025, 9, 28), date(2025, 10, 9))
    case_due(date(2025, 9, 24), date(2025, 9, 28))
    # Caught up on 10-09: one case is due that day, the other three working days late.
    first = remind(runner, at(2025, 10, 9, 8))
    assert reminder_count() == 4  # handler; handler and reviewer; dispatcher
    assert "即将到期提醒：1 件；超期提醒：1 件；超期督办：1 件；共 4 条通知" in first.output
    second = remind(runner, at(2025, 10, 9, 8, 30))
    assert reminder_count() == 4
    assert "即将到期提醒：0 件；超期提醒：0 件；超期督办：0 件；共 0 条通知" in second.output


def test_an_extension_arms_the_reminders_again(runner, app, case_due, world, at):
    """The dedupe key carries the due date: a new due date is reminded of again."""
    case = case_due(date(2025, 9, 28), date(2025, 10, 9), status="handling")
    remind(runner, at(2025, 9, 30, 8))
    assert len(reminders_sent("reminder_due_soon")) == 1
    extensions.request_extension(world.handler, case, 2, "需要现场核查。", now=at(2025, 10, 9, 9))
    extensions.decide_extension(world.dispatcher, case, "approve", now=at(2025, 10, 9, 10))
    db.session.commit()
    assert local_date(case.due_at) == date(2025, 10, 11)  # 10-10, then the make-up Saturday
    remind(runner, at(2025, 10, 9, 11))
    assert len(reminders_sent("reminder_due_soon")) == 1  # 10-11 is not the next working day yet
    remind(runner, at(2025, 10, 10, 8))
    assert db.session.scalar(select(func.count(OutboxMessage.id))
                             .where(OutboxMessage.template == "reminder_due_soon")) == 2


def test_digest_users_get_each_reminder_once_in_their_digest(runner, case_due, world, at):
    world.handler.notify_mode = "digest"
    db.session.commit()
    case = case_due(date(2025, 9, 28), date(2025, 10, 9))
    remind(runner, at(2025, 9, 30, 8))
    remind(runner, at(2025, 9, 30, 12))
    items = db.session.scalars(select(DigestItem).where(DigestItem.user_id == world.handler.id,
                                                        DigestItem.template == "reminder_due_soon")).all()
    assert len(items) == 1 and items[0].case_id == case.id
    assert reminders_sent("reminder_due_soon") == set()


def test_concurrent_runs_share_the_dedupe_keys(app, case_due, at):
    """The service itself is idempotent: the keys name the case, its due date and the threshold."""
    case = case_due(date(2025, 9, 28), date(2025, 10, 9))
    assert reminders.dedupe_key(case, "due_soon") == f"remind:{case.id}:20251009:due_soon"
    first = reminders.queue_reminders(at(2025, 9, 30, 8))
    second = reminders.queue_reminders(at(2025, 9, 30, 9))
    db.session.commit()
    assert first.cases["due_soon"] == 1 and first.notifications == 1
    assert second.total_cases == 0 and second.notifications == 0


# --- boundaries and the command line ---------------------------------------------------------

def test_boundaries_follow_the_working_day_calendar(app, at):
    from interact.services import calendar

    cal = calendar.current_calendar()
    b = reminders.boundaries(at(2025, 9, 30, 8), cal)
    assert b.next_working_day == date(2025, 10, 9)
    assert b.due_soon_until == at(2025, 10, 10, 0) - timedelta(seconds=1)  # the end of the next working day
    assert b.overdue_before == at(2025, 9, 30, 0) and b.supervision_before == at(2025, 9, 29, 0)
    holiday = reminders.boundaries(at(2025, 10, 5, 8), cal)
    # During the holiday the latest working days are still 09-30 and 09-29.
    assert holiday.overdue_before == at(2025, 9, 30, 0) and holiday.supervision_before == at(2025, 9, 29, 0)


def query_plan(stmt) -> str:
    """The database's plan for `stmt` (EXPLAIN, with sequential scans discouraged on PostgreSQL)."""
    from sqlalchemy import event, text

    engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    seen: list = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    # Run it once to get the SQL with its parameters as the driver receives them.
    event.listen(engine, "before_cursor_execute", capture)
    try:
        db.session.execute(stmt).all()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    conn = db.session.connection()
    if postgres:
        # Small tables are cheapest to scan whole; ask which index answers the query by itself.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    rows = conn.exec_driver_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, parameters).all()
    db.session.rollback()
    return "\n".join(str(r) for r in rows)


def fill_cases(n: int, department_ids: list[int]) -> None:
    """Insert `n` plain cases in one statement, most of them answered long ago, then ANALYZE,
    so the planner chooses as it would on a real, mostly closed table."""
    from sqlalchemy import insert, text

    base = datetime(2024, 1, 2, 2, tzinfo=SHANGHAI)
    rows = []
    for i in range(n):
        submitted = base + timedelta(hours=7 * i)
        open_case = i % 20 == 0
        rows.append({
            "number": f"19990101{i:05d}", "kind": "consultation",
            "status": "handling" if open_case else "replied",
            "department_id": department_ids[i % len(department_ids)], "title": "t", "content": "c",
            "name": "n", "phone": "13800000000", "publish_consent": True, "query_code_hash": "x" * 64,
            "submitted_at": submitted, "submitted_on": submitted.date(), "deadline_days": 3,
            "due_at": submitted + timedelta(days=4), "transfer_count": 0, "published": False,
        })
    db.session.execute(insert(Case), rows)
    db.session.commit()
    db.session.execute(text("ANALYZE cases" if db.engine.dialect.name == "postgresql" else "ANALYZE"))
    db.session.commit()


def test_reminder_queries_use_the_status_due_index(app, world, at):
    """The queries compare the stored due_at through ix_cases_status_due, never row by row."""
    from interact.domain.models import OPEN_STATUSES
    from interact.services import calendar

    fill_cases(3000, [world.housing.id, world.transport.id, world.office.id])
    b = reminders.boundaries(at(2025, 9, 30, 8), calendar.current_calendar())
    for condition in ((Case.due_at >= b.as_of, Case.due_at <= b.due_soon_until),
                      (Case.due_at < b.overdue_before,), (Case.due_at < b.supervision_before,)):
        plan = query_plan(select(Case.id).where(Case.status.in_(OPEN_STATUSES), *condition))
        # Both indexes lead with status and end with due_at; which one PostgreSQL's planner
        # picks depends on its statistics, and either answers the query without a full scan.
        assert re.search(r"ix_cases_(department_)?status_due", plan), plan


def test_as_of_must_be_a_date_or_an_iso_time(runner):
    result = runner.invoke(args=["remind", "--as-of", "next tuesday"])
    assert result.exit_code == 1
    assert "错误：" in result.output and "Traceback" not in result.output


def test_as_of_outside_the_calendar_is_refused(runner):
    result = runner.invoke(args=["remind", "--as-of", "2090-01-01"])
    assert result.exit_code == 1 and "超出工作日历的范围" in result.output


def test_remind_without_as_of_runs_now(runner, mailed):
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    assert "共 0 条通知" in result.output


# --- delivery --------------------------------------------------------------------------------

def test_reminders_are_delivered_once_by_mail_send(runner, case_due, smtp, at):
    """A real SMTP server receives each reminder once, in Chinese, with a text and an HTML part."""
    case = case_due(date(2025, 9, 26), date(2025, 9, 30))
    soon = case_due(date(2025, 10, 9), date(2025, 10, 13))
    remind(runner, at(2025, 10, 10, 8))  # `case` is 2 working days late; `soon` is not due next
    remind(runner, at(2025, 10, 11, 8))  # the make-up Saturday: `soon` is due on the next working day
    remind(runner, at(2025, 10, 11, 9))  # nothing new
    sent = runner.invoke(args=["mail", "send"])
    assert sent.exit_code == 0, sent.output
    again = runner.invoke(args=["mail", "send"])
    assert again.exit_code == 0, again.output

    def delivered(address: str, fragment: str) -> list:
        return [m for m in smtp.to(address) if fragment in m["Subject"]]

    [overdue] = delivered(STAFF_EMAILS["handler"], f"办件已超期：{case.number}")
    assert "超期 2 个工作日" in overdue["Subject"]
    assert "2025-09-30" in smtp.text_of(overdue) and f"/staff/cases/{case.number}" in smtp.html_of(overdue)
    assert len(delivered(STAFF_EMAILS["reviewer"], f"办件已超期：{case.number}")) == 1
    [supervised] = delivered(STAFF_EMAILS["dispatcher"], f"超期办件督办：{case.number}")
    assert "市住房和城乡建设局" in smtp.text_of(supervised)
    assert delivered(STAFF_EMAILS["handler"], f"超期办件督办：{case.number}") == []
    [due_soon] = delivered(STAFF_EMAILS["handler"], f"办件即将到期：{soon.number}")
    assert "2025-10-13" in due_soon["Subject"] and soon.title in smtp.text_of(due_soon)
    assert "<li>" in smtp.html_of(due_soon) and "最后 1 个工作日" in smtp.text_of(due_soon)
