"""The one parser of page numbers and other positive integers in a query string, bounded.

Pages and the API read `?page=` (and `per_page`, `before`, `after`…) only through here. A page is
forgiving: anything that is not a small positive integer means the first page, and a number past
MAX_PAGE means MAX_PAGE. The API is strict: the same values are refused with 400 and a message per
parameter. Either way no value reaches the database that could overflow an OFFSET or an id.
"""
from __future__ import annotations

import re

from flask import request
from flask_babel import gettext as _

from ..domain.errors import ValidationFailed
from ..services.listing import MAX_PER_PAGE

# Six digits at most: every database takes such an offset, and no list is that long by pages.
MAX_PAGE = 999_999
_DIGITS = re.compile(r"^[0-9]{1,6}$")


def positive_int(name: str, default: int | None, maximum: int = MAX_PAGE, *, strict: bool = False) -> int | None:
    """The positive integer query parameter `name`: lenient (default or clamped) or strict (400)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only, and few of them, so the value stays within what every database accepts.
    if _DIGITS.match(raw) and 1 <= int(raw) <= maximum:
        return int(raw)
    if strict:
        msg = _("须为1到%(n)d之间的整数。", n=maximum)
        raise ValidationFailed(_("参数 %(name)s 无效。", name=name), {name: msg})
    if raw.strip().isdigit() and int(raw.strip()) > maximum:
        return maximum
    return default


def page_arg(name: str = "page") -> int:
    """The page number a page was asked for (1 when absent or nonsense, at most MAX_PAGE)."""
    return positive_int(name, 1) or 1


def api_page_args(default_per_page: int, max_page: int = MAX_PAGE) -> tuple[int, int]:
    """The API's `page` (at most `max_page`) and `per_page` query parameters, checked (400 naming
    each bad one)."""
    errors: dict[str, str] = {}
    values = []
    for name, default, maximum in (("page", 1, max_page), ("per_page", default_per_page, MAX_PER_PAGE)):
        try:
            values.append(positive_int(name, default, maximum, strict=True))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("分页参数无效。"), errors)
    return values[0], values[1]
