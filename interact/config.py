"""Configuration read from INTERACT_* environment variables, with development defaults."""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

SURFACES = ("public", "staff", "all")

_BOOL_TRUE = {"1", "true", "yes", "on"}


def env(name: str, default: str | None = None) -> str | None:
    """Return the INTERACT_-prefixed environment variable `name`."""
    return os.environ.get(f"INTERACT_{name}", default)


def env_bool(name: str, default: bool) -> bool:
    """Return an INTERACT_ boolean variable ("1", "true", "yes", "on")."""
    raw = env(name)
    return default if raw is None else raw.strip().lower() in _BOOL_TRUE


# --- private files ----------------------------------------------------------------------------
# The instance folder, the SQLite database, the secret key, the uploads and the mail lock hold
# personal data or secrets: only the account running the platform may read them. Each is created
# with these modes passed to mkdir/open (the umask can only take bits away, never add any), and
# tightened at start-up when an older version left it readable by others.
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# The files SQLite keeps beside a database; it creates them with the database file's own mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
# The generated development secret key, in the instance folder.
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def make_private(path: str | os.PathLike) -> None:
    """Take group and other permissions off `path`, if it exists and belongs to this account."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    # Another account's file (a folder an operator shares, /tmp) is theirs to set, and chmod would fail.
    if st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)


def private_folder(path: str | os.PathLike) -> Path:
    """Create the folder `path` owner-only (missing parents as usual), or tighten it if it exists."""
    folder = Path(path)
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    make_private(folder)
    return folder


def create_private_file(path: str | os.PathLike) -> None:
    """Create `path` empty and owner-only if it is missing, else tighten it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        make_private(path)


def sqlite_file(url: str | None, instance_path: str) -> Path | None:
    """The database file of an SQLite URL; None for another database or one in memory."""
    if not url:
        return None
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    # Flask-SQLAlchemy opens a relative path inside the instance folder, not the working directory.
    return Path(instance_path, name)


def secure_sqlite_file(url: str | None, instance_path: str) -> None:
    """Create an SQLite database file owner-only before SQLite does (it would use 0644), tighten its companions."""
    path = sqlite_file(url, instance_path)
    if path is None or not path.parent.is_dir():
        return  # a missing folder is SQLite's error to report, as before
    create_private_file(path)
    for suffix in SQLITE_COMPANIONS:
        make_private(f"{path}{suffix}")


def dev_secret_key(instance_path: str) -> str:
    """Return the development secret key kept in the instance folder, creating it once."""
    path = Path(instance_path) / SECRET_KEY_FILE
    if path.exists():
        make_private(path)
        return path.read_text().strip()
    private_folder(path.parent)
    key = secrets.token_hex(32)
    # Created private so that other local users cannot forge sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
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
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URL") or env("REDIS_URL") or "memory://",
        "RATELIMIT_KEY_PREFIX": env("RATELIMIT_KEY_PREFIX", "interact"),
        "INTERACT_RATELIMIT_SUBMIT": env("RATELIMIT_SUBMIT", "10 per hour; 3 per minute"),
        "INTERACT_RATELIMIT_SUBSCRIBE": env("RATELIMIT_SUBSCRIBE", "10 per hour; 3 per minute"),
        "INTERACT_RATELIMIT_LOOKUP": env("RATELIMIT_LOOKUP", "20 per minute; 100 per hour"),
        "INTERACT_RATELIMIT_LOGIN": env("RATELIMIT_LOGIN", "10 per minute"),
        # Shared state of several processes or hosts (page cache; rate limits unless set apart).
        "INTERACT_REDIS_URL": env("REDIS_URL"),
        # CIDR list allowed to read /metrics on a public host (the staff surface has its allow-list).
        "INTERACT_METRICS_ALLOWED_NETWORKS": env("METRICS_ALLOWED_NETWORKS", ""),
        # Anonymous public pages rendered once per public state (see interact/web/pagecache.py).
        "INTERACT_PAGE_CACHE": env_bool("PAGE_CACHE", True),
        "INTERACT_PAGE_CACHE_SECONDS": int(env("PAGE_CACHE_SECONDS", "600")),
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
