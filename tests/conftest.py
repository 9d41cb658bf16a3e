"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via INTERACT_TEST_DATABASE_URL),
the app, clients, and factories that build departments, staff and cases through the services."""
from __future__ import annotations

import contextvars
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, inspect, text

# Nothing in the tests may touch the developer's instance folder or secret.
_TMP = tempfile.mkdtemp(prefix="interact-test-")
os.environ["INTERACT_INSTANCE_PATH"] = os.path.join(_TMP, "instance")
os.environ.setdefault("INTERACT_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.pop("INTERACT_DATABASE_URL", None)
os.environ.pop("INTERACT_SURFACE", None)

from interact import create_app  # noqa: E402
from interact.domain.db import db  # noqa: E402
from interact.domain.models import User  # noqa: E402
from interact.services import cases as case_service  # noqa: E402
from interact.services import directory, twofactor  # noqa: E402
from interact.services.attachments import Upload  # noqa: E402

PASSWORD = "Correct-Horse-Battery-9"


def _test_database_url() -> str:
    """The database the suite runs against."""
    return os.environ.get("INTERACT_TEST_DATABASE_URL") or "sqlite:///" + os.path.join(_TMP, "test.db")


def reset_database(url: str) -> None:
    """Drop everything in the test database, so migrations start from empty."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            meta = MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def make_app(url: str, surface: str = "all", **overrides):
    """An app for tests, on `url`."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "INTERACT_UPLOAD_DIR": os.path.join(_TMP, "uploads"),
        "SERVER_NAME": None,
        # scrypt costs ~0.1 s a hash; tests that check the production method set it back.
        "INTERACT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
        # Rate limits would trip over the suite's many requests; tests/test_ratelimit.py turns them on.
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config, surface=surface)
    _CREATED_APPS.append(app)
    return app


# Apps built during a test; their connection pools are closed after it, so that no
# connection is left for the garbage collector (a ResourceWarning on PostgreSQL).
_CREATED_APPS: list = []


@pytest.fixture(autouse=True)
def _close_extra_apps():
    """Dispose the engines of every app a test built."""
    yield
    while _CREATED_APPS:
        built = _CREATED_APPS.pop()
        with built.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(scope="session")
def database_url():
    """A database migrated from empty to head once per run; tables are emptied after each test."""
    url = _test_database_url()
    reset_database(url)
    app = make_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        # Rows the migrations seed (e.g. confirmed calendar years) are restored after each test.
        seeded = {}
        for table in db.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in db.session.execute(table.select())]
            if rows:
                seeded[table.name] = rows
        db.session.remove()
        db.engine.dispose()
    return url, seeded


def _empty_tables(seeded: dict) -> None:
    """Delete every row and put the migration-seeded rows back."""
    tables = db.metadata.sorted_tables
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
        for table in tables:
            if table.name in seeded:
                conn.execute(table.insert(), seeded[table.name])


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context, as in production.

    Without this, a request would reuse the test's app context and share `g` (and so the
    logged-in user) and the database session with the test and with other requests.
    """

    def open(self, *args, **kwargs):
        """Commit what the test built, run the request in a clean context, then refresh."""
        outer = db.session if _has_app_ctx() else None
        if outer is not None:
            outer.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if outer is not None:
            outer.expire_all()
        return response


def _has_app_ctx() -> bool:
    """Whether an app context is active."""
    from flask import has_app_context

    return has_app_context()


@pytest.fixture
def app(database_url):
    """The app (all surfaces), with an app context pushed for the test's own service calls."""
    url, seeded = database_url
    app = make_app(url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables(seeded)
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app."""
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = CSRF_RE.search(html)
    assert match, "the page has no csrf_token field"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """GET the page holding the form, then POST `data` with its CSRF token."""
    page = client.get(form_url or url)
    assert page.status_code == 200, f"GET {form_url or url} gave {page.status_code}"
    payload = dict(data)
    payload["csrf_token"] = csrf_from(page.get_data(as_text=True))
    return client.post(url, data=payload, **kwargs)


def login(client, username: str, password: str = PASSWORD):
    """Log a staff user in through the login form (and the code step, for users with 2FA)."""
    response = post_form(client, "/staff/login", {"username": username, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/staff/login/verify"):
        response = post_form(client, "/staff/login/verify", {"code": totp_now(username)})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return response


def totp_now(username: str) -> str:
    """The current TOTP code of a user who has enrolled two-factor authentication.

    A code is accepted once (replays are refused), and tests sign the same user in several
    times within one 30-second step: forgetting the last used step stands for time passing.
    """
    import pyotp
    from sqlalchemy import select, update

    secret = db.session.scalar(select(User.totp_secret).where(User.username == username))
    assert secret, f"{username} has no TOTP secret"
    db.session.execute(update(User).where(User.username == username).values(totp_last_step=None))
    db.session.commit()
    return pyotp.TOTP(secret).now()


@pytest.fixture
def create_department(app):
    """Factory: a department (optionally with a leader mailbox)."""
    counter = iter(range(1, 10_000))

    def create(code: str | None = None, name: str | None = None, mailbox_name: str | None = None):
        n = next(counter)
        dept = directory.create_department(code or f"dept-{n}", name or f"测试部门{n}", mailbox_name)
        db.session.commit()
        return dept

    return create


@pytest.fixture
def create_site(app):
    """Factory: a website owned by a department."""

    def create(department, name: str = "测试网站", url: str = "https://www.example.gov.cn"):
        site = directory.create_site(department.code, name, url)
        db.session.commit()
        return site

    return create


@pytest.fixture
def create_user(app):
    """Factory: a staff user with roles, password PASSWORD."""
    counter = iter(range(1, 10_000))

    def create(*roles: str, department=None, username: str | None = None, email: str | None = None,
               two_factor: bool | None = None) -> User:
        n = next(counter)
        # The test chose the password, so no forced change; admins and reviewers must have 2FA.
        user = directory.create_user(username or f"{'-'.join(roles) or 'user'}{n}", PASSWORD, list(roles),
                                     department.code if department else None, email=email, must_change=False)
        if two_factor if two_factor is not None else twofactor.required(user):
            import pyotp

            twofactor.confirm_enrolment(user, pyotp.TOTP(twofactor.pending_secret(user)).now())
        db.session.commit()
        return user

    return create


@pytest.fixture
def create_token(app):
    """Factory: an API token string for a user."""

    def create(user: User) -> str:
        raw = directory.create_token(user)
        db.session.commit()
        return raw

    return create


@dataclass
class World:
    """A small city: a dispatch office, two departments with staff, a site, an admin and an auditor."""

    office: object
    housing: object
    transport: object
    site: object
    dispatcher: User
    handler: User
    reviewer: User
    other_handler: User
    other_reviewer: User
    admin: User
    auditor: User


@pytest.fixture
def world(create_department, create_site, create_user) -> World:
    """The standard cast for workflow tests."""
    office = create_department("gov-office", "市政府办公厅", mailbox_name="市长信箱")
    housing = create_department("housing", "市住房和城乡建设局")
    transport = create_department("transport", "市交通运输局")
    site = create_site(housing, "市住建局网站", "https://zjj.example.gov.cn")
    return World(
        office=office, housing=housing, transport=transport, site=site,
        dispatcher=create_user("dispatcher", department=office, username="dispatcher"),
        handler=create_user("handler", department=housing, username="handler"),
        reviewer=create_user("reviewer", department=housing, username="reviewer"),
        other_handler=create_user("handler", department=transport, username="other-handler"),
        other_reviewer=create_user("reviewer", department=transport, username="other-reviewer"),
        admin=create_user("admin", username="admin"),
        auditor=create_user("auditor", username="auditor"),
    )


def submission(**fields) -> case_service.Submission:
    """A valid consultation submission, with `fields` changed."""
    data = {
        "kind": "consultation", "title": "公租房申请条件咨询", "content": "请问外地户籍能否申请公租房？",
        "name": "张三", "phone": "13812345678", "email": "zhangsan@example.com", "publish": True,
    }
    data.update(fields)
    return case_service.Submission(**data)


STATUS_PATHS = {
    "submitted": [],
    "assigned": ["dispatch"],
    "handling": ["dispatch", "accept"],
    "pending_review": ["dispatch", "accept", "reply"],
    "replied": ["dispatch", "accept", "reply", "approve"],
    "declined": ["dispatch", "accept", "decline", "approve"],
}


@pytest.fixture
def create_case(app, world):
    """Factory: a case submitted by a citizen and moved to `status` by the world's staff.

    Returns (case, query_code).
    """

    def create(status: str = "submitted", department=None, publish_consent: bool = True,
               publish: bool = True, submitted_at: datetime | None = None, **fields):
        dept = department or world.housing
        sub = submission(publish=publish_consent, **fields)
        case, code = case_service.submit_case(sub, now=submitted_at)
        steps = STATUS_PATHS[status]
        for step in steps:
            if step == "dispatch":
                case_service.dispatch_case(world.dispatcher, case, dept.code)
            elif step == "accept":
                case_service.accept_case(_handler_of(dept), case)
            elif step == "reply":
                case_service.draft_reply(_handler_of(dept), case, "经核实，符合条件的可以申请。")
            elif step == "decline":
                case_service.draft_decline(_handler_of(dept), case, "out_of_scope", "不属于本部门职责。")
            elif step == "approve":
                case_service.review_draft(_reviewer_of(dept), case, "approve", "", publish=publish)
        db.session.commit()
        return case, code

    def _handler_of(dept):
        return world.handler if dept.id == world.housing.id else world.other_handler

    def _reviewer_of(dept):
        return world.reviewer if dept.id == world.housing.id else world.other_reviewer

    return create


def png_bytes(size=(8, 8), color=(200, 30, 30)) -> bytes:
    """A small real PNG image."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal PDF file."""
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def aware(*args) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=timezone.utc)


__all__ = ["PASSWORD", "Upload", "aware", "csrf_from", "inspect", "login", "pdf_bytes", "png_bytes",
           "post_form", "submission", "totp_now"]


class SMTPRecorder:
    """A real SMTP server (aiosmtpd) on localhost that keeps every message it receives."""

    def __init__(self):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages: list = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        """Keep the message, parsed, with its envelope recipients."""
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        """Listen on the chosen port."""
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening (mail sent now fails to connect)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list:
        """The messages delivered to `address`."""
        return [m for m in self.messages if address in m.envelope_to]

    @staticmethod
    def text_of(message) -> str:
        """The plain-text part of a message."""
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html_of(message) -> str:
        """The HTML part of a message."""
        return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def smtp(app):
    """A running SMTP server, with the app's Flask-Mail settings pointed at it."""
    server = SMTPRecorder()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False,
                      MAIL_USE_SSL=False, MAIL_USERNAME=None, MAIL_PASSWORD=None,
                      MAIL_DEFAULT_SENDER="noreply@interact.example.gov.cn")
    # Flask-Mail copies its settings when the app is built, and suppresses sending in testing.
    state = app.extensions["mail"]
    state.server, state.port, state.use_tls, state.use_ssl = "127.0.0.1", server.port, False, False
    state.username = state.password = None
    state.default_sender = "noreply@interact.example.gov.cn"
    state.suppress = False
    yield server
    server.stop()
