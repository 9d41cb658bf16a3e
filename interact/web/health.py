"""`/healthz` and `/readyz` on every surface, for load balancers and orchestrators.

- `GET /healthz`: the process is up and answering. It touches nothing else, so a slow database
  never makes a balancer kill healthy workers.
- `GET /readyz`: this process can serve requests now: the database answers and is at the
  schema revision of this code, and the shared rate-limit storage (Redis) answers when one is
  configured. 200 when all hold; 503 with `Retry-After` and the failing check otherwise.

Both answer JSON, are never cached, set no cookie and are not rate limited. They say nothing
about the install beyond ok/unreachable/not_migrated: no address, version or error text.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..services import health
from .ratelimit import EXTENSION

RETRY_SECONDS = 5


def _storage_check() -> tuple[str, str] | None:
    """(name, state) of the shared rate-limit storage, or None when limits are kept in process memory."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    limiter = current_app.extensions.get(EXTENSION)
    if uri.startswith("memory://") or limiter is None:
        return None
    name = "redis" if uri.startswith("redis") else "rate_limit_storage"  # redis, rediss, redis+sentinel…
    try:
        reachable = bool(limiter.storage.check())
    except Exception:  # any client error of the storage means it cannot be used now
        reachable = False
    return name, "ok" if reachable else "unreachable"


def make_blueprint() -> Blueprint:
    """Build the blueprint with the two probes."""
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz():
        """The process is up."""
        response = jsonify(status="ok")
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/readyz")
    def readyz():
        """The process can serve: database (and shared storage) reachable, schema current."""
        migrations = current_app.extensions["migrate"].directory
        checks = {"database": str(health.database_state(migrations))}
        if (storage := _storage_check()) is not None:
            checks[storage[0]] = storage[1]
        ready = all(state == "ok" for state in checks.values())
        response = jsonify(status="ready" if ready else "not_ready", checks=checks)
        response.headers["Cache-Control"] = "no-store"
        if not ready:
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_SECONDS)
        return response

    return bp
