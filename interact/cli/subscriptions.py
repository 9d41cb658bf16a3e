"""`interact subscriptions send [--as-of DATETIME]`: queue the mail owed to record subscribers.

A thin adapter over interact/services/subscriptions.py. It only queues: `interact mail send`
delivers. Cron runs it every few minutes; immediate subscribers then hear of new records
within minutes, and each day's first run also queues the daily digests. Running it more
often than needed is harmless: every mail is queued once per subscription and period.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .common import parse_moment, service_call
from ..services import subscriptions

subscriptions_group = AppGroup("subscriptions", help=_l("办理结果公开的邮件订阅。"))


@subscriptions_group.command("send", help=_l(
    "把新公开的办理结果放入发送队列（由 interact mail send 发送）：即时订阅者每次运行收到上次以来的新结果，每日摘要订阅者每天最多一封。只发给已确认的订阅；重复运行不会重复发送。"))
@click.option("--as-of", "as_of", metavar="DATETIME",
              help=_l("按此时间计算（默认现在），用于补发。ISO 时间，不带时区时按本地时间。"))
def subscriptions_send(as_of: str | None) -> None:
    """Queue the subscriber mail due at --as-of (default now) and print how many."""
    moment = parse_moment(as_of) if as_of else None
    with service_call():
        report = subscriptions.send_due(moment)
    click.echo(_("即时订阅邮件：%(a)d 封；每日摘要：%(b)d 封。", a=report.immediate, b=report.daily))
