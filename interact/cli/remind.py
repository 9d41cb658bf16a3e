"""`interact remind [--as-of DATETIME]`: queue the deadline reminders and overdue supervision mails.

A thin adapter over interact/services/reminders.py. It only queues: `interact mail send`
delivers. Running it more often than needed is harmless, because every reminder is queued at
most once per case, due date and threshold.
"""
from __future__ import annotations

import click
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .common import CommandFailed, parse_moment, service_call
from ..services import calendar, reminders


@click.command("remind", help=_l("按已存储的答复期限，把到期前一个工作日的提醒、超期提醒和超期督办邮件放入发送队列（由 interact mail send 发送）。重复运行不会重复提醒：同一办件、同一期限、同一阶段只提醒一次。"))
@click.option("--as-of", "as_of", metavar="DATETIME",
              help=_l("按此时间计算（默认现在），用于补发错过的提醒。YYYY-MM-DD（当天 0 点）或 ISO 时间，不带时区时按本地时间。"))
def remind_command(as_of: str | None) -> None:
    """Queue the reminders owed at --as-of (default now) and print what was queued."""
    moment = parse_moment(as_of) if as_of else None
    try:
        with service_call():
            result = reminders.queue_reminders(moment)
    except ValueError:  # a date the precomputed working-day calendar does not reach
        cal = calendar.current_calendar()
        raise CommandFailed(_("超出工作日历的范围（%(lo)d年至%(hi)d年）。",
                              lo=cal.first_year, hi=cal.last_year)) from None
    click.echo(_("即将到期提醒：%(a)d 件；超期提醒：%(b)d 件；超期督办：%(c)d 件；共 %(n)d 条通知。",
                 a=result.cases["due_soon"], b=result.cases["overdue"], c=result.cases["supervision"],
                 n=result.notifications))

