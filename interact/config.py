"""Configuration read from INTERACT_* environment variables, with development defaults."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

SURFACES = ("public", "staff", "all")

_BOOL_TRUE = {"1", "true", "yes", "on"}


def env(name: str, default: str | None = None) -> str | None:
    """Return the INTERACT_-prefixed environment variable `name`."""
    return os.environ.get(f"INTERACT_{name}", default)


def env_bool(name: str, default: bool) -> bool:
    """Return an INTERACT_ boolean variable ("1", "true", "yes", "on")."""
    raw = env(name)
    return default if raw is None else raw.strip().lower() in _BOOL_TRUE


def dev_secret_key(instance_path: str) -> str:
    """Return the development secret key kept in the instance folder, creating it once."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created private so that other local users cannot forge sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(instance_path: str) -> dict:
    """Build the configuration mapping from the environment."""
    production = env("ENV", "development") == "production"
    secret = env("SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("INTERACT_SECRET_KEY must be set when INTERACT_ENV=production")
        secret = dev_secret_key(instance_path)
    database_url = env("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "interact.db")
    upload_dir = env("UPLOAD_DIR") or str(Path(instance_path) / "uploads")
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INTERACT_TIMEZONE": env("TIMEZONE", "Asia/Shanghai"),
        "INTERACT_UPLOAD_DIR": upload_dir,
        "INTERACT_MAX_UPLOAD_BYTES": int(env("MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
        "INTERACT_MAX_ATTACHMENTS": int(env("MAX_ATTACHMENTS", "5")),
        "INTERACT_TOKEN_DAYS": int(env("TOKEN_DAYS", "90")),
        # Keyed into query-code hashes; defaults to the secret key. Changing it voids issued codes.
        "INTERACT_QUERY_CODE_PEPPER": env("QUERY_CODE_PEPPER"),
        # The whole request may carry every attachment plus the form itself.
        "MAX_CONTENT_LENGTH": int(env("MAX_REQUEST_BYTES", str(26 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": env("TIMEZONE", "Asia/Shanghai"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_bool("COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
