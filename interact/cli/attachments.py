"""`interact attachments`: upkeep of the upload folder."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..services import attachments
from .common import service_call

attachments_group = AppGroup("attachments", help=_l("附件存储的维护。"))


@attachments_group.command("sweep", help=_l("清理上传目录：进程中断后留下的、已提交办件的临时文件移到正式位置；没有任何办件引用的文件删除。只处理超过 --older-than 分钟未改动的文件。可重复运行。"))
@click.option("--older-than", "older_than", type=click.IntRange(min=1), default=60, show_default=True,
              help=_l("只处理超过这么多分钟未改动的文件（更新的文件可能属于尚未提交的办件）。"))
@click.option("--dry-run", is_flag=True, help=_l("只列出将要处理的文件，不做改动。"))
def sweep_command(older_than: int, dry_run: bool) -> None:
    """Move committed leftovers into place and delete files no row refers to."""
    with service_call():
        result = attachments.sweep(older_than_minutes=older_than, dry_run=dry_run)
    for name in result.completed:
        click.echo(_("移入正式位置：%(name)s", name=name))
    for name in result.removed:
        click.echo(_("删除：%(name)s", name=name))
    if dry_run:
        click.echo(_("试运行，未做改动：将移入 %(completed)d 个，将删除 %(removed)d 个；%(recent)d 个文件太新，未处理。",
                     completed=len(result.completed), removed=len(result.removed), recent=result.kept_recent))
    else:
        click.echo(_("已移入 %(completed)d 个，已删除 %(removed)d 个；%(recent)d 个文件太新，未处理。",
                     completed=len(result.completed), removed=len(result.removed), recent=result.kept_recent))
