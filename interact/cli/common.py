"""What every `interact` command shares: the refusal it prints, one unit of work per command,
date arguments, and tables.

Every command is a thin adapter: parse the arguments, call a service inside one
`unit_of_work()`, print the result.  A service refusal is printed in Chinese on standard
error and the command exits with status 1; operators never see a traceback for bad input.
"""
from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime

import click
from flask_babel import gettext as _

from ..domain.errors import DomainError
from ..domain.timeutil import local_tz
from ..domain.workdays import parse_when
from ..services import calendar
from ..services.tx import unit_of_work


class CommandFailed(click.ClickException):
    """A refusal shown as a Chinese message (and one line per field) on stderr; exit status 1."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        """Keep the service's message and per-field messages."""
        super().__init__(message)
        self.fields = {k: v for k, v in (fields or {}).items() if v != message}

    def show(self, file=None) -> None:
        """Print the message instead of click's English "Error:" prefix."""
        file = file or sys.stderr
        click.echo(_("错误：%(message)s", message=self.message), file=file)
        for name, text in self.fields.items():
            click.echo(f"  {name}: {text}", file=file)


def parse_moment(text: str) -> datetime:
    """An --as-of value: an ISO date or datetime; without an offset it is local time, and a
    bare date means its local midnight."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandFailed(_("无法识别的日期或时间：%(text)s（应为 YYYY-MM-DD 或 ISO 时间，如 2026-09-30T08:00:00+08:00）",
                              text=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_tz())
    return moment


@contextmanager
def service_call() -> Iterator[None]:
    """Commit the block's work once, or report the service's typed error as a CommandFailed."""
    try:
        with unit_of_work():
            yield
    except DomainError as exc:
        raise CommandFailed(exc.message, exc.fields) from None


def _display_width(text: str) -> int:
    """Terminal columns taken by `text` (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows as left-aligned columns separated by two spaces."""
    table = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(_display_width(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        cells = [cell + " " * (widths[i] - _display_width(cell)) for i, cell in enumerate(row)]
        click.echo("  ".join(cells).rstrip())


def parse_date(text: str) -> date:
    """A strict YYYY-MM-DD date, or a CommandFailed."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandFailed(_("日期格式应为 YYYY-MM-DD：%(text)s", text=text)) from None


def parse_local_date(text: str) -> date:
    """A date or ISO datetime as a local date (offsets converted to the platform's time zone)."""
    try:
        return parse_when(text, calendar.tz_name())
    except ValueError:
        message = _("无法识别的日期或时间：%(text)s（应为 YYYY-MM-DD 或 ISO 时间，如 2026-09-30T20:00:00+08:00）",
                    text=text)
        raise CommandFailed(message) from None


def out_of_range(cal) -> CommandFailed:
    """The error for a date outside the precomputed working-day calendar."""
    return CommandFailed(_("超出工作日历的范围（%(lo)d年至%(hi)d年）。", lo=cal.first_year, hi=cal.last_year))


def yes_no(flag: bool) -> str:
    """启用/停用 for an active flag."""
    return _("启用") if flag else _("停用")
