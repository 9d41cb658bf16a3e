"""Benchmark the working-day clock (interact.domain.workdays).

Measures, in one run:
  * WorkCalendar() build time (default range 2015-2045);
  * WorkCalendar.add_working_days(start, 3) on random 2024-2026 dates (indexed);
  * due_at(submitted_at, 3, calendar) on random aware datetimes (full path:
    time-zone conversion, indexed lookup, 23:59:59 local -> UTC);
  * a naive baseline: step day by day with holidays.China().is_working_day.

Run from the repository root:  python bench/bench_workdays.py [--ops N] [--naive-ops N]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import holidays  # noqa: E402

from interact.domain.deadlines import due_at  # noqa: E402
from interact.domain.workdays import WorkCalendar  # noqa: E402

N_DAYS = 3
SEED = 28


def naive_add_working_days(lib: holidays.HolidayBase, start: date, n: int) -> date:
    """Baseline: walk forward one day at a time asking the library."""
    d, left = start, n
    one = timedelta(days=1)
    while left:
        d += one
        if lib.is_working_day(d):
            left -= 1
    return d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000, help="indexed/due_at operations")
    parser.add_argument("--naive-ops", type=int, default=10_000, help="naive baseline operations")
    args = parser.parse_args()

    rng = random.Random(SEED)
    lo, hi = date(2024, 1, 1).toordinal(), date(2026, 12, 31).toordinal()
    starts = [date.fromordinal(rng.randint(lo, hi)) for _ in range(args.ops)]
    moments = [
        datetime.combine(d, datetime.min.time(), tzinfo=timezone.utc)
        + timedelta(seconds=rng.randrange(86400))
        for d in starts
    ]

    t0 = time.perf_counter()
    cal = WorkCalendar()
    build_s = time.perf_counter() - t0

    add = cal.add_working_days
    t0 = time.perf_counter()
    for d in starts:
        add(d, N_DAYS)
    indexed_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    for m in moments:
        due_at(m, N_DAYS, cal)
    due_s = time.perf_counter() - t0

    # Warm the library (it populates years lazily) so only stepping is timed.
    lib = holidays.China(years=range(2024, 2028))
    naive_starts = starts[: args.naive_ops]
    t0 = time.perf_counter()
    for d in naive_starts:
        naive_add_working_days(lib, d, N_DAYS)
    naive_s = time.perf_counter() - t0

    # Sanity: both methods agree on the benchmarked inputs.
    mismatch = sum(add(d, N_DAYS) != naive_add_working_days(lib, d, N_DAYS) for d in naive_starts)

    rows = [
        ("add_working_days (indexed)", args.ops, indexed_s),
        ("due_at (datetime, indexed)", args.ops, due_s),
        ("naive day-by-day (holidays)", len(naive_starts), naive_s),
    ]
    naive_per = naive_s / len(naive_starts)
    print(f"Python {platform.python_version()}, holidays {holidays.__version__}, "
          f"{platform.machine()}, n={N_DAYS}, starts uniform in 2024-2026")
    print(f"WorkCalendar() build (2015-2045): {build_s * 1000:.1f} ms")
    print()
    print(f"{'benchmark':<30} {'ops':>10} {'total s':>9} {'µs/op':>8} {'ops/s':>12} {'naive/this':>11}")
    print("-" * 84)
    for name, ops, secs in rows:
        per = secs / ops
        print(f"{name:<30} {ops:>10,} {secs:>9.3f} {per * 1e6:>8.3f} {ops / secs:>12,.0f} "
              f"{naive_per / per:>10.1f}x")
    print()
    print(f"naive vs indexed mismatches on {len(naive_starts):,} inputs: {mismatch}")


if __name__ == "__main__":
    main()
