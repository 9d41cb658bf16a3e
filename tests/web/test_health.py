"""`/healthz` and `/readyz` on every surface: what a load balancer and an orchestrator ask."""
from __future__ import annotations

import os
import sqlite3

import pytest

from interact.services import health

REDIS_URL = os.environ.get("INTERACT_TEST_REDIS_URL")
# Nothing listens on port 1: a database or Redis that is down.
DOWN_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"


def probe(app, path: str):
    """GET `path` on `app` and check what every probe answer has."""
    response = app.test_client().get(path)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    return response


@pytest.mark.parametrize("surface", ["public", "staff", "all"])
def test_every_surface_answers_both_probes_when_all_is_well(make_app, surface):
    app = make_app(surface)
    assert probe(app, "/healthz").get_json() == {"status": "ok"}
    ready = probe(app, "/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok"}}


def test_an_unreachable_database_is_not_ready_but_the_process_is_healthy(make_app):
    app = make_app("public", url=DOWN_POSTGRES)
    assert probe(app, "/healthz").status_code == 200  # a balancer must not kill the workers for it
    ready = probe(app, "/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    assert ready.get_json() == {"status": "not_ready", "checks": {"database": "unreachable"}}
    assert "127.0.0.1" not in ready.get_data(as_text=True)  # no address, no error text


def test_a_database_behind_this_codes_schema_is_not_ready(make_app, tmp_path):
    empty = make_app("staff", url=f"sqlite:///{tmp_path / 'empty.db'}")
    answer = probe(empty, "/readyz")
    assert answer.status_code == 503 and answer.get_json()["checks"] == {"database": "not_migrated"}
    # A database migrated by an older release: its revision is not this code's head.
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001_initial')")
    answer = probe(make_app("staff", url=f"sqlite:///{older}"), "/readyz")
    assert answer.status_code == 503 and answer.get_json()["checks"] == {"database": "not_migrated"}


def test_the_head_is_the_newest_migration(app):
    head = health.schema_head(app.extensions["migrate"].directory)
    names = os.listdir(os.path.join(app.extensions["migrate"].directory, "versions"))
    assert head and any(head in name for name in names)
    assert health.database_state(app.extensions["migrate"].directory) is health.DatabaseState.ok


def test_shared_rate_limit_storage_that_is_down_makes_the_host_not_ready(make_app):
    app = make_app("public", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    ready = probe(app, "/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "unreachable"}


@pytest.mark.skipif(not REDIS_URL, reason="INTERACT_TEST_REDIS_URL is not set (.ci/run sets it)")
def test_shared_rate_limit_storage_that_answers_is_checked_too(make_app):
    app = make_app("public", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL)
    ready = probe(app, "/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_probes_are_not_rate_limited(make_app):
    app = make_app("public", RATELIMIT_ENABLED=True)
    client = app.test_client()
    assert all(client.get("/readyz").status_code == 200 for _ in range(120))


def test_the_staff_hosts_probes_answer_the_allowed_networks_only(make_app):
    app = make_app("staff", INTERACT_STAFF_ALLOWED_NETWORKS="10.0.0.0/8")
    client = app.test_client()
    assert client.get("/readyz", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 404
