"""One action wins (Art. 17 review, Art. 25 duties): two staff acting on the same case at the same
instant never both succeed, on SQLite (no row locks) as on PostgreSQL.

Each racer runs in its own thread with its own app context, so its own session and connection,
as two requests to two server workers would. The first one is held inside its transaction right
after its checks passed; without a lock taken before the checks, the second one would pass the
same checks meanwhile and both would write.
"""
from __future__ import annotations

import threading
import time

import pytest

from interact.domain.db import db
from interact.domain.errors import Conflict
from interact.domain.models import Case, CaseEvent, Status
from interact.services import actions, content_rules, publication
from interact.services.tx import unit_of_work

HOLD_SECONDS = 0.4


def race(app, first, second):
    """Run `first` and, while it is held after its checks, `second`; return each outcome."""
    outcomes: dict[str, object] = {}
    started = threading.Event()

    def run(name, call, before=None):
        with app.app_context():
            try:
                if before is not None:
                    before.wait(5)
                with unit_of_work():
                    call()
                outcomes[name] = "ok"
            except Conflict as exc:
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=("first", first)),
               threading.Thread(target=run, args=("second", second, started))]
    for t in threads:
        t.start()
    time.sleep(0.1)
    started.set()
    for t in threads:
        t.join(10)
    return outcomes


@pytest.fixture
def hold_first(monkeypatch):
    """hold_first(module, name): make the first call of module.name pause inside its transaction,
    after the action's checks passed (the step every racer reaches only when allowed)."""

    def hold(module, name):
        real = getattr(module, name)
        calls = {"n": 0}

        def slow(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                time.sleep(HOLD_SECONDS)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, slow)

    return hold


def test_two_handlers_replying_at_once_one_wins(app, world, create_case, create_user, hold_first):
    case, _ = create_case("handling")
    colleague = create_user("handler", department=world.housing)
    hold_first(content_rules, "flag_draft")
    outcomes = race(
        app,
        lambda: actions.perform(db.session.merge(world.handler), case.number, "reply", {"text": "第一份答复"}),
        lambda: actions.perform(db.session.merge(colleague), case.number, "reply", {"text": "第二份答复"}),
    )
    assert outcomes["first"] == "ok"
    assert isinstance(outcomes["second"], Conflict), outcomes
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    assert stored.status == Status.pending_review and stored.draft_text == "第一份答复"
    assert db.session.query(CaseEvent).filter_by(case_id=case.id, action="reply").count() == 1


def test_a_double_approval_approves_once(app, world, create_case, hold_first):
    case, _ = create_case("pending_review")
    hold_first(publication, "prepare_public_copy")
    body = {"decision": "approve", "comment": "", "publish": True}
    outcomes = race(app, lambda: actions.perform(db.session.merge(world.reviewer), case.number, "review", body),
                    lambda: actions.perform(db.session.merge(world.reviewer), case.number, "review", body))
    assert outcomes["first"] == "ok"
    assert isinstance(outcomes["second"], Conflict), outcomes
    db.session.expire_all()
    assert db.session.query(CaseEvent).filter_by(case_id=case.id, action="approve").count() == 1
