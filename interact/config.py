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
        # Links in mail point here: the public site, and the back office (intranet) for staff.
        "INTERACT_PUBLIC_URL": env("PUBLIC_URL", "http://127.0.0.1:5000"),
        "INTERACT_STAFF_URL": env("STAFF_URL", "http://127.0.0.1:5000"),
        # Flask-Mail, from INTERACT_MAIL_*.
        "MAIL_SERVER": env("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USE_TLS": env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": env("MAIL_USERNAME"),
        "MAIL_PASSWORD": env("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "noreply@localhost"),
        "INTERACT_MAIL_MAX_ATTEMPTS": int(env("MAIL_MAX_ATTEMPTS", "8")),
        "INTERACT_MAIL_RETRY_SECONDS": int(env("MAIL_RETRY_SECONDS", "60")),
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
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env_bool("COOKIE_SECURE", production),
        # Staff authentication (MLPS level 3, OWASP ASVS level 2); see README, "Passwords and sessions".
        "INTERACT_PASSWORD_METHOD": env("PASSWORD_METHOD", "scrypt"),
        "INTERACT_PASSWORD_MIN_CLASSES": int(env("PASSWORD_MIN_CLASSES", "3")),
        "INTERACT_PASSWORD_MAX_AGE_DAYS": int(env("PASSWORD_MAX_AGE_DAYS", "90")),
        "INTERACT_PASSWORD_HISTORY": int(env("PASSWORD_HISTORY", "5")),
        "INTERACT_LOCKOUT_THRESHOLD": int(env("LOCKOUT_THRESHOLD", "5")),
        "INTERACT_LOCKOUT_WINDOW_MINUTES": int(env("LOCKOUT_WINDOW_MINUTES", "15")),
        "INTERACT_LOCKOUT_MINUTES": int(env("LOCKOUT_MINUTES", "15")),
        "INTERACT_LOCKOUT_IP_THRESHOLD": int(env("LOCKOUT_IP_THRESHOLD", "20")),
        "INTERACT_SESSION_IDLE_MINUTES": int(env("SESSION_IDLE_MINUTES", "30")),
        "INTERACT_SESSION_MAX_HOURS": int(env("SESSION_MAX_HOURS", "12")),
        # Unset: the platform's translated name (see services/twofactor.py).
        "INTERACT_TOTP_ISSUER": env("TOTP_ISSUER"),
        "WTF_CSRF_TIME_LIMIT": None,
        # Web hardening; see README, "Configuration" and "Deploying the two surfaces".
        # How many reverse proxies stand in front (their X-Forwarded-For/-Proto/-Host are trusted).
        "INTERACT_PROXY_COUNT": int(env("PROXY_COUNT", "0")),
        # CIDR list; when set, the staff surface answers 404 to every other client address.
        "INTERACT_STAFF_ALLOWED_NETWORKS": env("STAFF_ALLOWED_NETWORKS", ""),
        # Rate limits (Flask-Limiter syntax), per client address; Redis when several processes run.
        "RATELIMIT_ENABLED": env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": env("RATELIMIT_KEY_PREFIX", "interact"),
        "INTERACT_RATELIMIT_SUBMIT": env("RATELIMIT_SUBMIT", "10 per hour; 3 per minute"),
        "INTERACT_RATELIMIT_LOOKUP": env("RATELIMIT_LOOKUP", "20 per minute; 100 per hour"),
        "INTERACT_RATELIMIT_LOGIN": env("RATELIMIT_LOGIN", "10 per minute"),
        # Seconds an image CAPTCHA may be answered in.
        "INTERACT_CAPTCHA_SECONDS": int(env("CAPTCHA_SECONDS", "300")),
        # Art. 25: the audit trail is kept at least six months; see audit_retention_days().
        "INTERACT_AUDIT_RETENTION_DAYS": audit_retention_days(),
        # Statement parameters hold citizens' names, phone and ID numbers: keep them out of
        # exception messages and SQL logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    }


# The legal minimum of INTERACT_AUDIT_RETENTION_DAYS (Art. 25: at least six months).
MIN_AUDIT_RETENTION_DAYS = 180


def audit_retention_days() -> int:
    """INTERACT_AUDIT_RETENTION_DAYS (default 180); a lower value stops the app from starting."""
    days = int(env("AUDIT_RETENTION_DAYS", str(MIN_AUDIT_RETENTION_DAYS)))
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise RuntimeError(f"INTERACT_AUDIT_RETENTION_DAYS={days} is below the minimum of "
                           f"{MIN_AUDIT_RETENTION_DAYS} days: the audit retention can only be raised")
    return days
