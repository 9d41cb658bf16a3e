"""The mail outbox (issue 4, section 1): written in the change's transaction, sent by
`interact mail send` through a real SMTP server, retried with backoff, given up after N
failures and requeued by an administrator, and never sent twice, even by two senders at once."""
from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from interact.domain.db import db
from interact.domain.models import AuditEntry, OutboxMessage
from interact.services import cases as case_service
from interact.services import mail
from interact.services.tx import unit_of_work
from interact.domain.timeutil import utcnow


@pytest.fixture
def queue_many(submission):
    """queue_many(n: int, template: str='case_receipt'): submit `n` cases, each with its own citizen address; return the addresses."""

    def queue_many(n: int, template: str = "case_receipt") -> list[str]:
        """Submit `n` cases, each with its own citizen address; return the addresses."""
        addresses = []
        for i in range(n):
            address = f"citizen{i}@example.com"
            with unit_of_work():
                case_service.submit_case(submission(email=address))
            addresses.append(address)
        return addresses

    return queue_many


def outbox(status: str | None = None) -> list[OutboxMessage]:
    """The outbox rows, optionally of one status, freshly read."""
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(db.session.scalars(stmt))


def later(monkeypatch, delta: timedelta) -> None:
    """Move the sender's clock forward by `delta`."""
    moment = utcnow() + delta
    monkeypatch.setattr(mail, "utcnow", lambda: moment)


# --- what goes out ------------------------------------------------------------------------------

def test_a_sent_mail_has_a_text_and_an_html_part_a_chinese_subject_and_its_stored_headers(app, smtp, submission):
    with unit_of_work():
        case, _code = case_service.submit_case(submission(email="wang@example.com"))
        mail.queue("reader@example.com", "case_receipt", case=case, greeting="王*",
                   headers={"List-Unsubscribe": "<https://example.gov.cn/unsubscribe/abc>"})
    report = mail.send_due()
    assert report == mail.SendReport(sent=2, failed=0, dead=0)
    message = smtp.to("reader@example.com")[0]
    assert message.envelope_to == ["reader@example.com"]
    assert str(message["Subject"]) == f"您的来信已收到（办件编号 {case.number}）"
    assert message["List-Unsubscribe"] == "<https://example.gov.cn/unsubscribe/abc>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == "noreply@interact.example.gov.cn"
    # Flask-Mail wraps the two alternatives of one message in a mixed container.
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html"]
    assert case.number in smtp.text_of(message) and "<p>" not in smtp.text_of(message)
    assert case.number in smtp.html_of(message) and "<p>" in smtp.html_of(message)
    sent = outbox("sent")
    assert len(sent) == 2 and all(m.sent_at is not None and m.attempts == 1 for m in sent)


def test_a_rolled_back_change_queues_nothing(app, smtp, submission):
    with pytest.raises(RuntimeError), unit_of_work():
        case_service.submit_case(submission(email="rollback@example.com"))
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1  # queued inside…
        raise RuntimeError("the change fails after the mail was queued")
    assert outbox() == []  # …and gone with the rollback
    assert mail.send_due() == mail.SendReport()
    assert smtp.messages == []


def test_a_committed_change_keeps_its_mail_until_it_is_sent(app, smtp, submission):
    with unit_of_work():
        case_service.submit_case(submission(email="kept@example.com"))
    assert [m.recipient for m in outbox("pending")] == ["kept@example.com"]
    assert smtp.messages == []  # nothing leaves before a sender runs
    mail.send_due()
    assert len(smtp.to("kept@example.com")) == 1


def test_a_deduplicated_message_is_queued_once_ever(app, submission):
    with unit_of_work():
        case, _code = case_service.submit_case(submission(email=""))
        first = mail.queue("a@example.com", "case_receipt", dedupe_key="k1", case=case, greeting="张*")
        second = mail.queue("a@example.com", "case_receipt", dedupe_key="k1", case=case, greeting="张*")
    assert first is not None and second is None
    assert len(outbox()) == 1


# --- failures, retries, dead messages ---------------------------------------------------------------

def test_the_retry_delay_doubles_with_each_failure_and_is_capped(app):
    app.config["INTERACT_MAIL_RETRY_SECONDS"] = 60
    assert [mail.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert mail.backoff(50) == mail.MAX_BACKOFF == timedelta(hours=6)


def test_with_the_server_down_mail_stays_queued_and_after_a_restart_goes_out_exactly_once(
        app, smtp, runner, monkeypatch, queue_many):
    addresses = queue_many(4)
    smtp.stop()
    before = utcnow()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output  # failures wait; they are not an error of the run
    assert "失败待重试 1 封" in result.output
    rows = outbox()
    assert all(m.status == "pending" for m in rows) and smtp.messages == []
    # The unreachable server is charged to the message tried; the others wait untouched.
    tried = [m for m in rows if m.attempts]
    assert len(tried) == 1 and tried[0].last_error and "Connection" in tried[0].last_error
    assert tried[0].next_attempt_at >= before + timedelta(seconds=app.config["INTERACT_MAIL_RETRY_SECONDS"])
    assert all(m.last_error is None and m.attempts == 0 for m in rows if m is not tried[0])

    smtp.start()
    # Right after the restart the failed message is not yet due again; the others are.
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "已发送 3 封" in result.output
    assert tried[0].recipient not in {r for m in smtp.messages for r in m.envelope_to}

    later(monkeypatch, timedelta(hours=1))
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "已发送 1 封" in result.output
    assert Counter(r for m in smtp.messages for r in m.envelope_to) == Counter(addresses)
    result = runner.invoke(args=["mail", "send"])
    assert "已发送 0 封" in result.output
    assert len(smtp.messages) == 4
    assert all(m.status == "sent" for m in outbox())


def test_a_message_that_fails_on_its_own_does_not_hold_up_the_others(app, smtp, submission):
    with unit_of_work():
        case, _code = case_service.submit_case(submission(email="good@example.com"))
        # A header injection attempt: Flask-Mail refuses to send it.
        mail.queue("bad@example.com\r\nBcc: victim@example.com", "case_receipt", case=case, greeting="张*")
    report = mail.send_due()
    assert report.sent == 1 and report.failed == 1
    assert [m.envelope_to for m in smtp.messages] == [["good@example.com"]]
    bad = next(m for m in outbox() if m.status == "pending")
    assert bad.attempts == 1 and "BadHeaderError" in bad.last_error


def test_after_the_maximum_of_failures_a_message_is_dead_shown_to_admins_and_can_be_requeued(
        app, smtp, world, client, login, post_form, submission):
    app.config.update(INTERACT_MAIL_MAX_ATTEMPTS=3, INTERACT_MAIL_RETRY_SECONDS=10)
    with unit_of_work():
        case_service.submit_case(submission(email="later@example.com"))
    smtp.stop()
    now = utcnow()
    reports = []
    for _ in range(3):
        reports.append(mail.send_due(now=now))
        now += timedelta(hours=7)  # past any backoff
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    dead = outbox("dead")
    assert len(dead) == 1 and dead[0].attempts == 3
    assert mail.send_due(now=now + timedelta(days=30)) == mail.SendReport()  # never retried by itself

    login(client, "admin")
    page = client.get("/staff/admin/outbox").get_data(as_text=True)
    assert "later@example.com" in page and dead[0].subject in page and dead[0].last_error.split(":")[0] in page
    assert 'id="outbox-dead">1<' in page

    response = post_form(client, "/staff/admin/outbox/requeue", {"message_id": str(dead[0].id)},
                         form_url="/staff/admin/outbox")
    assert response.status_code == 302
    row = outbox()[0]
    assert row.status == "pending" and row.attempts == 0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.requeue")).one()
    assert entry.username == "admin" and entry.object_id == str(row.id) and entry.outcome == "success"
    assert "later@example.com" not in entry.details  # no addresses in the audit trail

    smtp.start()
    assert mail.send_due().sent == 1
    assert len(smtp.to("later@example.com")) == 1
    # A message that is not dead cannot be requeued; the refusal is audited too.
    response = post_form(client, "/staff/admin/outbox/requeue", {"message_id": str(row.id)},
                         form_url="/staff/admin/outbox")
    assert response.status_code == 409
    refused = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.requeue",
                                                          AuditEntry.outcome == "failure")).all()
    assert len(refused) == 1


def test_only_administrators_see_the_outbox(app, world, client, login):
    login(client, "dispatcher")
    assert client.get("/staff/admin/outbox").status_code == 403
    client = app.test_client()
    assert client.get("/staff/admin/outbox").status_code in (302, 401)


def test_the_command_line_lists_dead_messages_and_requeues_them(app, smtp, runner, submission):
    app.config["INTERACT_MAIL_MAX_ATTEMPTS"] = 1
    with unit_of_work():
        case_service.submit_case(submission(email="cli@example.com"))
    smtp.stop()
    assert runner.invoke(args=["mail", "send"]).exit_code == 0
    listing = runner.invoke(args=["mail", "list", "--dead"])
    assert listing.exit_code == 0 and "cli@example.com" in listing.output and "已放弃 1 封" in listing.output
    message_id = outbox("dead")[0].id
    result = runner.invoke(args=["mail", "requeue", str(message_id)])
    assert result.exit_code == 0, result.output
    assert outbox()[0].status == "pending"
    assert runner.invoke(args=["mail", "requeue", str(message_id)]).exit_code == 1  # not dead any more
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.requeue")).one()
    assert entry.username.startswith("cli:")
    pending = runner.invoke(args=["mail", "list"])
    assert "cli@example.com" in pending.output and "待发送 1 封" in pending.output


def test_mail_send_fails_only_on_a_configuration_error(app, smtp, runner, queue_many):
    queue_many(1)
    state = app.extensions["mail"]
    state.server = ""
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 1 and "邮件设置有误" in result.output
    assert outbox()[0].attempts == 0  # nothing was tried
    state.server = "127.0.0.1"
    state.default_sender = None
    assert runner.invoke(args=["mail", "send", "--loop"]).exit_code == 1


def test_mail_send_loop_keeps_sending_until_sigterm(app, smtp, runner, queue_many):
    queue_many(2)
    original = signal.getsignal(signal.SIGTERM)

    def stop_when_listening():
        # Only once the command's handler is in place, so the signal never reaches pytest itself.
        deadline = time.monotonic() + 20
        while signal.getsignal(signal.SIGTERM) is original and time.monotonic() < deadline:
            time.sleep(0.02)
        while len(smtp.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=stop_when_listening)
    killer.start()
    result = runner.invoke(args=["mail", "send", "--loop", "--interval", "0.1"])
    killer.join()
    assert result.exit_code == 0, result.output
    assert "已停止发送" in result.output
    assert len(smtp.messages) == 2
    assert signal.getsignal(signal.SIGTERM) is original  # the handler is put back


# --- several senders ------------------------------------------------------------------------------

def _send_in_thread(app, results: list, barrier: threading.Barrier) -> None:
    """One sender with its own app context and database session."""
    with app.app_context():
        barrier.wait()
        results.append(mail.send_due(limit=1000))
        db.session.remove()


def test_two_senders_at_once_deliver_each_message_once(app, smtp, queue_many):
    addresses = queue_many(50)
    results: list = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_send_in_thread, args=(app, results, barrier)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivered = Counter(r for m in smtp.messages for r in m.envelope_to)
    assert delivered == Counter(addresses)  # every message once: none lost, none twice
    assert sum(r.sent for r in results) == 50
    assert all(m.status == "sent" for m in outbox())
    if db.engine.dialect.name == "postgresql":
        # Row locks let both senders work at the same time.
        assert not any(r.busy for r in results)


def test_on_sqlite_a_second_sender_steps_aside_while_one_runs(app, smtp, queue_many):
    queue_many(3)
    if db.engine.dialect.name == "postgresql":
        # On PostgreSQL there is no run-wide lock: rows are shared out instead (tested above).
        assert mail.send_due().sent == 3
        return
    path = os.path.join(app.instance_path, mail.LOCK_FILE)
    os.makedirs(app.instance_path, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another sender is running
        report = mail.send_due()
        assert report.busy and report.sent == 0 and smtp.messages == []
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert mail.send_due().sent == 3
    assert len(smtp.messages) == 3

