"""Art. 17 protects the citizen's personal data, not the government's own hotline: the published
phone numbers and e-mail addresses of the departments and of the platform are never masked, while
a citizen's number beside them still is. `interact pii rescan` applies a new list to the cases
already waiting for review."""
from __future__ import annotations

import pytest

from interact.domain import privacy
from interact.domain.db import db
from interact.domain.errors import ValidationFailed
from interact.domain.models import Case
from interact.services import cases as case_service
from interact.services import directory, settings
from interact.services import masks as mask_service
from interact.services import publication

HOTLINE = "024-2398 0000"
MAILBOX = "zjj@shenyang.gov.cn"
PLATFORM = "024-12345678"
CITIZEN = "139 8765 4321"
REPLY = (f"您的问题已转相关科室。如有疑问请致电本局{HOTLINE}转8001、平台热线（024）12345678，"
         f"或发邮件至{MAILBOX.upper()}。我们已按您留的电话{CITIZEN}回访。")


def published_reply(case: Case) -> str:
    """What the public would see of the case's reply."""
    return publication.public_copy(case, mask_service.case_masks(case))["reply"]


def draft(create_case, world, reply: str = REPLY) -> Case:
    """A housing case whose reply draft waits for review."""
    case, _code = create_case("handling")
    case_service.draft_reply(world.handler, case, reply)
    db.session.commit()
    return case


@pytest.fixture
def listed(world):
    """The housing department lists its hotline and mailbox; the platform its own line."""
    directory.update_department(world.housing, name=world.housing.name, active=True,
                                mailbox_name=world.housing.mailbox_name, public_contacts=[HOTLINE, MAILBOX])
    settings.update(world.admin, **{settings.PLATFORM_CONTACTS: [PLATFORM]})
    db.session.commit()


def test_without_a_list_the_government_numbers_are_masked_as_personal_data(create_case, world):
    text = published_reply(draft(create_case, world))
    assert HOTLINE not in text and MAILBOX.upper() not in text and CITIZEN not in text


def test_listed_contacts_stay_readable_and_the_citizens_number_is_still_masked(create_case, world, listed):
    case = draft(create_case, world)
    text = published_reply(case)
    assert f"{HOTLINE}转8001" in text
    assert "（024）12345678" in text
    assert MAILBOX.upper() in text
    assert CITIZEN not in text and privacy.MASKS["mobile"] in text
    assert [m.label for m in mask_service.case_masks(case) if m.field == "reply"] == ["mobile"]


def test_the_same_local_number_in_another_city_is_still_masked(create_case, world, listed):
    text = published_reply(draft(create_case, world, reply="请致电 010-2398 0000 联系我。"))
    assert "2398 0000" not in text


def test_a_listed_contact_is_checked_and_audited(world):
    with pytest.raises(ValidationFailed) as refused:
        directory.update_department(world.housing, name=world.housing.name, active=True, mailbox_name=None,
                                    public_contacts=["本局值班室", HOTLINE])
    assert "本局值班室" in refused.value.fields["public_contacts"]
    with pytest.raises(ValidationFailed):
        settings.update(world.admin, **{settings.PLATFORM_CONTACTS: ["not-an-address@"]})
    directory.update_department(world.housing, name=world.housing.name, active=True, mailbox_name=None,
                                public_contacts=[HOTLINE, HOTLINE])
    assert directory.department_contacts(world.housing) == [HOTLINE]


def test_rescan_applies_a_new_list_to_cases_already_under_review(app, create_case, world):
    case = draft(create_case, world)
    assert HOTLINE not in published_reply(case)
    directory.update_department(world.housing, name=world.housing.name, active=True, mailbox_name=None,
                                public_contacts=[HOTLINE])
    db.session.commit()
    # A reviewer's own decision survives the rescan.
    mask_service.add_manual_mask(case, "reply", "相关科室", world.reviewer)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["pii", "rescan"])
    assert result.exit_code == 0, result.output
    assert "1 件" in result.output and "取消遮盖 1 处" in result.output
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    text = published_reply(case)
    assert f"{HOTLINE}转8001" in text and CITIZEN not in text and "相关科室" not in text
    again = app.test_cli_runner().invoke(args=["pii", "rescan"])
    assert "取消遮盖 0 处，新增遮盖 0 处" in again.output


def test_the_admin_pages_edit_both_lists(client, world, login, post_form):
    login(client, world.admin.username)
    page = post_form(client, f"/staff/admin/departments/{world.housing.code}",
                     {"name": world.housing.name, "active": "y", "mailbox_name": "",
                      "public_contacts": f"{HOTLINE}\n{MAILBOX}"})
    assert page.status_code in (200, 302)
    db.session.expire_all()
    assert directory.department_contacts(world.housing) == [HOTLINE, MAILBOX]
    bad = post_form(client, f"/staff/admin/departments/{world.housing.code}",
                    {"name": world.housing.name, "active": "y", "public_contacts": "值班室"})
    assert bad.status_code == 400 and "值班室" in bad.get_data(as_text=True)
    saved = post_form(client, "/staff/admin/security", {"gov_domains": "gov.cn", "platform_contacts": PLATFORM})
    assert saved.status_code in (200, 302)
    assert settings.platform_contacts() == [PLATFORM]
