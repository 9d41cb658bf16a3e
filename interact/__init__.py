"""interact: the government–citizen interaction platform.

`create_app(surface=...)` builds either the public site, the staff back office, or both.
The public surface never imports the staff views, so the back office can run on a separate
host that is not reachable from the internet (Art. 25).
"""
from __future__ import annotations

import os
import sqlite3
from importlib import resources

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import cli, config as config_module
from .api import openapi
from .domain.db import db
from .services.mail import LOCK_FILE, flask_mail
from .services import publication
from .web import gatekeeper, health, logs, metrics, pagecache, pages, ratelimit, unavailable
from .web.extensions import babel, csrf, login_manager, migrate

# The source checkout this package runs from, if any: there templates/, static/ and migrations/ sit at the
# top level, beside the package. A wheel ships them inside the package instead (pyproject.toml maps them).
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COOKIE_NAMES = {"public": "interact_public", "staff": "interact_staff", "all": "interact"}


def installed_from_wheel() -> bool:
    """True when the package carries its own templates (a non-editable install), False in a checkout."""
    return resources.files(__name__).joinpath("templates").is_dir()


def shipped_folder(name: str) -> str:
    """Path of the shipped folder `name` ("templates", "static" or "migrations"), found through the package."""
    if installed_from_wheel():
        return os.fspath(resources.files(__name__).joinpath(name))
    return os.path.join(PROJECT_ROOT, name)  # editable install or plain checkout: the mapped top-level folder


def default_instance_path() -> str:
    """The instance folder when INTERACT_INSTANCE_PATH is unset: <repository>/instance, or ./instance if installed."""
    if installed_from_wheel():
        return os.path.abspath("instance")  # never inside site-packages
    return os.path.join(PROJECT_ROOT, "instance")


def create_app(config: dict | None = None, surface: str | None = None) -> Flask:
    """Build the Flask app for `surface` ("public", "staff" or "all")."""
    surface = surface or os.environ.get("INTERACT_SURFACE") or "all"
    if surface not in config_module.SURFACES:
        raise ValueError(f"unknown surface {surface!r}; expected one of {config_module.SURFACES}")
    app = Flask(
        __name__,
        instance_path=os.environ.get("INTERACT_INSTANCE_PATH") or default_instance_path(),
        template_folder=shipped_folder("templates"),
        static_folder=shipped_folder("static"),
    )
    config_module.private_folder(app.instance_path)  # the database, the key and the uploads live there
    app.config.from_mapping(config_module.load(app.instance_path))
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAMES[surface]
    app.config["REMEMBER_COOKIE_NAME"] = COOKIE_NAMES[surface] + "_remember"
    if config:
        app.config.update(config)
    app.config["INTERACT_SURFACE_NAME"] = surface
    _secure_files(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=shipped_folder("migrations"))
    csrf.init_app(app)
    flask_mail.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    logs.init_app(app)  # before anything logs: no secret or personal data reaches a log
    pages.init_app(app)
    gatekeeper.init_app(app)  # before the blueprints: NUL, surrogates, deep JSON, huge ids are refused
    unavailable.init_app(app)  # a busy or unreachable database: 503 with Retry-After, never 500
    pagecache.init_app(app)
    publication.watch_public_changes(db.session)  # a change to public pages gives them a new version
    # Each surface's modules are imported only when that surface is built, so a public host
    # never loads the staff code (Art. 25); these imports are not there to dodge a cycle.
    # Every blueprint of a surface is in its list: one per feature module, none adds routes to another.
    if surface in ("public", "all"):
        from .api import public as public_api
        from .public import captcha, feeds, query_reset, subscribe
        from .public import views as public_views

        public_modules = (public_views, query_reset, captcha, feeds, subscribe, public_api)
        for module in public_modules:
            app.register_blueprint(module.make_blueprint())
    if surface in ("staff", "all"):
        from .api import staff as staff_api
        from .staff import account, admin, audit_views, masks, outbox, security_admin, supervision
        from .staff import views as staff_views

        login_manager.init_app(app)
        staff_modules = (staff_views, admin, account, masks, audit_views, security_admin, outbox, supervision,
                         staff_api)
        for module in staff_modules:
            app.register_blueprint(module.make_blueprint())
    app.register_blueprint(openapi.make_blueprint(surface))
    app.register_blueprint(health.make_blueprint())
    app.register_blueprint(metrics.make_blueprint(surface))
    metrics.init_app(app)
    ratelimit.init_app(app)  # after the blueprints: it wraps their rate-limited views
    cli.register(app)
    return app


def _secure_files(app: Flask) -> None:
    """Create the SQLite file owner-only, and tighten the files of an install made before that rule."""
    config_module.secure_sqlite_file(app.config.get("SQLALCHEMY_DATABASE_URI"), app.instance_path)
    config_module.make_private(os.path.join(app.instance_path, LOCK_FILE))
    config_module.make_private(os.path.join(app.instance_path, config_module.SECRET_KEY_FILE))
    # The upload folder at 0700 closes the attachments stored in it before this rule, whatever their
    # own mode: nobody else can enter the folder. So start-up need not visit every file.
    config_module.make_private(app.config["INTERACT_UPLOAD_DIR"])


def _select_locale() -> str:
    """Simplified Chinese first; other locales can be added as catalogs appear."""
    return "zh_CN"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: WAL journal for concurrent readers, and enforce foreign keys."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
