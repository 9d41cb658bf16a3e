"""Art. 17: nothing is public before review, personal data never is, and the name is masked."""
from __future__ import annotations

import pytest

from interact.domain.errors import NotFound
from interact.domain.privacy import mask_name
from interact.services import cases as cs


def public_numbers() -> set[str]:
    """Numbers of every published record."""
    return {c.number for c in cs.published_records(per_page=100).items}


@pytest.mark.parametrize("status", ["submitted", "assigned", "handling", "pending_review"])
def test_reply_is_not_public_before_review(create_case, status):
    case, _ = create_case(status)
    assert case.number not in public_numbers()
    with pytest.raises(NotFound):
        cs.published_record(case.number)


def test_approved_and_consented_reply_is_public(create_case):
    case, _ = create_case("replied")
    assert public_numbers() == {case.number}
    assert cs.published_record(case.number).public_reply == "经核实，符合条件的可以申请。"


def test_citizen_opt_out_keeps_the_record_private(create_case):
    case, _ = create_case("replied", publish_consent=False, publish=True)
    assert not case.published and case.number not in public_numbers()


def test_reviewer_may_choose_not_to_publish(create_case):
    case, _ = create_case("replied", publish=False)
    assert not case.published and case.number not in public_numbers()


def test_declined_cases_are_never_listed(create_case):
    case, _ = create_case("declined", publish=True)
    assert case.number not in public_numbers()
    with pytest.raises(NotFound):
        cs.published_record(case.number)


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("欧阳修文", "欧***"), ("李", "李*")])
def test_name_is_masked(name, masked):
    assert mask_name(name) == masked


def test_public_copy_masks_name_and_never_holds_phone_or_email(create_case):
    case, _ = create_case(
        "replied",
        title="张三反映小区噪音",
        content="我是张三，电话13812345678，邮箱zhangsan@example.com，请回电 138-1234-5678。",
    )
    public = " ".join([case.public_name, case.public_title, case.public_content, case.public_reply])
    assert case.public_name == "张*"
    assert "张三" not in public
    assert "13812345678" not in public and "138-1234-5678" not in public
    assert "zhangsan@example.com" not in public
    assert "[手机号]" in case.public_content


def test_public_records_filter_by_department_kind_and_month(create_case, world):
    housing, _ = create_case("replied", kind="suggestion")
    transport, _ = create_case("replied", department=world.transport)
    assert {c.number for c in cs.published_records(department="housing").items} == {housing.number}
    assert {c.number for c in cs.published_records(kind="suggestion").items} == {housing.number}
    month = housing.replied_at.strftime("%Y-%m")
    assert len(cs.published_records(month=month).items) == 2
    assert cs.published_records(month="2001-01").items == []


def test_public_records_paginate_newest_first(create_case):
    numbers = [create_case("replied")[0].number for _ in range(5)]
    first = cs.published_records(page=1, per_page=2)
    assert first.total == 5 and first.pages == 3
    assert [c.number for c in first.items] == numbers[::-1][:2]
    assert [c.number for c in cs.published_records(page=3, per_page=2).items] == numbers[:1]
