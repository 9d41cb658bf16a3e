"""Staff accounts and tokens (Art. 25): no default account, hashed secrets, separate roles."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fixtures.values import PASSWORD

from interact.domain.errors import ValidationFailed
from interact.domain.db import db
from interact.domain.models import ApiToken
from interact.services import directory
from interact.domain.timeutil import utcnow


def test_handlers_and_reviewers_must_belong_to_a_department(app):
    with pytest.raises(ValidationFailed) as exc:
        directory.create_user("wang", PASSWORD, ["handler"])
    assert "department" in exc.value.fields


def test_password_length_is_enforced(world):
    with pytest.raises(ValidationFailed) as exc:
        directory.create_user("short", "too-short", ["auditor"])
    assert "password" in exc.value.fields


def test_passwords_are_stored_hashed_with_scrypt_by_default(app, world):
    app.config.pop("INTERACT_PASSWORD_METHOD")
    user = directory.create_user("hashed", PASSWORD, ["auditor"])
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert directory.authenticate("hashed", PASSWORD) == user
    assert directory.authenticate("hashed", PASSWORD + "x") is None


def test_disabled_account_cannot_authenticate(world):
    directory.set_active(world.handler, False, actor=world.admin)
    assert directory.authenticate("handler", PASSWORD) is None


def test_an_admin_cannot_disable_their_own_account(world):
    with pytest.raises(ValidationFailed):
        directory.set_active(world.admin, False, actor=world.admin)
    assert world.admin.active


def test_tokens_are_stored_as_hashes_and_expire(world):
    raw = directory.create_token(world.handler)
    row = db.session.scalar(db.select(ApiToken))
    assert raw not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert directory.user_for_token(raw) == world.handler
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert directory.user_for_token(raw) is None
    assert directory.user_for_token("itk_not-a-token") is None
