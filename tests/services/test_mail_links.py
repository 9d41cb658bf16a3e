"""Links in mail (issue 8): every link in a staff notification points at the back office
(INTERACT_STAFF_URL) and every link in citizen mail at the public site (INTERACT_PUBLIC_URL),
with scheme and host, in the text and the HTML part alike. Staff read their mail away from the
back office, so a host-less `/staff/cases/N` is a link to nowhere."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from interact import shipped_folder
from interact.domain.db import db
from interact.domain.models import OutboxMessage
from interact.domain.states import NotifyMode
from interact.services import cases as case_service
from interact.services import extensions, notify, reminders, supervision
from interact.services.query_codes import reissue_query_code

STAFF_URL = "https://staff.example.gov.cn"
PUBLIC_URL = "https://www.example.gov.cn"
CITIZEN = "zhangsan@example.com"
# Mail to the citizen of a case, or to a subscriber: every other template is a staff notification.
CITIZEN_TEMPLATES = {"case_receipt", "case_replied", "case_rerouted", "extension_granted", "query_code_reissued",
                     "subscription_confirm", "subscription_records"}
# A link in a text part: an absolute URL, or a path standing alone after a space or at a line start.
TEXT_LINK = re.compile(r"(?:^|(?<=\s))(?:[a-z][a-z0-9+.-]*://|/)[^\s<>\"']*", re.MULTILINE)


class _Links(HTMLParser):
    """Collects every href and src of an HTML document, and the URLs written in its text."""

    def __init__(self):
        """Start with no links."""
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        """Keep the tag's link attributes."""
        self.links.extend(value or "" for name, value in attrs if name in ("href", "src"))

    def handle_data(self, data):
        """Keep the links written out as text."""
        self.links.extend(TEXT_LINK.findall(data))


def html_links(html: str) -> list[str]:
    """Every link of an HTML part."""
    parser = _Links()
    parser.feed(html)
    return parser.links


def email_templates() -> set[str]:
    """Every mail template shipped (the partials and the layouts excluded)."""
    folder = Path(shipped_folder("templates")) / "email"
    return {p.stem for p in folder.glob("*.txt") if not p.stem.startswith("_") and p.stem != "base"}


@pytest.fixture
def hosts(app):
    """The two sites on hosts of their own (the app's config is put back after the test)."""
    app.config.update(INTERACT_STAFF_URL=STAFF_URL + "/", INTERACT_PUBLIC_URL=PUBLIC_URL)


def produce_every_case_mail(world, create_case, at) -> None:
    """Run the case workflow far enough that every staff and citizen case mail is queued once."""
    # Submitted without a department (the dispatchers are told), then dispatched (the handlers).
    case, _code = create_case("submitted", email=CITIZEN)
    case_service.dispatch_case(world.dispatcher, case, "housing")
    # Sent back to the dispatch office, then to another department (the citizen hears of it).
    case, _code = create_case("handling", email=CITIZEN)
    case_service.transfer_case(world.handler, case, "属于交通部门职责")
    case_service.dispatch_case(world.dispatcher, case, "transport")
    # A draft for the reviewers, returned to the handlers, then approved (the citizen is told).
    case, code = create_case("pending_review", email=CITIZEN)
    case_service.review_draft(world.reviewer, case, "return", "请补充政策依据。")
    case_service.draft_reply(world.handler, case, "经核实，符合条件的可以申请。")
    case_service.review_draft(world.reviewer, case, "approve", "", publish=False)
    assert reissue_query_code(case.number, CITIZEN)
    # An extension asked for and granted.
    case, _code = create_case("handling", email=CITIZEN)
    extensions.request_extension(world.handler, case, 3, "需会同规划部门现场核查。")
    extensions.decide_extension(world.dispatcher, case, "approve", "同意。")
    # Due 2025-09-30: due soon on 09-29, overdue on 10-09, the dispatch office on 10-10, then urged.
    late, _code = create_case("assigned", submitted_at=at(2025, 9, 26, 10))
    for moment in (at(2025, 9, 29, 9), at(2025, 10, 9, 9), at(2025, 10, 10, 9)):
        reminders.queue_reminders(moment)
    supervision.urge(world.dispatcher, late, "请尽快办理。", now=at(2025, 10, 10, 10))
    # A handler on the daily digest: the new case waits for the digest, which links to it.
    world.other_handler.notify_mode = NotifyMode.digest
    create_case("assigned", department=world.transport)
    notify.queue_digests()
    db.session.commit()


def test_every_link_in_case_mail_has_the_host_of_its_reader_s_site(app, hosts, mailed, create_case, at):
    produce_every_case_mail(mailed, create_case, at)
    queued = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    produced = {m.template for m in queued}
    assert email_templates() - produced == {"subscription_confirm", "subscription_records"}  # tested below
    for message in queued:
        base = PUBLIC_URL if message.template in CITIZEN_TEMPLATES else STAFF_URL
        text_links, links = TEXT_LINK.findall(message.text_body), html_links(message.html_body)
        assert text_links and links, f"{message.template} has a link in both parts"
        for link in text_links + links:
            assert link.startswith(base + "/"), f"{message.template}: {link!r} is not under {base}"
            assert "//" not in link[len(base):], f"{message.template}: {link!r}"


def test_subscription_mail_links_to_the_public_site(app, hosts, client, world, post_form):
    data = {"email": "reader@example.com", "scope": "all", "frequency": "immediate", "department": "", "kind": ""}
    assert post_form(client, "/subscribe", data).status_code == 200
    confirm = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "subscription_confirm"))
    for link in TEXT_LINK.findall(confirm.text_body) + html_links(confirm.html_body):
        assert link.startswith(PUBLIC_URL + "/"), link
    assert client.get(TEXT_LINK.findall(confirm.text_body)[0].removeprefix(PUBLIC_URL)).status_code == 200


def test_the_link_pattern_finds_host_less_links(app):
    assert TEXT_LINK.findall("查看办件：\n/staff/cases/2025000001\n  /staff/account") == [
        "/staff/cases/2025000001", "/staff/account"]
    assert html_links('<p><a href="/staff/overdue">超期</a> 1/2</p>') == ["/staff/overdue"]
