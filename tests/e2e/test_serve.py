"""`interact serve` and the gunicorn configuration modules: each surface under real gunicorn."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fixtures.values import free_port
from interact.deploy import gunicorn_settings

START_SECONDS = 60


def start(command: list[str], tmp_path: Path, **env) -> tuple[subprocess.Popen, str]:
    """Start `command` (a gunicorn) on a free port; its process and base URL once it answers."""
    port = free_port()
    environment = dict(os.environ, INTERACT_SECRET_KEY="serve-test", INTERACT_INSTANCE_PATH=str(tmp_path),
                       INTERACT_WEB_BIND=f"127.0.0.1:{port}", INTERACT_WEB_WORKERS="1")
    environment.update(env)
    with (tmp_path / "serve.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=log,  # noqa: S603 - fixed arguments
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("the server did not start:\n" + (tmp_path / "serve.log").read_text(errors="replace")[-3000:])


def stop(process: subprocess.Popen) -> int:
    """SIGTERM, as a service manager stops it; its exit code."""
    os.killpg(process.pid, signal.SIGTERM)
    return process.wait(timeout=60)


def test_interact_serve_runs_the_public_surface_only(tmp_path):
    interact = Path(sys.executable).with_name("interact")
    process, base = start([str(interact), "serve", "public"], tmp_path)
    try:
        assert requests.get(base + "/healthz", timeout=10).json()["status"] == "ok"
        assert requests.get(base + "/staff/login", timeout=10).status_code == 404
        assert requests.get(base + "/api/v1/staff/cases", timeout=10).status_code == 404
    finally:
        assert stop(process) == 0


def test_the_staff_config_module_serves_the_back_office(tmp_path):
    process, base = start([sys.executable, "-m", "gunicorn", "-c", "python:interact.deploy.staff"], tmp_path)
    try:
        assert requests.get(base + "/staff/login", timeout=10).status_code in (200, 503)
        assert requests.get(base + "/records", timeout=10).status_code == 404
    finally:
        assert stop(process) == 0


def test_settings_per_surface_and_their_overrides():
    public, staff = gunicorn_settings("public", {}), gunicorn_settings("staff", {})
    assert public["wsgi_app"] == "interact.wsgi:public_app" and staff["wsgi_app"] == "interact.wsgi:staff_app"
    assert public["worker_class"] == "gthread" and public["threads"] > 1  # what a live stream needs
    assert staff["worker_class"] == "sync" and staff["threads"] == 1
    assert public["workers"] >= staff["workers"] >= 3 and staff["timeout"] > public["timeout"]
    assert public["accesslog"] is None  # URLs can carry one-time tokens
    tuned = gunicorn_settings("public", {"INTERACT_WEB_WORKERS": "3", "INTERACT_WEB_THREADS": "16",
                                         "INTERACT_WEB_BIND": "0.0.0.0:80"})
    assert (tuned["workers"], tuned["threads"], tuned["bind"]) == (3, 16, "0.0.0.0:80")


def test_metrics_add_up_every_worker(tmp_path):
    """Two gunicorn workers, many requests: every scrape (whichever worker answers) counts them all."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")  # must be cleared at start
    env = dict(os.environ, INTERACT_DATABASE_URL=url, INTERACT_SECRET_KEY="serve-test",
               INTERACT_INSTANCE_PATH=str(tmp_path))
    interact = str(Path(sys.executable).with_name("interact"))
    subprocess.run([interact, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    process, base = start([interact, "serve", "staff"], tmp_path, INTERACT_DATABASE_URL=url,
                          INTERACT_WEB_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(folder))
    try:
        for _ in range(40):  # a new connection each, so both workers take some
            assert requests.get(base + "/staff/login", timeout=10).status_code == 200
        for _ in range(6):
            body = requests.get(base + "/metrics", timeout=10).text
            line = next(x for x in body.splitlines() if x.startswith("interact_http_requests_total{")
                        and 'endpoint="staff.login"' in x)
            assert float(line.rsplit(" ", 1)[1]) == 40
        assert "interact_outbox_messages" in body and "interact_open_cases" in body
        assert len(list(folder.glob("counter_*.db"))) == 2, "both workers wrote their series"
    finally:
        assert stop(process) == 0
