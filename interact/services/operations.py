"""How the platform is doing, in figures a monitoring system scrapes (see interact/web/metrics.py).

Counts only, never a case's content: open cases by status, the overdue ones, and the mail outbox's
depth and the age of its oldest waiting message. Each figure is one indexed aggregate query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..domain.db import db
from ..domain.models import OPEN_STATUSES, Case, OutboxMessage, OutboxStatus
from ..domain.timeutil import utcnow
from .deadlines import overdue_filter


@dataclass(frozen=True)
class Figures:
    """One reading of the platform's state."""

    open_by_status: dict[str, int]
    overdue: int
    outbox_by_status: dict[str, int]  # pending and dead
    oldest_pending_seconds: float  # 0 when nothing waits


def figures(now: datetime | None = None) -> Figures:
    """Read the figures now (five small aggregate queries over indexes)."""
    now = now or utcnow()
    open_rows = db.session.execute(select(Case.status, func.count()).where(Case.status.in_(OPEN_STATUSES))
                                   .group_by(Case.status)).all()
    by_status = {status.value: 0 for status in OPEN_STATUSES} | {s.value: n for s, n in open_rows}
    overdue = db.session.scalar(select(func.count()).select_from(Case).where(overdue_filter(now))) or 0
    # Waiting and given-up mail only: sent mail piles up over the years and is not a health figure.
    outbox = {status.value: db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                              .where(OutboxMessage.status == status)) or 0
              for status in (OutboxStatus.pending, OutboxStatus.dead)}
    oldest = db.session.scalar(select(func.min(OutboxMessage.created_at))
                               .where(OutboxMessage.status == OutboxStatus.pending))
    return Figures(by_status, overdue, outbox, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
