"""Pages of a list query: one page of rows and the count of the whole result (short lists), or
one page by position with cursors (long lists, see keyset_page)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import false, func, select, true

from ..domain.db import db
from ..domain.errors import ValidationFailed

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


# --- keyset pages --------------------------------------------------------------------------------
# Long public lists (the published records) page by position, not by counting rows: a page holds
# the rows just older (or newer) than a cursor, the (time, id) of the row next to it, so page
# 30,000 costs what page 1 costs. The first MAX_NUMBERED_PAGE pages can also be reached by number
# (a short OFFSET over the same index), which keeps "page 3" links stable; deeper page numbers
# are refused, and the last page is read from the other end of the index.

MAX_NUMBERED_PAGE = 50
MAX_ID = 2**31 - 1  # the id columns are 32-bit
_CURSOR = re.compile(r"^([0-9]{1,17})-([0-9]{1,18})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def encode_cursor(at: datetime, row_id: int) -> str:
    """The opaque cursor of a row: its time in microseconds since 1970 and its id, e.g. "1733212345000000-42"."""
    delta = at - _EPOCH
    return f"{(delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds}-{row_id}"


def decode_cursor(raw: str, field: str = "cursor") -> tuple[datetime, int]:
    """The (time, id) of a cursor made by encode_cursor; ValidationFailed naming `field` otherwise."""
    match = _CURSOR.match(raw or "")
    if not match:
        msg = _("翻页位置无效，请从第一页重新浏览。")
        raise ValidationFailed(msg, {field: msg})
    return _EPOCH + timedelta(microseconds=int(match[1])), int(match[2])


@dataclass(frozen=True)
class KeysetPage:
    """One page of a long list: its rows, the total, and cursors to the pages beside it."""

    items: list
    total: int
    per_page: int
    page: int | None  # the page number when it was asked for by number, else None
    older: str | None  # cursor of the next page (older rows), None on the last page
    newer: str | None  # cursor of the previous page (newer rows), None on the first page
    is_last: bool = False

    @property
    def pages(self) -> int:
        """How many pages of `per_page` rows there are."""
        return max(1, -(-self.total // self.per_page))

    @property
    def numbered_pages(self) -> int:
        """How many pages may be asked for by number."""
        return min(self.pages, MAX_NUMBERED_PAGE)


def keyset_page(stmt, at_column, id_column, *, total: int, per_page: int, page: int | None = None,
                older_than: str | None = None, newer_than: str | None = None, last: bool = False,
                cursor_field: str = "cursor") -> KeysetPage:
    """One page of `stmt` (unordered; newest first by `at_column`, `id_column`) by number, after a
    cursor (older rows), before one (newer rows), or the last page. Raises ValidationFailed for a
    page number past MAX_NUMBERED_PAGE or a malformed cursor."""
    per_page = min(MAX_PER_PAGE, max(1, int(per_page or 20)))
    newest_first = (at_column.desc(), id_column.desc())
    oldest_first = (at_column.asc(), id_column.asc())

    def key(row) -> str:
        return encode_cursor(getattr(row, at_column.key), getattr(row, id_column.key))

    def fetch(query, limit: int) -> list:
        return list(db.session.scalars(query.limit(limit)).unique())

    if last:
        rows = fetch(stmt.order_by(*oldest_first), per_page)[::-1]
        has_newer = total > len(rows)
        return KeysetPage(rows, total, per_page, None, None, key(rows[0]) if rows and has_newer else None, True)
    if newer_than:
        at, row_id = decode_cursor(newer_than, cursor_field)
        # An id past the column's range ties with no row (and must not reach the database).
        tie = id_column > row_id if row_id <= MAX_ID else false()
        rows = fetch(stmt.where(at_column >= at, (at_column > at) | tie)
                     .order_by(*oldest_first), per_page + 1)
        has_newer = len(rows) > per_page
        rows = rows[:per_page][::-1]
        return KeysetPage(rows, total, per_page, None, key(rows[-1]) if rows else None,
                          key(rows[0]) if rows and has_newer else None)
    if older_than:
        at, row_id = decode_cursor(older_than, cursor_field)
        tie = id_column < row_id if row_id <= MAX_ID else true()
        rows = fetch(stmt.where(at_column <= at, (at_column < at) | tie)
                     .order_by(*newest_first), per_page + 1)
        number = None
    else:
        number = max(1, int(page or 1))
        if number > MAX_NUMBERED_PAGE:
            msg = _("只能按页码翻到第 %(n)d 页；更早的内容请点“下一页”或“末页”，或用筛选条件缩小范围。",
                    n=MAX_NUMBERED_PAGE)
            raise ValidationFailed(msg, {"page": msg})
        rows = fetch(stmt.order_by(*newest_first).offset((number - 1) * per_page), per_page + 1)
    has_older = len(rows) > per_page
    rows = rows[:per_page]
    newer = key(rows[0]) if rows and (older_than or (number or 1) > 1) else None
    return KeysetPage(rows, total, per_page, number, key(rows[-1]) if has_older else None, newer,
                      not has_older)
