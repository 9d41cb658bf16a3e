"""Benchmark: list queries (public records, staff queues, overdue board) at scale.

Fills a fresh database with N cases by bulk insert, then times the list queries the pages
and API run, and prints each query's plan so a missing index shows up as a full scan.

    python bench/bench_lists.py --cases 1000000            # SQLite file in a temp folder
    python bench/bench_lists.py --cases 1000000 --url postgresql+psycopg://postgres@127.0.0.1/test
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("INTERACT_SECRET_KEY", "bench")
os.environ.setdefault("INTERACT_INSTANCE_PATH", tempfile.mkdtemp(prefix="interact-bench-"))

from sqlalchemy import insert, select, text  # noqa: E402

from interact import create_app  # noqa: E402
from interact.domain.db import db  # noqa: E402
from interact.domain.models import Case, Department, Status  # noqa: E402
from interact.services import calendar, cases  # noqa: E402
from interact.services import deadlines

STATUSES = [Status.replied] * 6 + [Status.declined, Status.handling, Status.assigned, Status.pending_review]
KINDS = ["consultation", "suggestion", "complaint", "mailbox", "correction"]


def reset(url: str) -> None:
    """Start from an empty schema."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def fill(n: int, departments: int, seed: int = 7) -> None:
    """Insert `n` cases spread over the last two years, in batches."""
    rng = random.Random(seed)
    dept_ids = []
    for i in range(departments):
        dept = Department(code=f"d{i:03d}", name=f"部门{i}", active=True)
        db.session.add(dept)
        db.session.flush()
        dept_ids.append(dept.id)
    db.session.commit()
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    batch = []
    for i in range(n):
        submitted = start + timedelta(minutes=rng.randrange(0, 700 * 24 * 60))
        status = rng.choice(STATUSES)
        replied = submitted + timedelta(days=rng.randrange(1, 8)) if status in (Status.replied, Status.declined) else None
        published = status == Status.replied and rng.random() < 0.8
        batch.append({
            "number": f"{submitted:%Y%m%d}{i:07d}", "kind": rng.choice(KINDS), "status": status,
            "department_id": rng.choice(dept_ids), "title": f"标题{i}", "content": "内容" * 20,
            "name": "张三", "phone": "13800000000", "publish_consent": True, "query_code_hash": "x" * 64,
            "submitted_at": submitted, "submitted_on": submitted.date(), "deadline_days": 3,
            "due_at": submitted + timedelta(days=4), "transfer_count": 0, "replied_at": replied,
            "published": published, "public_title": f"标题{i}" if published else None,
            "public_content": "内容" if published else None, "public_reply": "答复" if published else None,
            "public_name": "张*" if published else None, "working_days_used": 2 if replied else None,
            "on_time": True if replied else None,
        })
        if len(batch) == 20_000:
            db.session.execute(insert(Case), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(Case), batch)
        db.session.commit()


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
    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        t0 = time.perf_counter()
        fill(args.cases, args.departments)
        print(f"filled {args.cases:,} cases in {time.perf_counter() - t0:.1f} s on {db.engine.dialect.name}")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
        db.session.commit()
        dept = db.session.scalar(select(Department).order_by(Department.id))
        cal = calendar.current_calendar()
        overdue = select(Case).where(deadlines.overdue_filter()).order_by(Case.due_at).limit(50)

        def queue():
            page = cases.department_queue(dept.id, tuple(s for s in Status if s not in (Status.replied, Status.declined)))
            for case in page.items:
                deadlines.case_deadline(case, cal)

        rows = [
            ("records, page 1", lambda: cases.published_records(page=1)),
            ("records, page 500", lambda: cases.published_records(page=500)),
            ("records, one department", lambda: cases.published_records(department=dept.code)),
            ("records, one kind + month", lambda: cases.published_records(kind="complaint", month="2026-03")),
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
