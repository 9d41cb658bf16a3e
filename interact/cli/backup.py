"""`interact backup FILE` and `interact restore FILE`: the database and the uploads in one file."""
from __future__ import annotations

import click
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..services import backup as backup_service
from .common import service_call


@click.command("backup", help=_l("把数据库和上传的附件备份到一个新文件（tar，仅本账号可读）。SQLite 用在线备份接口，PostgreSQL 用 pg_dump；运行中即可备份。"))
@click.argument("destination", type=click.Path(dir_okay=False))
def backup_command(destination: str) -> None:
    """Write a backup file."""
    with service_call():
        result = backup_service.backup(destination)
    click.echo(_("已备份：%(path)s（%(dialect)s，迁移版本 %(revision)s，办件 %(cases)d 件，附件 %(uploads)d 个，%(size)d 字节）",
                 path=result.path, dialect=result.dialect, revision=result.revision or "-", cases=result.cases,
                 uploads=result.uploads, size=result.size))


@click.command("restore", help=_l("从备份文件恢复数据库和附件。先逐一核对校验值；目标数据库已有办件时须加 --replace。恢复旧版本的备份后请运行 interact db upgrade。"))
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True, help=_l("用备份替换目标数据库的全部数据。"))
def restore_command(source: str, replace: bool) -> None:
    """Load a backup file."""
    with service_call():
        result = backup_service.restore(source, replace=replace)
    click.echo(_("已恢复：%(dialect)s，备份于 %(created)s，迁移版本 %(revision)s，办件 %(cases)d 件，附件 %(uploads)d 个。",
                 dialect=result.dialect, created=result.created_at, revision=result.revision or "-",
                 cases=result.cases, uploads=result.uploads))
