"""The `interact` command groups, one module per feature; `register` adds them all to an app.

The console script itself (`interact`, bound to `create_app`) is `interact.console:main`.
"""
from __future__ import annotations

from flask import Flask

from .admin import deadlines, departments, sites, tokens, users, workdays
from .attachments import attachments_group
from .audit import audit_group
from .backup import backup_command, restore_command
from .demo import demo_command
from .mail import mail_group
from .pii import pii
from .remind import remind_command
from .serve import serve_command
from .subscriptions import subscriptions_group

COMMANDS = (departments, sites, users, tokens, workdays, deadlines, pii, audit_group, remind_command,
            mail_group, subscriptions_group, attachments_group, demo_command, serve_command,
            backup_command, restore_command)


def register(app: Flask) -> None:
    """Add every command group of the project to `app.cli`."""
    for command in COMMANDS:
        app.cli.add_command(command)
