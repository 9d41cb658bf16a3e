"""Subscriptions to published records (issue 4, section 5; Art. 18): double opt-in by a signed
link, scopes, immediate mail and daily digests, one-click unsubscribe (RFC 8058), and subscriber
mail that carries only the masked public copy of a record."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import event, func, select

from interact.domain.errors import ValidationFailed
from interact.domain.db import db
from interact.domain.models import Case, OutboxMessage, Subscription
from interact.services import subscriptions
from interact.domain.timeutil import utcnow

PUBLIC = "http://127.0.0.1:5000"
CONFIRM_LINK = re.compile(re.escape(PUBLIC) + r"(/subscribe/confirm/[A-Za-z0-9_.\-]+)")
UNSUBSCRIBE_LINK = re.compile(re.escape(PUBLIC) + r"(/unsubscribe/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def subscribe(post_form):
    """subscribe(client, email: str, scope: str='all', value: str='', frequency: str='immediate'): fill in and post the subscription form."""

    def subscribe(client, email: str, scope: str = "all", value: str = "", frequency: str = "immediate"):
        """Fill in and post the subscription form."""
        data = {"email": email, "scope": scope, "frequency": frequency, "department": "", "kind": ""}
        if scope in ("department", "kind"):
            data[scope] = value
        return post_form(client, "/subscribe", data)

    return subscribe


def run(runner, *args: str) -> str:
    """Run an `interact` command and return its output; it must succeed."""
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def send_subscriptions(runner, as_of: datetime) -> str:
    """`interact subscriptions send --as-of …`."""
    return run(runner, "subscriptions", "send", "--as-of", as_of.isoformat())


def deliver(runner) -> None:
    """`interact mail send`: hand the outbox to the SMTP server."""
    run(runner, "mail", "send")


def publish(create_case, at: datetime, **fields) -> Case:
    """A case answered, approved and published, its reply dated `at`."""
    case, _code = create_case("replied", **fields)
    case.replied_at = at
    db.session.commit()
    return case


def delivered_records(smtp, address: str) -> list:
    """The subscriber mails (not the confirmations) delivered to `address`."""
    return [m for m in smtp.to(address) if "确认订阅" not in m["Subject"]]


def record_mails(address: str) -> list[OutboxMessage]:
    """The subscriber mails queued for `address`, oldest first."""
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == address, OutboxMessage.template == "subscription_records")
        .order_by(OutboxMessage.id)))


def confirmed(email: str, scope: str = "all", value: str = "", frequency: str = "immediate",
              at: datetime | None = None) -> Subscription:
    """A subscription confirmed at `at` through the service (double opt-in done)."""
    sub = subscriptions.subscribe(email, scope, value, frequency, now=at)
    subscriptions.confirm(subscriptions.confirm_token(sub), now=at)
    db.session.commit()
    return sub


# --- double opt-in ------------------------------------------------------------------------------

def test_only_a_confirmed_subscription_gets_records_end_to_end(client, runner, smtp, create_case, world, subscribe):
    address = "reader@example.com"
    response = subscribe(client, address)
    assert response.status_code == 200
    assert address not in response.get_data(as_text=True)
    assert "r***@example.com" in response.get_data(as_text=True)
    deliver(runner)
    [confirmation] = smtp.to(address)
    assert "确认" in confirmation["Subject"]
    text = smtp.text_of(confirmation)
    assert confirmation["List-Unsubscribe"].strip().startswith(f"<{PUBLIC}/unsubscribe/")

    # Not yet confirmed: a newly published record is not sent.
    early = publish(create_case, utcnow(), title="确认之前公开的办件")
    send_subscriptions(runner, utcnow() + timedelta(minutes=5))
    assert record_mails(address) == []
    deliver(runner)
    assert len(smtp.to(address)) == 1

    # The signed link from the mail confirms it; the page shows the address only masked.
    page = client.get(CONFIRM_LINK.search(text).group(1))
    assert page.status_code == 200 and "订阅成功" in page.get_data(as_text=True)
    assert address not in page.get_data(as_text=True)
    sub = db.session.scalar(select(Subscription).where(Subscription.email == address))
    assert sub.confirmed_at is not None

    record = publish(create_case, sub.confirmed_at + timedelta(minutes=1), title="公交线路调整咨询")
    send_subscriptions(runner, sub.confirmed_at + timedelta(minutes=5))
    deliver(runner)
    mails = smtp.to(address)
    assert len(mails) == 2
    message = mails[-1]
    body, html = smtp.text_of(message), smtp.html_of(message)
    assert "公交线路调整咨询" in body and "公交线路调整咨询" in html
    assert f"{PUBLIC}/records/{record.number}" in body
    # Records published before the confirmation are not sent afterwards either.
    assert early.public_title not in body
    unsubscribe_url = UNSUBSCRIBE_LINK.search(body).group(0)
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url in html

    # The unsubscribe link in the mail works.
    page = client.get(UNSUBSCRIBE_LINK.search(body).group(1))
    assert page.status_code == 200 and "r***@example.com" in page.get_data(as_text=True)
    assert address not in page.get_data(as_text=True)


def test_a_tampered_confirmation_link_is_refused(client, app):
    sub = subscriptions.subscribe("reader@example.com", "all", "", "immediate")
    db.session.commit()
    token = subscriptions.confirm_token(sub)
    head, _dot, sig = token.rpartition(".")
    forged = head + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    response = client.get(f"/subscribe/confirm/{forged}")
    assert response.status_code == 400 and "链接无效" in response.get_data(as_text=True)
    # A token signed with another key (or salt) is refused too: an unsubscribe token is no confirmation.
    assert client.get(f"/subscribe/confirm/{subscriptions.unsubscribe_token(sub)}").status_code == 400
    assert client.get("/subscribe/confirm/nonsense").status_code == 400
    db.session.refresh(sub)
    assert sub.confirmed_at is None


def test_an_expired_confirmation_link_is_refused(client, app):
    sub = subscriptions.subscribe("reader@example.com", "all", "", "immediate")
    db.session.commit()

    class FourDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int((utcnow() - timedelta(days=4)).timestamp())

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=subscriptions.CONFIRM_SALT, signer=FourDaysAgo)
    token = old.dumps({"id": sub.id, "f": "immediate", "s": ""})
    response = client.get(f"/subscribe/confirm/{token}")
    assert response.status_code == 400 and "过期" in response.get_data(as_text=True)
    db.session.refresh(sub)
    assert sub.confirmed_at is None


def test_a_valid_link_to_a_deleted_subscription_is_404(client, app):
    sub = subscriptions.subscribe("reader@example.com", "all", "", "immediate")
    db.session.commit()
    confirm, unsubscribe = subscriptions.confirm_token(sub), subscriptions.unsubscribe_token(sub)
    db.session.delete(sub)
    db.session.commit()
    assert client.get(f"/subscribe/confirm/{confirm}").status_code == 404
    assert client.get(f"/unsubscribe/{unsubscribe}").status_code == 404


def test_resubscribing_makes_no_duplicate_and_answers_the_same(client, app, subscribe):
    first = subscribe(client, "reader@example.com")
    again = subscribe(client, "Reader@Example.com ")
    assert first.status_code == again.status_code == 200
    assert first.get_data(as_text=True) == again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    # Within the hour the confirmation is not sent again (nobody can flood an address).
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

    sub = db.session.scalar(select(Subscription))
    subscriptions.confirm(subscriptions.confirm_token(sub))
    db.session.commit()
    # Already subscribed: the same neutral answer, and nothing more is mailed.
    known = subscribe(client, "reader@example.com")
    assert known.get_data(as_text=True) == first.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1


def test_an_unconfirmed_subscription_gets_a_new_confirmation_an_hour_later(app, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    sub = subscriptions.subscribe("reader@example.com", "all", "", "immediate", now=t0)
    assert subscriptions.subscribe("reader@example.com", "all", "", "immediate", now=t0 + timedelta(minutes=30)) is None
    assert subscriptions.subscribe("reader@example.com", "all", "", "immediate", now=t0 + timedelta(hours=1)) is sub
    db.session.commit()
    confirmations = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "subscription_confirm"))
    assert len(list(confirmations)) == 2


def test_a_new_frequency_takes_effect_only_when_the_owner_confirms_it(app):
    sub = confirmed("reader@example.com", frequency="immediate")
    again = subscriptions.subscribe("reader@example.com", "all", "", "daily")
    db.session.commit()
    assert again is sub and sub.frequency == "immediate"
    subscriptions.confirm(subscriptions.confirm_token(sub, "daily"))
    db.session.commit()
    assert sub.frequency == "daily"


def test_an_old_confirmation_link_does_not_undo_an_unsubscribe(app):
    sub = subscriptions.subscribe("reader@example.com", "all", "", "immediate")
    token = subscriptions.confirm_token(sub)
    subscriptions.confirm(token)
    subscriptions.unsubscribe(subscriptions.unsubscribe_token(sub))
    db.session.commit()
    with pytest.raises(ValidationFailed):
        subscriptions.confirm(token)
    assert sub.unsubscribed_at is not None
    # Subscribing again sends a fresh link, which works.
    subscriptions.subscribe("reader@example.com", "all", "", "immediate", now=utcnow() + timedelta(hours=2))
    subscriptions.confirm(subscriptions.confirm_token(sub))
    db.session.commit()
    assert sub.unsubscribed_at is None and sub.confirmed_at is not None


@pytest.mark.parametrize(("data", "field"), [
    ({"email": "not-an-address", "scope": "all", "frequency": "immediate"}, "电子邮箱格式不正确"),
    ({"email": "a@example.com", "scope": "department", "department": "", "frequency": "immediate"}, "请选择部门"),
    ({"email": "a@example.com", "scope": "department", "department": "nope", "frequency": "daily"}, "请选择部门"),
    ({"email": "a@example.com", "scope": "kind", "kind": "nope", "frequency": "daily"}, "请选择办件类别"),
    ({"email": "a@example.com", "scope": "all", "frequency": "weekly"}, "请选择发送频率"),
])
def test_an_invalid_request_is_refused_with_the_field_named(client, world, data, field, post_form):
    response = post_form(client, "/subscribe", data)
    assert response.status_code == 400 and field in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_honeypot_refuses_software_that_fills_every_field(client, world, post_form):
    response = post_form(client, "/subscribe", {"email": "bot@example.com", "scope": "all",
                                                "frequency": "immediate", "homepage": "http://spam.example"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_subscription_requests_spend_their_own_rate_limit(world, make_app, subscribe):
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                       INTERACT_RATELIMIT_SUBSCRIBE="2 per minute", isolated=True)
    client = limited.test_client()
    answers = [subscribe(client, f"reader{n}@example.com").status_code for n in range(3)]
    assert answers == [200, 200, 429]
    assert client.get("/subscribe").status_code == 200  # the form itself costs nothing


def test_a_department_or_kind_link_preselects_the_scope(client, world):
    page = client.get("/subscribe?department=transport").get_data(as_text=True)
    assert re.search(r'<option selected value="transport"|<option value="transport" selected', page)
    assert re.search(r'value="department"[^>]*checked|checked[^>]*value="department"', page)


# --- scopes, frequencies, idempotence ------------------------------------------------------------

def test_department_and_kind_subscriptions_get_only_their_records(app, runner, smtp, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)  # 09:00 in Beijing
    confirmed("all@example.com", at=t0)
    confirmed("transport@example.com", "department", "transport", at=t0)
    confirmed("complaints@example.com", "kind", "complaint", at=t0)
    publish(create_case, t0 + timedelta(minutes=10), title="住建局的咨询")
    publish(create_case, t0 + timedelta(minutes=20), title="交通局的咨询", department=world.transport)
    publish(create_case, t0 + timedelta(minutes=30), title="住建局的投诉", kind="complaint")

    output = send_subscriptions(runner, t0 + timedelta(hours=1))
    assert "即时订阅邮件：3 封" in output
    deliver(runner)
    everything = smtp.text_of(delivered_records(smtp, "all@example.com")[0])
    assert all(t in everything for t in ("住建局的咨询", "交通局的咨询", "住建局的投诉"))
    # Newest first.
    assert everything.index("住建局的投诉") < everything.index("交通局的咨询") < everything.index("住建局的咨询")
    transport = smtp.text_of(delivered_records(smtp, "transport@example.com")[0])
    assert "交通局的咨询" in transport
    assert "住建局的咨询" not in transport and "住建局的投诉" not in transport
    complaints = smtp.text_of(delivered_records(smtp, "complaints@example.com")[0])
    assert "住建局的投诉" in complaints
    assert "住建局的咨询" not in complaints and "交通局的咨询" not in complaints


def test_a_second_run_sends_nothing_again(app, runner, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    publish(create_case, t0 + timedelta(minutes=10))
    as_of = t0 + timedelta(hours=1)
    assert "即时订阅邮件：1 封" in send_subscriptions(runner, as_of)
    assert "即时订阅邮件：0 封" in send_subscriptions(runner, as_of)
    assert "即时订阅邮件：0 封" in send_subscriptions(runner, as_of + timedelta(hours=1))
    assert len(record_mails("reader@example.com")) == 1
    # A record published later comes in the next mail, alone.
    later = publish(create_case, t0 + timedelta(hours=3), title="后来公开的办件")
    send_subscriptions(runner, t0 + timedelta(hours=4))
    mails = record_mails("reader@example.com")
    assert len(mails) == 2 and "后来公开的办件" in mails[1].text_body
    assert later.number in mails[1].text_body and mails[1].text_body.count("/records/") == 1


def test_two_runs_of_the_same_period_queue_one_mail(app, create_case, world, aware):
    """Two senders that read the same state (cron on two hosts) queue the period's mail once."""
    t0 = aware(2026, 3, 2, 1, 0)
    sub = confirmed("reader@example.com", at=t0)
    publish(create_case, t0 + timedelta(minutes=10))
    first = subscriptions.send_due(t0 + timedelta(hours=1))
    sub.last_sent_at = None  # the other run started before the first one moved the mark
    second = subscriptions.send_due(t0 + timedelta(hours=1, minutes=1))
    db.session.commit()
    assert (first.immediate, second.immediate) == (1, 0)
    assert len(record_mails("reader@example.com")) == 1


def test_a_record_replied_in_the_last_minute_waits_for_the_next_run(app, create_case, world, aware):
    """A reply approved a moment ago may still be committing: the next run takes it."""
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    publish(create_case, t0 + timedelta(minutes=10), title="刚刚公开的办件")
    assert subscriptions.send_due(t0 + timedelta(minutes=10, seconds=30)).immediate == 0
    assert subscriptions.send_due(t0 + timedelta(minutes=12)).immediate == 1
    db.session.commit()
    assert "刚刚公开的办件" in record_mails("reader@example.com")[0].text_body


def test_daily_subscribers_get_at_most_one_digest_a_day(app, runner, smtp, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)  # 2026-03-02 09:00 in Beijing
    confirmed("daily@example.com", frequency="daily", at=t0)
    confirmed("now@example.com", frequency="immediate", at=t0)
    publish(create_case, t0 + timedelta(hours=1), title="上午公开的办件")
    publish(create_case, t0 + timedelta(hours=11), title="晚上公开的办件")  # 20:00 Beijing

    # The same evening: the immediate subscriber has both, the daily one nothing yet.
    assert "即时订阅邮件：1 封；每日摘要：0 封" in send_subscriptions(runner, t0 + timedelta(hours=12))
    assert record_mails("daily@example.com") == []
    # Next morning: one digest with the previous day's records, then no more that day.
    assert "每日摘要：1 封" in send_subscriptions(runner, aware(2026, 3, 2, 23, 0))  # 03-03 07:00 Beijing
    assert "每日摘要：0 封" in send_subscriptions(runner, aware(2026, 3, 3, 4, 0))
    publish(create_case, aware(2026, 3, 3, 2, 0), title="第二天公开的办件")  # 03-03 10:00 Beijing
    assert "每日摘要：0 封" in send_subscriptions(runner, aware(2026, 3, 3, 15, 0))  # 23:00 Beijing
    assert "每日摘要：1 封" in send_subscriptions(runner, aware(2026, 3, 3, 16, 30))  # 03-04 00:30 Beijing
    deliver(runner)
    first, second = delivered_records(smtp, "daily@example.com")
    assert "2026-03-02" in first["Subject"] and "2026-03-03" in second["Subject"]
    assert "上午公开的办件" in smtp.text_of(first) and "晚上公开的办件" in smtp.text_of(first)
    assert "第二天公开的办件" not in smtp.text_of(first)
    assert "第二天公开的办件" in smtp.text_of(second) and "上午公开的办件" not in smtp.text_of(second)
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_day_without_records_sends_no_digest(app, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("daily@example.com", frequency="daily", at=t0)
    assert subscriptions.send_due(aware(2026, 3, 2, 23, 0)).daily == 0
    publish(create_case, aware(2026, 3, 3, 2, 0))
    assert subscriptions.send_due(aware(2026, 3, 3, 23, 0)).daily == 1


def test_withdrawn_or_unpublished_records_are_never_sent(app, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    case, _code = create_case("replied", publish=False, title="未公开的办件")
    case.replied_at = t0 + timedelta(minutes=5)
    db.session.commit()
    assert subscriptions.send_due(t0 + timedelta(hours=1)).immediate == 0


def test_a_long_list_is_cut_with_a_link_to_the_rest(app, monkeypatch, create_case, world, aware):
    monkeypatch.setattr(subscriptions, "MAX_ITEMS", 2)
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    for n in range(3):
        publish(create_case, t0 + timedelta(minutes=n + 1), title=f"办件{n}")
    subscriptions.send_due(t0 + timedelta(hours=1))
    db.session.commit()
    [message] = record_mails("reader@example.com")
    assert "办件2" in message.text_body and "办件1" in message.text_body and "办件0" not in message.text_body
    assert "另有1条" in message.text_body and f"{PUBLIC}/records\n" in message.text_body
    assert "3条" in message.subject


def test_sending_does_not_query_per_record(app, create_case, world, aware):
    """One query finds every record due to every subscriber; a subscriber costs a fixed number."""
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("a@example.com", at=t0)
    confirmed("b@example.com", "department", "transport", at=t0)
    publish(create_case, t0 + timedelta(minutes=1), department=world.transport)
    few = _statements(lambda: subscriptions.send_due(t0 + timedelta(hours=1)))
    for n in range(8):
        publish(create_case, t0 + timedelta(hours=2, minutes=n), department=world.transport)
    many = _statements(lambda: subscriptions.send_due(t0 + timedelta(hours=3)))
    assert many == few
    db.session.commit()
    assert record_mails("b@example.com")[-1].text_body.count("/records/") == 8


def _statements(work) -> int:
    """How many SQL statements `work()` runs."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


# --- unsubscribe ---------------------------------------------------------------------------------

def test_unsubscribe_by_the_page_and_its_button_stops_the_mail(client, app, create_case, world, aware, csrf_from):
    t0 = aware(2026, 3, 2, 1, 0)
    sub = confirmed("reader@example.com", at=t0)
    url = f"/unsubscribe/{subscriptions.unsubscribe_token(sub)}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "确认退订" in html and "reader@example.com" not in html
    assert page.headers["Cache-Control"] == "no-store"
    db.session.refresh(sub)
    assert sub.unsubscribed_at is None  # a GET (a link scanner, a preview) changes nothing
    response = client.post(url, data={"csrf_token": csrf_from(html)})
    assert response.status_code == 200 and "已退订" in response.get_data(as_text=True)
    db.session.refresh(sub)
    assert sub.unsubscribed_at is not None
    publish(create_case, t0 + timedelta(minutes=10))
    assert subscriptions.send_due(t0 + timedelta(hours=1)).immediate == 0


def test_rfc_8058_one_click_unsubscribe_needs_no_csrf_token(client, app, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    sub = confirmed("reader@example.com", at=t0)
    url = f"/unsubscribe/{subscriptions.unsubscribe_token(sub)}"
    # What a mail client sends for List-Unsubscribe-Post: no cookie, no token.
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.refresh(sub)
    assert sub.unsubscribed_at is not None
    # Again: still fine (idempotent).
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    publish(create_case, t0 + timedelta(minutes=10))
    assert subscriptions.send_due(t0 + timedelta(hours=1)).immediate == 0


def test_any_other_post_to_the_unsubscribe_link_needs_the_csrf_token(client, app):
    sub = confirmed("reader@example.com")
    url = f"/unsubscribe/{subscriptions.unsubscribe_token(sub)}"
    response = client.post(url, data={"List-Unsubscribe": "something else"})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    db.session.refresh(sub)
    assert sub.unsubscribed_at is None


def test_a_tampered_unsubscribe_link_is_refused(client, app):
    sub = confirmed("reader@example.com")
    token = subscriptions.unsubscribe_token(sub)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/unsubscribe/{forged}").status_code == 400
    assert client.post(f"/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    # Another subscription's id under this signature does not verify either.
    other = token.replace(token.split(".")[0], "eyJpZCI6OTl9")  # {"id":99}
    assert client.get(f"/unsubscribe/{other}").status_code == 400
    db.session.refresh(sub)
    assert sub.unsubscribed_at is None


def test_the_confirmation_mail_can_be_refused_with_its_unsubscribe_link(client, app):
    sub = subscriptions.subscribe("stranger@example.com", "all", "", "immediate")
    db.session.commit()
    [message] = db.session.scalars(select(OutboxMessage))
    url = UNSUBSCRIBE_LINK.search(message.text_body).group(1)
    assert json.loads(message.headers)["List-Unsubscribe"] == f"<{PUBLIC}{url}>"
    client.post(url, data={"List-Unsubscribe": "One-Click"})
    db.session.refresh(sub)
    assert sub.unsubscribed_at is not None


# --- privacy -------------------------------------------------------------------------------------

PERSONAL = {"name": "欧阳明华", "phone": "13912345678", "email": "ouyang.minghua@example.com"}
ID_NUMBER = "11010519491231002X"


def test_subscriber_mail_carries_only_the_masked_public_copy(app, runner, smtp, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    confirmed("daily@example.com", frequency="daily", at=t0)
    content = (f"我是{PERSONAL['name']}，身份证{ID_NUMBER}，手机{PERSONAL['phone']}，"
               f"邮箱{PERSONAL['email']}。小区门口的路灯坏了一个月。")
    case = publish(create_case, t0 + timedelta(minutes=10), title="小区路灯损坏", content=content, **PERSONAL)
    assert case.published and ID_NUMBER not in case.public_content
    send_subscriptions(runner, t0 + timedelta(hours=1))
    send_subscriptions(runner, aware(2026, 3, 3, 0, 0))
    deliver(runner)
    messages = delivered_records(smtp, "reader@example.com") + delivered_records(smtp, "daily@example.com")
    assert len(messages) == 2
    for message in messages:
        raw = message.as_string() + smtp.text_of(message) + smtp.html_of(message)
        assert "小区路灯损坏" in smtp.text_of(message) and "路灯坏了" in smtp.text_of(message)
        for secret in (*PERSONAL.values(), ID_NUMBER, "明华"):
            assert secret not in raw, secret
        assert message.envelope_to == [message["To"]]


def test_a_script_in_a_title_stays_text_in_the_html_mail(app, create_case, world, aware):
    t0 = aware(2026, 3, 2, 1, 0)
    confirmed("reader@example.com", at=t0)
    publish(create_case, t0 + timedelta(minutes=10), title="<script>alert(1)</script>路灯")
    subscriptions.send_due(t0 + timedelta(hours=1))
    db.session.commit()
    [message] = record_mails("reader@example.com")
    assert "<script>" not in message.html_body and "&lt;script&gt;" in message.html_body


def test_subscription_pages_never_show_an_address(client, app):
    sub = confirmed("someone.private@example.com")
    for url in (f"/unsubscribe/{subscriptions.unsubscribe_token(sub)}",
                f"/subscribe/confirm/{subscriptions.confirm_token(sub)}"):
        html = client.get(url).get_data(as_text=True)
        assert "someone.private" not in html and "s***@example.com" in html


def test_mask_email():
    assert subscriptions.mask_email("zhang@example.com") == "z***@example.com"
    assert subscriptions.mask_email("nonsense") == "***"
