"""The `interact` command line: a Flask CLI group bound to this app."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup


def init_app(app) -> None:
    """Register the project's commands on `app`."""


def _create_app():
    """Build the app for the CLI (all surfaces)."""
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             help="interact: the government–citizen interaction platform.")
def main() -> None:
    """Entry point of the `interact` console script."""
