"""The `interact` console script: Flask's command group, bound to `create_app` (all surfaces)."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup
from flask_babel import lazy_gettext as _l

from . import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True,
             help=_l("interact：政民互动平台（咨询、建议、投诉、领导信箱、网站纠错）的管理命令。"))
def main() -> None:
    """Entry point of the `interact` console script."""


if __name__ == "__main__":  # `python -m interact.console …` when the console script is not on PATH
    main()
