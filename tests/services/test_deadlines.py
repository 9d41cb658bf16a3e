"""Deadlines on cases: 3 working days by default, stored in due_at, recomputed on calendar changes."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from interact.domain.errors import ValidationFailed
from interact.domain.db import db
from interact.domain.models import Case
from interact.services import calendar
from interact.services import cases as cs
from interact.services import deadlines
from interact.services import overrides

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_due(case: Case) -> datetime:
    """A case's deadline in Shanghai time."""
    return case.due_at.astimezone(SHANGHAI)


def test_due_date_skips_national_day(world, aware, submission):
    # Submitted Tuesday 2025-09-30: 10-01..10-08 are off, 10-11 (Saturday) is a make-up workday.
    case, _ = cs.submit_case(submission(), now=aware(2025, 9, 30, 2, 0))
    assert local_due(case) == datetime(2025, 10, 11, 23, 59, 59, tzinfo=SHANGHAI)


def test_due_date_skips_spring_festival(world, aware, submission):
    # Friday 2026-02-13: 02-14 is a make-up Saturday, 02-15..02-23 are off.
    case, _ = cs.submit_case(submission(), now=aware(2026, 2, 13, 3, 0))
    assert local_due(case).date() == date(2026, 2, 25)


def test_submission_day_is_the_local_day(world, aware, submission):
    # 2025-09-29 16:30 UTC is already 09-30 00:30 in Shanghai.
    case, _ = cs.submit_case(submission(), now=aware(2025, 9, 29, 16, 30))
    assert case.submitted_on == date(2025, 9, 30)
    assert local_due(case).date() == date(2025, 10, 11)


def test_deadline_per_kind_is_configurable(world, aware, submission):
    deadlines.set_deadline_days("complaint", 5)
    case, _ = cs.submit_case(submission(kind="complaint"), now=aware(2026, 11, 23, 2, 0))  # Monday
    other, _ = cs.submit_case(submission(), now=aware(2026, 11, 23, 2, 0))
    assert case.deadline_days == 5 and local_due(case).date() == date(2026, 11, 30)
    assert other.deadline_days == 3 and local_due(other).date() == date(2026, 11, 26)
    with pytest.raises(ValidationFailed):
        deadlines.set_deadline_days("complaint", 0)


def test_override_recomputes_open_cases_but_not_answered_ones(create_case, world, aware):
    monday = aware(2026, 11, 23, 2, 0)
    open_case, _ = create_case("handling", submitted_at=monday)
    done, _ = create_case("replied", submitted_at=monday)
    done_due = done.due_at
    assert local_due(open_case).date() == date(2026, 11, 26)
    changed = overrides.set_override(date(2026, 11, 25), False, "临时停工")
    db.session.commit()
    assert changed == 1
    assert local_due(open_case).date() == date(2026, 11, 27)
    assert done.due_at == done_due
    overrides.clear_override(date(2026, 11, 25))
    assert local_due(open_case).date() == date(2026, 11, 26)


def test_override_can_make_a_weekend_day_a_workday(create_case, aware):
    # Thursday 2026-11-26 + 3 → Tuesday 12-01; with Saturday 11-28 working → Monday 11-30.
    case, _ = create_case("assigned", submitted_at=aware(2026, 11, 26, 2, 0))
    assert local_due(case).date() == date(2026, 12, 1)
    overrides.set_override(date(2026, 11, 28), True, "补班")
    assert local_due(case).date() == date(2026, 11, 30)


def test_lights_show_on_track_due_soon_and_overdue(create_case, aware):
    case, _ = create_case("handling", submitted_at=aware(2026, 11, 23, 2, 0))  # due Thu 11-26
    cal = calendar.current_calendar()
    assert deadlines.case_deadline(case, cal, now=aware(2026, 11, 23, 3, 0)).light == "ok"
    soon = deadlines.case_deadline(case, cal, now=aware(2026, 11, 25, 3, 0))
    assert soon.light == "soon" and soon.days_left == 1
    today = deadlines.case_deadline(case, cal, now=aware(2026, 11, 26, 15, 0))
    assert today.light == "soon" and today.days_left == 0
    late = deadlines.case_deadline(case, cal, now=aware(2026, 11, 30, 3, 0))  # Monday after
    assert late.light == "overdue" and late.days_late == 2


def test_reply_records_working_days_used_and_on_time(create_case, world, aware):
    case, _ = create_case("pending_review", submitted_at=aware(2026, 11, 23, 2, 0))
    cs.review_draft(world.reviewer, case, "approve", publish=True, now=aware(2026, 11, 27, 2, 0))
    assert case.working_days_used == 4 and case.on_time is False
    quick, _ = create_case("pending_review", submitted_at=aware(2026, 11, 23, 2, 0))
    cs.review_draft(world.reviewer, quick, "approve", publish=True, now=aware(2026, 11, 24, 2, 0))
    assert quick.working_days_used == 1 and quick.on_time is True
    assert deadlines.case_deadline(quick, calendar.current_calendar()).light == "done"


def test_unconfirmed_years_are_reported_for_open_deadlines(create_case, aware):
    assert calendar.unconfirmed_deadline_years() == []
    create_case("assigned", submitted_at=aware(2026, 12, 30, 2, 0))  # due in January 2027
    assert calendar.unconfirmed_deadline_years() == [2027]
    calendar.confirm_year(2027, "已核对通知")
    assert calendar.unconfirmed_deadline_years() == []


def test_overdue_filter_uses_stored_deadlines(create_case, aware):
    late, _ = create_case("handling", submitted_at=aware(2026, 1, 5, 2, 0))
    create_case("handling")
    create_case("replied", submitted_at=aware(2026, 1, 5, 2, 0))
    overdue = db.session.scalars(db.select(Case).where(deadlines.overdue_filter())).all()
    assert [c.number for c in overdue] == [late.number]


def test_unconfirmed_years_span_every_open_status_and_skip_answered_cases(create_case, aware):
    """The earliest and latest open deadlines are read per status: each status's own range counts."""
    create_case("submitted", submitted_at=aware(2026, 12, 30, 2, 0))  # due January 2027
    create_case("handling", submitted_at=aware(2028, 12, 28, 2, 0))  # due January 2029
    create_case("replied", submitted_at=aware(2030, 12, 30, 2, 0))  # answered: its deadline no longer matters
    assert calendar.unconfirmed_deadline_years() == [2027, 2028, 2029]
