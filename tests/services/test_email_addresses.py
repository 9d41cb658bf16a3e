"""E-mail addresses are checked with email-validator before they are stored: an address the mail
server would refuse never reaches the outbox, to be retried until it is given up."""
from __future__ import annotations

import pytest

from interact.domain.errors import ValidationFailed
from interact.services import directory, subscriptions
from interact.services import cases as case_service
from interact.services.inputs import is_valid_email

REFUSED = ['"><img/src=x/onerror=alert(1)>@example.com', "a@b", "a b@example.com", "张三@example.com",
           "zhangsan@@example.com", "zhangsan@example..com", "zhangsan@localhost", "x" * 250 + "@example.com"]
ACCEPTED = ["zhangsan@example.com", "li.si+case@mail.example.gov.cn", "wang_wu@sub.example.com.cn"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_a_mail_server_would_refuse_are_refused(address):
    assert not is_valid_email(address)


@pytest.mark.parametrize("address", ACCEPTED)
def test_ordinary_addresses_are_accepted(address):
    assert is_valid_email(address)


@pytest.mark.parametrize("address", REFUSED[:3])
def test_every_place_that_stores_an_address_refuses_them(world, submission, address):
    with pytest.raises(ValidationFailed) as refused:
        case_service.submit_case(submission(email=address))
    assert "email" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        subscriptions.subscribe(address, "all", "", "immediate")
    assert "email" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        directory.set_email(world.handler, address)
    assert "email" in refused.value.fields
