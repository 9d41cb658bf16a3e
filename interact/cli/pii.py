"""`interact pii`: the personal-data detector on the command line (Art. 17)."""
from __future__ import annotations

import sys

from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain import privacy
from .common import CommandFailed

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
