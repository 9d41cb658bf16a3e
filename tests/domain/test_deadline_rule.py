"""The deadline rule (Art. 28), pure: due instant, due soon, extension, light — and defined once."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from interact.domain import deadlines as rule
from interact.domain.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
PACKAGE = Path(__file__).resolve().parents[2] / "interact"


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar()


def local(y, m, d, h=9, mi=0, s=0):
    return datetime(y, m, d, h, mi, s, tzinfo=SHANGHAI)


def test_the_end_of_a_local_day_is_its_last_second_in_beijing():
    assert rule.end_of_local_day(date(2025, 10, 11)) == datetime(2025, 10, 11, 15, 59, 59, tzinfo=timezone.utc)
    assert rule.start_of_local_day(date(2025, 10, 11)) == datetime(2025, 10, 10, 16, 0, tzinfo=timezone.utc)


def test_due_after_national_day_on_the_make_up_saturday(cal):
    # 10-01..10-08 are off; the working days are 10-09, 10-10 and Saturday 10-11 (调休上班).
    assert rule.due_at(local(2025, 9, 30, 20), 3, cal) == local(2025, 10, 11, 23, 59, 59)


def test_an_extension_counts_from_the_old_due_date(cal):
    assert rule.extended_due_at(local(2025, 9, 30, 23, 59, 59), 3, cal) == local(2025, 10, 11, 23, 59, 59)


@pytest.mark.parametrize(("now", "due", "soon"), [
    # Due Monday: due soon from the Friday before (the last working day before it).
    (local(2026, 11, 27, 10), local(2026, 11, 30, 23, 59, 59), True),
    (local(2026, 11, 26, 10), local(2026, 11, 30, 23, 59, 59), False),
    # Due 10-09 after National Day: due soon already on 09-30.
    (local(2025, 9, 30, 10), local(2025, 10, 9, 23, 59, 59), True),
    # Due today, not yet overdue: due soon; past the instant it is overdue, not due soon.
    (local(2026, 11, 26, 23, 59, 58), local(2026, 11, 26, 23, 59, 59), True),
    (local(2026, 11, 27, 0, 0, 0), local(2026, 11, 26, 23, 59, 59), False),
])
def test_due_soon_means_due_by_the_end_of_the_next_working_day(cal, now, due, soon):
    assert rule.is_due_soon(due, now, cal) is soon


def test_the_light_follows_the_rule(cal):
    due = local(2026, 11, 30, 23, 59, 59)
    assert rule.deadline_of(due, True, cal, local(2026, 11, 25)).light == "ok"
    assert rule.deadline_of(due, True, cal, local(2026, 11, 27)).light == "soon"
    late = rule.deadline_of(due, True, cal, local(2026, 12, 2))
    assert late.light == "overdue" and late.days_late == 2
    assert rule.deadline_of(due, False, cal, local(2026, 12, 2)).light == "done"


def _definitions(pattern: str) -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(PACKAGE)}:{n}")
    return found


@pytest.mark.parametrize("pattern", [r"def due_at\b", r"def is_due_soon\b", r"def end_of_local_day\b",
                                     r"def extended_due_at\b", r"time\(23, 59, 59\)"])
def test_each_part_of_the_rule_is_defined_once_in_the_deadline_module(pattern):
    assert _definitions(pattern) == [next(p for p in _definitions(pattern) if p.startswith("domain/deadlines.py"))]
