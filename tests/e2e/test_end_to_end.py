"""End to end through the HTML pages, with the public site and the back office deployed as two
separate apps over one database (Art. 25): the citizen writes in, the dispatcher, handler and
reviewer act, the record goes public with the name masked, and the citizen rates the reply."""
from __future__ import annotations

import re

import pytest

from interact.domain.db import db
from interact.domain.models import Case, Status


@pytest.fixture
def two_surfaces(make_app):
    """A public-only client and a staff-only client over the same database."""
    public, staff = make_app("public", isolated=True), make_app("staff", isolated=True)
    return public.test_client(), staff.test_client()


def text(response) -> str:
    """A response's HTML."""
    return response.get_data(as_text=True)


@pytest.fixture
def staff_act(post_form):
    """staff_act(client, number, action, data=None): post one action form from the staff case page."""

    def act(client, number: str, action: str, data: dict | None = None):
        return post_form(client, f"/staff/cases/{number}/{action}", data or {},
                         form_url=f"/staff/cases/{number}")

    return act


def test_citizen_to_public_record_through_both_separately_deployed_surfaces(app, world, two_surfaces, staff_act, csrf_from, login,
                                                                          post_form):
    citizen, staff = two_surfaces

    # The citizen writes in without choosing a department.
    receipt = post_form(citizen, "/cases/new/complaint", {
        "title": "小区电梯停运一个月", "content": "我是王小明，电话 13912345678，电梯一直没人修。",
        "name": "王小明", "phone": "13912345678", "email": "wxm@example.com", "publish": "y",
    }, follow_redirects=True)
    assert receipt.status_code == 200
    html = text(receipt)
    number = re.search(r"\b(\d{13})\b", html).group(1)
    code = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\b", html).group(1)
    case = db.session.scalar(db.select(Case).where(Case.number == number))
    assert case.status == Status.submitted

    # The back office is not on the public host at all.
    assert citizen.get("/staff/login").status_code == 404
    assert staff.get("/records").status_code == 404

    login(staff, "dispatcher")
    assert number in text(staff.get("/staff/"))
    staff_act(staff, number, "dispatch", {"department": "housing"})
    login(staff, "handler")
    staff_act(staff, number, "accept")
    staff_act(staff, number, "reply", {"text": "已责令物业三日内修复，并请特种设备检验机构到场检验。"})
    assert case.status == Status.pending_review

    # Nothing is public before review.
    assert number not in text(citizen.get("/records"))
    assert citizen.get(f"/records/{number}").status_code == 404

    login(staff, "reviewer")
    staff_act(staff, number, "review", {"decision": "approve", "comment": "", "publish": "y"})
    assert case.status == Status.replied and case.published

    listing = text(citizen.get("/records"))
    assert number in listing
    record = text(citizen.get(f"/records/{number}"))
    assert "已责令物业三日内修复" in record
    assert "王*" in record and "王小明" not in record
    assert "13912345678" not in record and "wxm@example.com" not in record

    # The citizen follows the case with number and code, and rates the reply once.
    followed = post_form(citizen, "/cases/query", {"number": number, "code": code})
    assert "已答复" in text(followed) and "已责令物业三日内修复" in text(followed)
    rated = citizen.post("/cases/query/rating", data={
        "csrf_token": csrf_from(text(followed)), "number": number, "code": code,
        "rating": "satisfied", "comment": "很快"})
    assert rated.status_code == 200
    assert case.rating == "satisfied"
    assert "满意" in text(citizen.get(f"/records/{number}"))
    again = citizen.post("/cases/query/rating", data={
        "csrf_token": csrf_from(text(followed)), "number": number, "code": code, "rating": "dissatisfied"})
    assert again.status_code == 409 and case.rating == "satisfied"
