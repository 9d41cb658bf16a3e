"""Benchmark: list queries (public records, staff queues, overdue board) at scale.

Fills a fresh database with N cases by bulk insert, then times the list queries the pages
and API run, and prints each query's plan so a missing index shows up as a full scan.

    python bench/bench_lists.py --cases 1000000            # SQLite file in a temp folder
    python bench/bench_lists.py --cases 1000000 --url postgresql+psycopg://postgres@127.0.0.1/test
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("INTERACT_SECRET_KEY", "bench")
os.environ.setdefault("INTERACT_INSTANCE_PATH", tempfile.mkdtemp(prefix="interact-bench-"))

from sqlalchemy import select, text  # noqa: E402

import seed  # noqa: E402  (bench/seed.py, shared with bench_http.py)

from interact import create_app  # noqa: E402
from interact.domain.db import db  # noqa: E402
from interact.domain.models import Case, Department, Status  # noqa: E402
from interact.services import calendar, cases  # noqa: E402
from interact.services import deadlines

def timed(fn, repeat: int = 20) -> float:
    """Median wall time of `fn` in milliseconds."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def explain(stmt) -> str:
    """The database's plan for a statement, in one line."""
    dialect = db.engine.dialect.name
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = db.session.execute(text(prefix + str(compiled))).all()
    return " | ".join(str(r[-1]) for r in rows)[:160]


def main() -> None:
    """Fill, then time each list query."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--departments", type=int, default=60)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or "sqlite:///" + os.path.join(os.environ["INTERACT_INSTANCE_PATH"], "bench.db")
    seed.reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        t0 = time.perf_counter()
        seeded = seed.fill(args.cases, args.departments)
        print(f"filled {args.cases:,} cases in {time.perf_counter() - t0:.1f} s on {db.engine.dialect.name}")
        dept = db.session.scalar(select(Department).where(Department.code == seeded.busy_department))
        cal = calendar.current_calendar()
        overdue = select(Case).where(deadlines.overdue_filter()).order_by(Case.due_at).limit(50)

        def queue():
            page = cases.department_queue(dept.id, tuple(s for s in Status if s not in (Status.replied, Status.declined)))
            for case in page.items:
                deadlines.case_deadline(case, cal)

        rows = [
            ("records, page 1", lambda: cases.published_records(page=1)),
            ("records, page 50 (deepest by number)", lambda: cases.published_records(page=50)),
            ("records, halfway down by cursor", lambda: cases.published_records(older_than=seeded.deep_cursor)),
            ("records, last page", lambda: cases.published_records(last=True)),
            ("records, one department", lambda: cases.published_records(department=dept.code)),
            ("records, one kind + month", lambda: cases.published_records(kind="complaint", month=seeded.month)),
            ("department queue + lights", queue),
            ("dispatch queue", lambda: cases.dispatch_queue()),
            ("overdue board, 50 rows", lambda: db.session.scalars(overdue).all()),
        ]
        print(f"{'query':32} {'median ms':>10}")
        for label, fn in rows:
            print(f"{label:32} {timed(fn):10.1f}")
        print("\nplans:")
        base = select(Case).where(Case.published.is_(True), Case.status == Status.replied)
        print(" records:", explain(base.order_by(Case.replied_at.desc(), Case.id.desc()).limit(20)))
        print(" queue:  ", explain(select(Case).where(Case.department_id == dept.id).order_by(Case.due_at).limit(50)))
        print(" overdue:", explain(overdue))


if __name__ == "__main__":
    main()
