"""Reliability against a real deployment (issue 8): the app served by gunicorn (two worker
processes) on 127.0.0.1, migrated and given its staff with the `interact` command line, as the
README deploys it, over the suite's database (a SQLite file of the test's own, or this worker's
PostgreSQL database).

Concurrent conflicting actions, a SIGKILL of every server process under load, a held SQLite
write lock and an SMTP outage (the 2FA QR code is scanned in tests/web/test_totp_qr.py). Nothing is timed: each
wait has a generous upper bound and ends as soon as what it waits for has happened.
"""
from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import pikepdf
import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fixtures.mail import SENDER, SMTPRecorder
from fixtures.values import PASSWORD, free_port
from interact.domain.models import Attachment, Case, CaseEvent, OutboxMessage, OutboxStatus

BIN = Path(sys.executable).parent
# The password each staff user gets at the first sign-in, when the one the CLI set must be changed.
CHANGED_PASSWORD = "Changed-Horse-Battery-7"
# Upper bounds of the waits (never asserted: each wait ends as soon as it can).
START_SECONDS = 60
REQUEST_SECONDS = 30
ROUNDS = 5
RACERS = 8
RECEIPT_RE = re.compile(r'class="case-number">(\d{13})<.*?class="query-code">([^<]+)<', re.S)
FLASH_RE = re.compile(r'<p class="flash flash-(\w+)">([^<]*)</p>')
SUBMISSION_TOKEN_RE = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')


class Server:
    """One gunicorn master (and its workers) in a process group of its own."""

    def __init__(self, env: dict, log: Path):
        """Start gunicorn on a free port of 127.0.0.1; `ready()` waits for it to answer."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
                [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", "30", "--graceful-timeout", "2", "interact.wsgi:app"],
                env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.base + path

    def ready(self) -> Server:
        """Wait until the server answers its home page; fail with its log if it died or never did."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(self.url("/"), timeout=REQUEST_SECONDS).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("gunicorn did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (the whole process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(REQUEST_SECONDS)
        # The workers are the master's children in its group; none may outlive it.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL whatever is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(REQUEST_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class Deployment:
    """An install in a temporary folder: its environment, its database, its command line, its servers."""

    def __init__(self, folder: Path, url: str, smtp_port: int):
        """Point every INTERACT_* setting at `folder` and `url`; nothing runs yet."""
        self.folder = folder
        self.url = url
        self.servers: list[Server] = []
        self.passwords: dict[str, str] = {}
        self.env = {
            **os.environ,
            "INTERACT_DATABASE_URL": url,
            "INTERACT_INSTANCE_PATH": str(folder / "instance"),
            "INTERACT_UPLOAD_DIR": str(folder / "uploads"),
            "INTERACT_SECRET_KEY": "reliability-test-secret-key",
            # Thousands of requests from one address in seconds; rate limits are tested elsewhere.
            "INTERACT_RATELIMIT_ENABLED": "0",
            "INTERACT_PASSWORD_METHOD": "pbkdf2:sha256:1000",
            "INTERACT_MAIL_SERVER": "127.0.0.1",
            "INTERACT_MAIL_PORT": str(smtp_port),
            "INTERACT_MAIL_DEFAULT_SENDER": SENDER,
            # The backoff's floor (1 s), so a retry is due right after the outage.
            "INTERACT_MAIL_RETRY_SECONDS": "1",
        }
        self.engine = create_engine(url)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run `interact ARGS` in this install's environment; fail the test when it fails."""
        done = subprocess.run([str(BIN / "interact"), *args], env=self.env, input=stdin,  # noqa: S603
                              capture_output=True, text=True, timeout=START_SECONDS, cwd=self.folder)
        assert done.returncode == 0, f"interact {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done

    def add_user(self, username: str, role: str, department: str) -> None:
        """Create a staff account with the CLI (its password must be changed at the first sign-in)."""
        self.cli("users", "add", username, "--role", role, "--department", department, "--password-stdin",
                 stdin=PASSWORD + "\n")
        self.passwords[username] = PASSWORD

    def token(self, username: str) -> str:
        """A new staff API token of `username` (the last line `interact tokens create` prints)."""
        return self.cli("tokens", "create", username).stdout.strip().splitlines()[-1]

    def start(self) -> Server:
        """Start a gunicorn over this install and wait until it answers."""
        server = Server(self.env, self.folder / "gunicorn.log")
        self.servers.append(server)
        return server.ready()

    def session(self) -> Session:
        """A database session of the test's own, to check what the server stored."""
        return Session(self.engine)

    def stop(self) -> None:
        """Stop every server started and close the test's connections."""
        for server in self.servers:
            server.stop()
        self.engine.dispose()


# The staff every install gets from the command line: username -> (role, department).
STAFF = {"dispatcher": ("dispatcher", "gov-office"), "handler": ("handler", "housing")}


def provision(install: Deployment) -> None:
    """Migrate with `interact db upgrade`, then add the departments and staff with the CLI."""
    install.cli("db", "upgrade")
    install.cli("departments", "add", "gov-office", "市政府办公厅", "--mailbox", "市长信箱")
    install.cli("departments", "add", "housing", "市住房和城乡建设局")
    for username, (role, department) in STAFF.items():
        install.add_user(username, role, department)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file provisioned through the CLI once per module; each test gets a copy (~2 s a command)."""
    folder = tmp_path_factory.mktemp("template")
    install = Deployment(folder, "sqlite:///" + str(folder / "interact.db"), free_port())
    try:
        provision(install)
    finally:
        install.stop()
    return folder / "interact.db"


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database with SQLite's own backup (whatever its WAL holds)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture
def deployment(request, tmp_path):
    """A migrated install with two departments, a dispatcher and a handler; its servers always stopped.

    SQLite: a file in the test's temporary folder (a copy of the module's provisioned one).
    PostgreSQL (INTERACT_TEST_DATABASE_URL): this worker's test database, emptied before and after
    (the server's writes are not seen by the suite's cleanup) and provisioned for the test.
    """
    postgres = bool(os.environ.get("INTERACT_TEST_DATABASE_URL"))
    if postgres:
        database = request.getfixturevalue("test_database")
        database.clean(everything=True)
        request.addfinalizer(lambda: database.clean(everything=True))
        url = database.url
    else:
        url = "sqlite:///" + str(tmp_path / "interact.db")
        copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "interact.db")
    smtp = SMTPRecorder()  # its port only; a test that wants mail starts it
    install = Deployment(tmp_path, url, smtp.port)
    install.smtp = smtp
    try:
        if postgres:
            provision(install)
        else:
            install.passwords = dict.fromkeys(STAFF, PASSWORD)
        yield install
    finally:
        install.stop()
        smtp.stop()


def case_body(n: int, **fields) -> dict:
    """A valid consultation for the public API, told apart by `n`."""
    return {"kind": "consultation", "title": f"第{n}号咨询：公租房申请条件", "phone": "13812345678",
            "content": f"第{n}号来信：请问外地户籍能否申请公租房？", "name": "张三", "publish": False, **fields}


def submit(server: Server, n: int, **fields) -> dict:
    """Submit a consultation through the public API; its receipt."""
    response = requests.post(server.url("/api/v1/cases"), json=case_body(n, **fields), timeout=REQUEST_SECONDS)
    assert response.status_code == 201, response.text
    return response.json()


def staff_api(server: Server, token: str, number: str, action: str, body: dict | None = None):
    """Take a workflow action through the staff API."""
    return requests.post(server.url(f"/api/v1/staff/cases/{number}/{action}"), json=body or {},
                         headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_SECONDS)


def sign_in(install: Deployment, server: Server, username: str, csrf_from) -> requests.Session:
    """A browser session of a staff user, through the sign-in form (and the forced password change)."""
    browser = requests.Session()
    form = browser.get(server.url("/staff/login"), timeout=REQUEST_SECONDS)
    browser.post(server.url("/staff/login"), timeout=REQUEST_SECONDS, data={
        "username": username, "password": install.passwords[username], "csrf_token": csrf_from(form.text)})
    page = browser.get(server.url("/staff/"), timeout=REQUEST_SECONDS)
    if urlparse(page.url).path == "/staff/account/password":
        changed = browser.post(page.url, timeout=REQUEST_SECONDS, data={
            "current_password": install.passwords[username], "new_password": CHANGED_PASSWORD,
            "confirm_password": CHANGED_PASSWORD, "csrf_token": csrf_from(page.text)})
        assert changed.status_code == 200, changed.text[:500]
        install.passwords[username] = CHANGED_PASSWORD
        page = browser.get(server.url("/staff/"), timeout=REQUEST_SECONDS)
    assert page.status_code == 200 and urlparse(page.url).path == "/staff/", page.url
    return browser


def at_once(calls: list) -> list:
    """Run every call in a thread of its own, released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(REQUEST_SECONDS)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def event_count(install: Deployment, number: str, action: str) -> int:
    """How many events of `action` the case `number` has in the database."""
    with install.session() as s:
        return s.scalar(select(func.count()).select_from(CaseEvent).join(Case, CaseEvent.case_id == Case.id)
                        .where(Case.number == number, CaseEvent.action == action))


def flashes(html: str) -> list[tuple[str, str]]:
    """The (category, message) flash messages of a page."""
    return FLASH_RE.findall(html)


# --- a. concurrent conflicting actions -----------------------------------------------------------

def test_racing_replies_to_one_case_succeed_once_over_pages_and_api(deployment, csrf_from):
    server = deployment.start()
    dispatcher, handler = deployment.token("dispatcher"), deployment.token("handler")
    browsers = [sign_in(deployment, server, "handler", csrf_from) for _ in range(RACERS)]
    tokens = [csrf_from(b.get(server.url("/staff/"), timeout=REQUEST_SECONDS).text) for b in browsers]
    for round_no in range(ROUNDS):
        numbers = []
        for _ in range(2):
            number = submit(server, round_no)["number"]
            assert staff_api(server, dispatcher, number, "dispatch", {"department": "housing"}).status_code == 200
            assert staff_api(server, handler, number, "accept").status_code == 200
            numbers.append(number)
        by_page, by_api = numbers

        # The same handler in several browser tabs: each posts the reply form at the same moment.
        pages = at_once([
            partial(b.post, server.url(f"/staff/cases/{by_page}/reply"), timeout=REQUEST_SECONDS,
                    data={"csrf_token": t, "text": f"第{round_no}轮网页答复{i}"})
            for i, (b, t) in enumerate(zip(browsers, tokens, strict=True))])
        # The winner is redirected to the case page with its success message; every loser gets a
        # 409 page saying why, with a link back to the case.
        won = [p for p in pages if p.status_code == 200 and urlparse(p.url).path == f"/staff/cases/{by_page}"
               and any(kind == "success" and "已完成" in text for kind, text in flashes(p.text))]
        lost = [p for p in pages if p.status_code == 409 and "不能执行" in p.text
                and f'href="/staff/cases/{by_page}"' in p.text]
        assert len(won) == 1 and len(lost) == RACERS - 1, [(p.status_code, p.text[:300]) for p in pages]
        assert event_count(deployment, by_page, "reply") == 1

        # The same through the API: one 200, every other racer 409 with a message to show.
        answers = at_once([
            partial(staff_api, server, handler, by_api, "reply", {"text": f"第{round_no}轮接口答复{i}"})
            for i in range(RACERS)])
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] + [409] * (RACERS - 1), [a.text[:200] for a in answers]
        assert all(a.json()["message"].strip() for a in answers if a.status_code == 409)
        assert event_count(deployment, by_api, "reply") == 1


# --- b. SIGKILL of every server process under load, then a restart --------------------------------

def pdf_of(n: int) -> bytes:
    """A one-page PDF told apart by `n` (PDFs are stored as sent; images are re-encoded)."""
    out = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.docinfo["/Title"] = f"材料 {n}"
        pdf.save(out, static_id=True)
    return out.getvalue()


def submit_form(server: Server, n: int, csrf_from) -> tuple[str, str]:
    """Submit the HTML form with an attachment as a browser does; (number, code) from its receipt."""
    browser = requests.Session()
    html = browser.get(server.url("/cases/new/consultation"), timeout=REQUEST_SECONDS).text
    body = case_body(n)
    data = {"title": body["title"], "content": body["content"], "name": body["name"], "phone": body["phone"],
            "publish": "n", "csrf_token": csrf_from(html), "submission_token": SUBMISSION_TOKEN_RE.search(html).group(1)}
    receipt = browser.post(server.url("/cases/new/consultation"), data=data, timeout=REQUEST_SECONDS,
                           files={"attachments": (f"材料{n}.pdf", pdf_of(n), "application/pdf")})
    assert receipt.status_code == 200, receipt.text[:500]
    number, code = RECEIPT_RE.search(receipt.text).groups()
    return number, code


def test_every_acknowledged_submission_survives_a_sigkill_of_all_server_processes(deployment, csrf_from):
    server = deployment.start()
    acknowledged: dict[int, tuple[str, str, bool]] = {}  # n -> (number, code, with attachment)
    enough = threading.Event()
    counter = iter(range(10_000))
    lock = threading.Lock()

    def citizen() -> None:
        """Submit until the server goes away, alternating the API and the form with a file."""
        while True:
            with lock:
                n = next(counter)
            try:
                if n % 2:
                    receipt = submit(server, n)
                    acked = (receipt["number"], receipt["query_code"], False)
                else:
                    acked = (*submit_form(server, n, csrf_from), True)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                return  # no acknowledgement: the citizen would try again
            except BaseException:
                enough.set()  # a refusal before the kill: the test reports it below
                raise
            with lock:
                acknowledged[n] = acked
                if len(acknowledged) >= 12:
                    enough.set()

    with ThreadPoolExecutor(6) as pool:
        citizens = [pool.submit(citizen) for _ in range(6)]
        assert enough.wait(START_SECONDS), "no submission was acknowledged"
        for done in citizens:
            if done.done():
                done.result()  # a citizen that stopped before the kill stopped on an error
        server.kill()  # mid-load: other submissions are in flight in both workers
        for done in citizens:
            done.result(REQUEST_SECONDS)

    again = deployment.start()
    # What the kill interrupted: files written for transactions that never committed, and files of
    # committed ones not yet moved into place. The sweep (from cron) clears both; here the files
    # are made to look old enough for it.
    uploads = deployment.folder / "uploads"
    for path in uploads.iterdir():
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    deployment.cli("attachments", "sweep", "--older-than", "30")
    dispatcher = sign_in(deployment, again, "dispatcher", csrf_from)
    token = deployment.token("dispatcher")
    for n, (number, code, with_file) in acknowledged.items():
        case = requests.get(again.url(f"/api/v1/cases/{number}"), headers={"X-Query-Code": code},
                            timeout=REQUEST_SECONDS)
        assert case.status_code == 200, (n, case.text)
        assert (case.json()["title"], case.json()["content"]) == (case_body(n)["title"], case_body(n)["content"])
        staff = requests.get(again.url(f"/api/v1/staff/cases/{number}"), timeout=REQUEST_SECONDS,
                             headers={"Authorization": f"Bearer {token}"}).json()
        assert len(staff["attachments"]) == (1 if with_file else 0), staff["attachments"]
        if with_file:
            stored = dispatcher.get(again.url(f"/staff/cases/{number}/attachments/{staff['attachments'][0]['id']}"),
                                    timeout=REQUEST_SECONDS)
            assert stored.status_code == 200 and stored.content == pdf_of(n)
    # After the sweep, exactly the files of the committed rows are left, each under its final name.
    with deployment.session() as s:
        names = s.scalars(select(Attachment.stored_name)).all()
    assert sorted(path.name for path in uploads.iterdir()) == sorted(names)


# --- c. a held SQLite write lock ----------------------------------------------------------------

def test_a_held_sqlite_lock_is_503_with_retry_after_then_the_same_requests_succeed(deployment, csrf_from):
    if make_url(deployment.url).get_backend_name() != "sqlite":
        pytest.skip("a database-wide write lock held by another process is SQLite's; "
                    "tests/web/test_database_outage.py covers an unreachable PostgreSQL")
    server = deployment.start()
    browser = requests.Session()
    html = browser.get(server.url("/cases/new/consultation"), timeout=REQUEST_SECONDS).text
    body = case_body(1)
    form = {"title": body["title"], "content": body["content"], "name": body["name"], "phone": body["phone"],
            "publish": "n", "csrf_token": csrf_from(html), "submission_token": SUBMISSION_TOKEN_RE.search(html).group(1)}
    held, answered = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        """Another process's writer: hold the write lock until both requests were answered."""
        other = sqlite3.connect(make_url(deployment.url).database, timeout=REQUEST_SECONDS)
        try:
            other.execute("BEGIN IMMEDIATE")
            held.set()
            answered.wait(START_SECONDS)  # well past the app's 5-second busy timeout
        finally:
            other.rollback()
            other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(REQUEST_SECONDS)
        api, page = at_once([
            lambda: requests.post(server.url("/api/v1/cases"), json=body, timeout=START_SECONDS),
            lambda: browser.post(server.url("/cases/new/consultation"), data=form, timeout=START_SECONDS,
                                 allow_redirects=False)])
    finally:
        answered.set()
        holder.join(REQUEST_SECONDS)
    for response in (api, page):
        assert response.status_code == 503, response.text[:500]
        assert response.headers["Retry-After"].isdigit()
    assert api.headers["Content-Type"].startswith("application/json") and api.json()["message"]
    assert page.headers["Content-Type"].startswith("text/html") and "系统繁忙" in page.text
    # The lock is gone: the same requests succeed, in the same server processes.
    assert requests.post(server.url("/api/v1/cases"), json=body, timeout=REQUEST_SECONDS).status_code == 201
    resent = browser.post(server.url("/cases/new/consultation"), data=form, timeout=REQUEST_SECONDS)
    assert resent.status_code == 200 and RECEIPT_RE.search(resent.text), resent.text[:500]
    with deployment.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 2


# --- d. an SMTP outage ---------------------------------------------------------------------------

def test_mail_queued_during_an_smtp_outage_is_delivered_once_after_it(deployment):
    server = deployment.start()
    addresses = [f"citizen{n}@example.com" for n in range(3)]
    numbers = [submit(server, n, email=address)["number"] for n, address in enumerate(addresses)]

    down = deployment.cli("mail", "send")  # nothing listens on the mail port yet
    with deployment.session() as s:
        waiting = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient.in_(addresses))).all()
        assert sorted(m.recipient for m in waiting) == addresses, down.stdout
        # The first attempt found no server; the rest were left for the next run, all still pending.
        assert all(m.status == OutboxStatus.pending and m.sent_at is None for m in waiting)
        assert sorted(m.attempts for m in waiting) == [0, 0, 1]
        assert "已发送 0 封，失败待重试 1 封" in down.stdout, down.stdout
        due = max(m.next_attempt_at for m in waiting)
    deployment.smtp.start()
    while datetime.now(UTC) <= due:  # the retry's backoff is the 1-second floor: wait until it is due
        time.sleep(0.2)
    runs = [deployment.cli("mail", "send").stdout for _ in range(2)]
    assert "已发送 3 封" in runs[0] and "已发送 0 封" in runs[1], runs
    received = deployment.smtp.messages
    assert sorted(a for m in received for a in m.envelope_to) == addresses
    for address, number in zip(addresses, numbers, strict=True):
        assert number in SMTPRecorder.text_of(deployment.smtp.to(address)[0])
