"""Texts that state the number of working days read it from the setting, so none goes stale."""
from __future__ import annotations

from interact.domain.db import db
from interact.domain.kinds import KINDS
from interact.services import deadlines


def test_texts_that_state_the_deadline_follow_the_admins_setting(client, world):
    for code in KINDS:
        deadlines.set_deadline_days(code, 5)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "5个工作日" in home and "3个工作日" not in home
    for code in KINDS:
        page = client.get(f"/cases/new/{code}").get_data(as_text=True)
        assert "5个工作日" in page and "3个工作日" not in page, code
    listed = client.get("/api/v1/kinds").get_json()
    kinds = listed["kinds"] if isinstance(listed, dict) else listed
    assert {k["code"]: k["deadline_days"] for k in kinds} == dict.fromkeys(KINDS, 5)
    assert not any("3个工作日" in k["usage"] for k in kinds)
