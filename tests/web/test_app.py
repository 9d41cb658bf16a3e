"""The app factory: surfaces (Art. 25), configuration, SQLite settings and migrations."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from interact import create_app
from interact.domain.db import db
from interact.domain.models import User


def staff_rules(app) -> list[str]:
    """URL rules of the back office and the staff API."""
    return [r.rule for r in app.url_map.iter_rules() if r.rule.startswith(("/staff", "/api/v1/staff"))]


def test_public_surface_registers_no_staff_route(make_app):
    app = make_app("public")
    assert staff_rules(app) == []
    assert "staff" not in app.blueprints and "api_staff" not in app.blueprints
    assert app.test_client().get("/staff/login").status_code == 404


def test_staff_surface_has_no_citizen_pages(make_app):
    app = make_app("staff")
    assert "/staff/login" in staff_rules(app)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/cases/new/<kind>" not in rules and "/records" not in rules


def test_surface_comes_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("INTERACT_SURFACE", "public")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["INTERACT_SURFACE_NAME"] == "public" and staff_rules(app) == []
    monkeypatch.delenv("INTERACT_SURFACE")
    assert create_app({"SQLALCHEMY_DATABASE_URI": database_url}).config["INTERACT_SURFACE_NAME"] == "all"


def test_unknown_surface_is_refused():
    with pytest.raises(ValueError):
        create_app(surface="intranet")


def test_surfaces_use_different_cookie_names(make_app):
    names = {s: make_app(s).config["SESSION_COOKIE_NAME"] for s in ("public", "staff")}
    assert names["public"] != names["staff"]


def test_production_requires_a_secret_key(monkeypatch):
    monkeypatch.setenv("INTERACT_ENV", "production")
    monkeypatch.delenv("INTERACT_SECRET_KEY")
    with pytest.raises(RuntimeError, match="INTERACT_SECRET_KEY"):
        create_app()


def test_development_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("INTERACT_SECRET_KEY")
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_sqlite_in_instance_folder_and_shanghai_time(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "interact.db")
    assert app.config["INTERACT_TIMEZONE"] == "Asia/Shanghai"
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_CN"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_wsgi_entry_points_build_each_surface(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERACT_INSTANCE_PATH", str(tmp_path))
    import interact.wsgi as wsgi

    for name in ("public_app", "staff_app", "app"):
        wsgi.__dict__.pop(name, None)
    assert staff_rules(wsgi.public_app) == []
    assert staff_rules(wsgi.staff_app)


def test_migrations_build_the_schema_from_empty(tmp_path, make_app, reset_database):
    url = "sqlite:///" + str(tmp_path / "fresh.db")
    reset_database(url)
    app = make_app(url=url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"cases", "case_events", "departments", "sites", "users", "user_roles", "api_tokens",
                "workday_overrides", "calendar_years", "kind_settings", "attachments"} <= tables
        # There is no default or anonymous account (Art. 25).
        assert db.session.query(User).count() == 0
        db.engine.dispose()


def test_models_and_migrations_agree(app):
    """Autogenerate finds nothing to add: the schema comes only from migrations, and they are complete."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_test_database_is_the_configured_one(database_url):
    url = database_url
    if os.environ.get("INTERACT_TEST_DATABASE_URL"):
        expected = make_url(os.environ["INTERACT_TEST_DATABASE_URL"])
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:  # under xdist each worker has its own database: the configured name plus _<worker>
            expected = expected.set(database=f"{expected.database}_{worker}")
        assert make_url(url) == expected
        assert create_engine(url).dialect.name == "postgresql"
    else:
        assert url.startswith("sqlite:///")
