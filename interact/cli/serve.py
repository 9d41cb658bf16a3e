"""`interact serve public|staff`: run one surface under gunicorn with the project's settings.

The settings are those of interact.deploy (the same as `gunicorn -c python:interact.deploy.public`);
the options here override the few one changes per host. gunicorn forks the workers, and each
builds its surface's app from interact.wsgi, so a public host never loads the staff code.
"""
from __future__ import annotations

import click
from flask_babel import lazy_gettext as _l
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

from ..deploy import SURFACES, gunicorn_settings


class _Server(BaseApplication):
    """gunicorn fed from a settings mapping instead of a command line."""

    def __init__(self, settings: dict):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if key != "wsgi_app" and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return import_app(self.settings["wsgi_app"])


@click.command("serve", help=_l("用 gunicorn 运行一个界面（public 门户或 staff 后台），参数见 interact/deploy。"))
@click.argument("surface", type=click.Choice(sorted(SURFACES)))
@click.option("--bind", help=_l("监听地址，如 127.0.0.1:8000。"))
@click.option("--workers", type=click.IntRange(1, 256), help=_l("工作进程数。"))
@click.option("--threads", type=click.IntRange(1, 1024), help=_l("每个进程的线程数。"))
def serve_command(surface: str, bind: str | None, workers: int | None, threads: int | None) -> None:
    """Serve `surface` until stopped (SIGTERM or Ctrl-C: requests in flight finish first)."""
    settings = gunicorn_settings(surface)
    for key, value in (("bind", bind), ("workers", workers), ("threads", threads)):
        if value is not None:
            settings[key] = value
    _Server(settings).run()
