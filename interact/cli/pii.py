"""`interact pii`: the personal-data detector on the command line (Art. 17)."""
from __future__ import annotations

import sys

import click

from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain import privacy
from ..services import masks
from .common import CommandFailed, service_call

pii = AppGroup("pii", help=_l("识别并遮盖文本中的个人信息（身份证号、手机号、固定电话、电子邮箱、银行卡号、详细地址）。"))


@pii.command("mask", help=_l("从标准输入读取 UTF-8 文本，把其中的个人信息替换为 [身份证号] 等标记后写到标准输出，其余内容原样保留。"))
def mask_command() -> None:
    """Copy standard input to standard output with every piece of personal data masked."""
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandFailed(_("标准输入不是 UTF-8 编码的文本。")) from None
    out = sys.stdout.buffer
    out.write(privacy.mask(text).encode("utf-8"))
    out.flush()


@pii.command("rescan", help=_l("对待审核的办件重新识别个人信息：部门或平台公开联系方式修改后，或识别规则更新后运行。审核人撤销或手动添加的遮盖保持不变。"))
def rescan_command() -> None:
    """Re-run the detector over every case waiting for review, one transaction per batch."""
    after = total = removed = added = 0
    while True:
        with service_call():
            cases, gone, came = masks.rescan_batch(after)
        if not cases:
            break
        after = cases[-1].id
        total, removed, added = total + len(cases), removed + gone, added + came
    click.echo(_("已重新识别 %(n)d 件待审核办件：取消遮盖 %(removed)d 处，新增遮盖 %(added)d 处。",
                 n=total, removed=removed, added=added))
