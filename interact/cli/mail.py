"""`interact mail send|digest|list|requeue`: the outbox from the command line.

Thin adapters over interact/services/mail.py and notify.py. `send` is what cron runs every
minute (or `send --loop` as a long-running service); `digest` once a day. Sending is safe
from several hosts at once (see the service's docstring).
"""
from __future__ import annotations

import signal
import threading

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from .common import CommandFailed, echo_table, parse_moment, service_call
from ..domain.db import db
from ..services import mail, notify
from ..domain.timeutil import format_local

# Messages per sending run.
BATCH = 100

mail_group = AppGroup("mail", help=_l("邮件发件箱：发送到期邮件、生成每日汇总、查看和重新发送。"))


def _send_once() -> mail.SendReport:
    """One sending run; a configuration error becomes a CommandFailed (exit status 1)."""
    try:
        return mail.send_due(limit=BATCH)
    except mail.MailConfigError as exc:
        raise CommandFailed(_("邮件设置有误：%(error)s", error=str(exc))) from None


def _echo_report(report: mail.SendReport) -> None:
    """Print what a run did."""
    if report.busy:
        click.echo(_("另一个发送进程正在运行，本次未发送。"))
        return
    click.echo(_("已发送 %(sent)d 封，失败待重试 %(failed)d 封，放弃 %(dead)d 封。",
                 sent=report.sent, failed=report.failed, dead=report.dead))


@mail_group.command(
    "send",
    help=_l("发送到期的邮件。发送失败的邮件按指数退避稍后重试（不影响退出码）；只有邮件设置有误时退出码为 1。加 --loop 则持续运行，每隔 --interval 秒发送一次，收到 SIGTERM 或 SIGINT 后结束。"),
)
@click.option("--loop", is_flag=True, help=_l("持续运行，直到收到 SIGTERM/SIGINT。"))
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              metavar="SECONDS", help=_l("--loop 时两次发送之间的秒数。"))
def mail_send(loop: bool, interval: float) -> None:
    """Send what is due once, or keep sending until stopped."""
    if not loop:
        _echo_report(_send_once())
        return
    try:
        mail.check_config()  # a wrong setting stops the service at once, not silently each round
    except mail.MailConfigError as exc:
        raise CommandFailed(_("邮件设置有误：%(error)s", error=str(exc))) from None
    stop = threading.Event()
    previous = {}

    def _stop(signum, frame):  # noqa: ARG001 - the signal handler's signature
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, _stop)
    try:
        while not stop.is_set():
            try:
                report = _send_once()
            except SQLAlchemyError as exc:
                # The database may be restarting: say so and try again next round.
                db.session.rollback()
                click.echo(_("数据库暂不可用，稍后重试：%(error)s", error=type(exc).__name__), err=True)
            else:
                if report.sent or report.failed or report.dead:
                    _echo_report(report)
                if report.sent + report.failed + report.dead >= BATCH and not report.busy:
                    continue  # a full batch: more may be due right now
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(_("已停止发送。"))


@mail_group.command(
    "digest",
    help=_l("为选择“每日汇总”的工作人员生成当天的汇总邮件（每人每天一封，重复运行不会重复生成）。--as-of 指定时间（ISO 格式，不带时区时为北京时间），用于补发。"),
)
@click.option("--as-of", "as_of", metavar="DATETIME", help=_l("按此时间生成（默认现在）。"))
def mail_digest(as_of: str | None) -> None:
    """Queue today's digest of each user with held notifications."""
    moment = parse_moment(as_of) if as_of else None
    with service_call():
        n = notify.queue_digests(moment)
    click.echo(_("已生成 %(n)d 封汇总邮件，将由 interact mail send 发出。", n=n))


@mail_group.command("list", help=_l("列出待发送的邮件；加 --dead 列出已放弃（需人工处理）的邮件。"))
@click.option("--dead", is_flag=True, help=_l("只列出已放弃的邮件。"))
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
def mail_list(dead: bool, limit: int) -> None:
    """List pending (or dead) messages."""
    status = mail.DEAD if dead else mail.PENDING
    rows = mail.messages(status, limit)
    echo_table(
        [_("编号"), _("收件人"), _("主题"), _("尝试次数"), _("下次尝试"), _("最近错误")],
        [(m.id, m.recipient, m.subject, m.attempts, format_local(m.next_attempt_at) if status == mail.PENDING
          else "", m.last_error or "") for m in rows],
    )
    counts = mail.status_counts()
    click.echo(_("待发送 %(p)d 封，已发送 %(s)d 封，已放弃 %(d)d 封。",
                 p=counts[mail.PENDING], s=counts[mail.SENT], d=counts[mail.DEAD]))


@mail_group.command("requeue", help=_l("把已放弃的邮件放回发件箱重新发送（记入审计日志）。"))
@click.argument("message_id", type=int)
def mail_requeue(message_id: int) -> None:
    """Put a dead message back in the queue."""
    with service_call():
        mail.requeue(message_id, None)
    click.echo(_("邮件 %(id)d 已放回发件箱。", id=message_id))
