"""`interact audit verify|purge`: check the audit trail's hash chain, and purge past the retention.

Thin adapters over interact/services/audit.py. Entries made from the command line are
attributed to "cli:<operating-system user>".
"""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .common import CommandFailed, parse_date, service_call
from ..services import audit
from ..domain.timeutil import format_local

audit_group = AppGroup("audit", help=_l("审计日志：校验哈希链，清除超过保留期限的记录。"))

BREAK_REASONS = {
    "link": _l("前一条记录缺失或被改动"),
    "hash": _l("该条记录被改动"),
    "anchor": _l("清除锚点与最近一次清除记录不符"),
}


@audit_group.command(
    "verify",
    help=_l("校验审计日志的哈希链。完整时退出码为 0，并输出最新一条的编号和哈希（可另行记录以便日后比对）；有记录被改动、删除或伪造时退出码为 1，并指出第一条断开的记录。"),
)
def audit_verify() -> None:
    """Check the chain; exit 0 when intact, else 1 naming the first broken entry."""
    result = audit.check_chain()
    if isinstance(result, audit.ChainBreak):
        if result.at is None:  # no entry left to name: the trail was emptied past the purge anchor
            raise CommandFailed(_("审计日志已被清空，但存在清除锚点：最近一次清除的记录已被删除。"))
        raise CommandFailed(_("审计日志哈希链在第 %(id)d 条记录（%(at)s）处断开：%(reason)s。",
                              id=result.entry_id, at=format_local(result.at, "%Y-%m-%d %H:%M:%S"),
                              reason=BREAK_REASONS.get(result.reason, result.reason)))
    if result.entry_id is None:
        click.echo(_("审计日志为空，哈希链完整。"))
        return
    click.echo(_("审计日志哈希链完整：共 %(n)d 条，最新一条为第 %(id)d 条（%(at)s），哈希 %(hash)s。",
                 n=result.entries, id=result.entry_id, at=format_local(result.at, "%Y-%m-%d %H:%M:%S"),
                 hash=result.hash))


@audit_group.command(
    "purge",
    help=_l("删除 DATE（YYYY-MM-DD，北京时间）之前的审计记录。记录至少保留 180 天（INTERACT_AUDIT_RETENTION_DAYS，只能调高）：DATE 晚于保留期限时拒绝执行、不删除任何记录。清除本身也记入审计日志，校验从清除锚点接续。"),
)
@click.option("--before", "before", required=True, metavar="DATE", help=_l("删除此日期之前的记录。"))
def audit_purge(before: str) -> None:
    """Delete entries older than DATE, if all of them are past the retention period."""
    day = parse_date(before)
    with service_call():
        result = audit.purge(day)
    click.echo(_("已清除 %(day)s 之前的审计记录 %(n)d 条。", day=day.isoformat(), n=result.deleted))
    if result.anchor_entry_id is not None:
        click.echo(_("其余记录从第 %(id)d 条之后接续校验。", id=result.anchor_entry_id))


__all__ = ["CommandFailed", "audit_group"]
