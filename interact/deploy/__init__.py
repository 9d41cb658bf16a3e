"""How each surface is served in production: gunicorn settings, one module per surface.

    gunicorn -c python:interact.deploy.public          # the internet-facing site
    gunicorn -c python:interact.deploy.staff           # the back office
    interact serve public                              # the same, from the command line

`gunicorn_settings` is the one place these values live; the surface modules and `interact serve`
read it. Every value can be changed by the environment (INTERACT_WEB_*) or gunicorn's own flags
(a flag given on the command line wins over the config module).

Why these values:

- `gthread` workers: each worker process runs several threads, so a request waiting on the
  database or a slow client does not hold the whole process, and keep-alive connections cost a
  thread, not a process. The interview live stream (Server-Sent Events) needs exactly this kind of
  worker: each open stream holds one thread, so `threads` bounds the viewers per process (raise
  it, or add workers, for large audiences).
- The back office runs `sync` workers (one request per process, two per core plus one): under
  `gthread`, a staff worker died of SIGSEGV twice in benchmark runs (inside SQLAlchemy's ORM
  loading, on SQLite and on PostgreSQL alike; faulthandler's stacks are in the notes of the
  benchmark). Until that is understood the back office takes no threads; its load is small.
- workers: two per core plus one on the public site (its pages are mostly CPU: templates,
  JSON).
- `max_requests` with jitter recycles each worker now and then, so a slow leak never grows.
- `timeout`: a worker silent for 30 s (public) or 120 s (back office: exports, reports) is
  restarted; `graceful_timeout` lets requests in flight finish on a restart.
- No access log by default: URLs can carry one-time tokens (subscription links); the app logs
  what it needs without them. Errors go to stderr.
- `forwarded_allow_ips`: only the local reverse proxy; the app itself trusts INTERACT_PROXY_COUNT.
- Metrics: each worker process writes its Prometheus series into PROMETHEUS_MULTIPROC_DIR (a
  fresh folder per start unless set), so `/metrics` adds up every worker; a worker that exits is
  marked dead there.
"""
from __future__ import annotations

import faulthandler
import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import multiprocess, values

SURFACES = {
    "public": {"app": "interact.wsgi:public_app", "bind": "127.0.0.1:8000", "workers_per_core": 2,
               "timeout": 30, "worker_class": "gthread", "threads": 4},
    "staff": {"app": "interact.wsgi:staff_app", "bind": "127.0.0.1:8001", "workers_per_core": 2,
              "timeout": 120, "worker_class": "sync", "threads": 1},
}


def _int(env, name: str, default: int) -> int:
    raw = env.get(f"INTERACT_WEB_{name}")
    return int(raw) if raw else default


def _on_starting(server) -> None:
    """In the master, before any worker: a clean folder for the workers' metric files."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix=f"{server.proc_name}-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous run's series would be added to this one's
        stale.unlink()


def _post_fork(_server, _worker) -> None:
    """In each new worker, before it loads the app: series go to the shared folder.

    prometheus_client picks its value store when first imported, which may have happened in the
    master before the folder was set (`interact serve` builds the app first); choose it again.
    """
    values.ValueClass = values.get_value_class()
    # A crash inside a C extension prints every thread's Python stack to the error log.
    faulthandler.enable()


def _child_exit(_server, worker) -> None:
    """A worker exited: its live gauges no longer count."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def _on_exit(_server) -> None:
    """The master stops: remove a metrics folder it made itself."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if Path(folder).name.startswith("interact-") and Path(folder).parent == Path(tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)


def gunicorn_settings(surface: str, env=None) -> dict:
    """The gunicorn settings of `surface` ("public" or "staff"), with INTERACT_WEB_* overrides."""
    env = os.environ if env is None else env
    spec = SURFACES[surface]
    cores = os.cpu_count() or 1
    return {
        "wsgi_app": spec["app"],
        "bind": env.get("INTERACT_WEB_BIND") or spec["bind"],
        "worker_class": env.get("INTERACT_WEB_WORKER_CLASS") or spec["worker_class"],
        "workers": _int(env, "WORKERS", spec["workers_per_core"] * cores + 1),
        "threads": _int(env, "THREADS", spec["threads"]),
        "timeout": _int(env, "TIMEOUT", spec["timeout"]),
        "graceful_timeout": 30,
        "keepalive": 5,
        "max_requests": 10_000,
        "max_requests_jitter": 1_000,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "forwarded_allow_ips": "127.0.0.1",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": f"interact-{surface}",
        "on_starting": _on_starting,
        "post_fork": _post_fork,
        "child_exit": _child_exit,
        "on_exit": _on_exit,
    }
