"""Pages of a list query: one page of rows and the count of the whole result."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..domain.db import db

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page:
    """One page of a list, with the total count."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


def paginate(stmt, page: int, per_page: int) -> Page:
    """Run `stmt` for one page, and count the whole result."""
    page, per_page = max(1, int(page or 1)), min(MAX_PER_PAGE, max(1, int(per_page or 20)))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, total or 0, page, per_page)
