"""Art. 17: personal data is masked when a case is approved for publication, from masks stored when
the draft entered review. The reviewer of the department sees them highlighted, adds manual masks
and lifts false ones; nobody else may; the detector never runs on a page view."""
from __future__ import annotations

import json
import re

import pytest
from fixtures.values import with_luhn
from sqlalchemy import select

from interact.domain import privacy
from interact.domain.db import db
from interact.domain.models import AuditEntry, Case, TextMask
from interact.services import cases as case_service
from interact.services import masks as mask_service


RAW = {
    "id_number": "11010519491231002X",
    "mobile": "139 8765 4321",
    "landline": "024-87654321",
    "email": "wang.wu@example.com",
    "bank_card": with_luhn("622202020000000000"),
    "address": "100号3栋2单元501室",
}
CONTENT = (f"我叫王五，身份证{RAW['id_number']}，手机{RAW['mobile']}，座机{RAW['landline']}，"
           f"邮箱{RAW['email']}，工资卡{RAW['bank_card']}，住沈河区青年大街{RAW['address']}。王五拖欠工资的事请处理。")
REPLY = f"经核实，已联系用人单位。如有疑问请致电{RAW['mobile']}或拨打热线0755 8888 6666。"


@pytest.fixture
def detector_calls(monkeypatch):
    """Every text the detector is run on, from now on."""
    calls: list[str] = []
    real = privacy.find

    def spy(text, *args, **kwargs):
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(privacy, "find", spy)
    return calls


@pytest.fixture
def under_review(create_case, world):
    """Factory: a case of the housing department whose reply draft waits for review."""

    def create(content: str = CONTENT, reply: str = REPLY, **fields) -> Case:
        case, _code = create_case("handling", content=content, **fields)
        case_service.draft_reply(world.handler, case, reply)
        db.session.commit()
        return case

    return create


def approve(world, case: Case, publish: bool = True) -> Case:
    """The housing reviewer approves the draft."""
    case_service.review_draft(world.reviewer, case, "approve", "", publish=publish)
    db.session.commit()
    return case


def masks_of(case: Case) -> list[TextMask]:
    """The stored masks of `case`, fresh from the database."""
    db.session.expire_all()
    return mask_service.case_masks(db.session.get(Case, case.id))


def the_mask(case: Case, field: str, label: str) -> TextMask:
    """The single stored mask of `case` with this field and label."""
    (row,) = [m for m in masks_of(case) if m.field == field and m.label == label]
    return row


def published_text(client, number: str) -> str:
    """Everything the public surface and public API show of a published case."""
    parts = [client.get(url).get_data(as_text=True) for url in (
        "/records", f"/records/{number}", "/api/v1/records", f"/api/v1/records/{number}")]
    return "\n".join(parts)


def bearer(create_token, user) -> dict:
    """An Authorization header for `user`."""
    return {"Authorization": "Bearer " + create_token(user)}


# --- detection happens once, when the draft enters review ---------------------------------------------

def test_detector_runs_when_a_draft_enters_review_and_stores_its_findings(under_review, detector_calls):
    case = under_review()
    assert len(detector_calls) == 3  # title, content, draft reply
    rows = masks_of(case)
    assert {(m.field, m.label) for m in rows} == {
        ("content", label) for label in RAW} | {("reply", "mobile"), ("reply", "landline")}
    for row in rows:
        text = case.content if row.field == "content" else case.draft_text
        assert text[row.start:row.end] == row.text and row.origin == "detector" and not row.lifted
    assert the_mask(case, "content", "address").text == RAW["address"]


def test_no_page_view_runs_the_detector(client, world, under_review, create_token, detector_calls, login):
    case = under_review()
    drafted = len(detector_calls)
    login(client, "reviewer")
    for _ in range(3):
        assert client.get(f"/staff/cases/{case.number}").status_code == 200
        assert client.get(f"/api/v1/staff/cases/{case.number}", headers=bearer(create_token, world.reviewer)
                          ).status_code == 200
    approve(world, case)
    for _ in range(3):
        published_text(client, case.number)
        assert client.get(f"/staff/cases/{case.number}").status_code == 200
    assert len(detector_calls) == drafted


def test_a_declined_draft_is_checked_too(create_case, world):
    case, _code = create_case("handling")
    case_service.draft_decline(world.handler, case, "out_of_scope", "请致电13987654321咨询。")
    db.session.commit()
    assert [(m.field, m.label, m.text) for m in masks_of(case)] == [("reply", "mobile", "13987654321")]


def test_a_revised_draft_replaces_the_reply_masks_and_keeps_lifted_decisions(under_review, world):
    case = under_review()
    content_ids = {m.id for m in masks_of(case) if m.field == "content"}
    hotline = the_mask(case, "reply", "landline")
    mask_service.lift_mask(case, hotline.id, world.reviewer)
    case_service.review_draft(world.reviewer, case, "return", "请删去个人电话。")
    db.session.commit()
    case_service.draft_reply(world.handler, case, "已联系用人单位，请拨打热线0755 8888 6666咨询进展。")
    db.session.commit()
    reply_rows = [m for m in masks_of(case) if m.field == "reply"]
    assert [(m.label, m.text, m.lifted) for m in reply_rows] == [("landline", "0755 8888 6666", True)]
    assert reply_rows[0].start == case.draft_text.index("0755")
    assert {m.id for m in masks_of(case) if m.field == "content"} == content_ids


# --- the public copy is built from the stored masks ---------------------------------------------------

def test_approval_publishes_the_masked_copy(under_review, world):
    case = approve(world, under_review())
    public = f"{case.public_name} {case.public_title} {case.public_content} {case.public_reply}"
    for raw in RAW.values():
        assert raw not in public
    for label in RAW:
        assert privacy.MASKS[label] in case.public_content
    assert case.public_content.endswith("住沈河区青年大街[详细地址]。王五拖欠工资的事请处理。")
    assert case.public_reply == "经核实，已联系用人单位。如有疑问请致电[手机号]或拨打热线[固定电话]。"
    assert case.public_name == "张*"


def test_public_records_pages_and_api_show_no_personal_data(client, under_review, world):
    case = approve(world, under_review())
    shown = published_text(client, case.number)
    assert case.public_title in shown and "[银行卡号]" in shown
    for raw in [*RAW.values(), "13987654321", "张三", "13812345678", "zhangsan@example.com", "0755 8888 6666"]:
        assert raw not in shown


# What the adversarial test published: an ID with a wrong check character, a card failing Luhn, and
# contact details written after their usual words.
UNCHECKED = {
    "id_number_unverified": "110101199003071234",
    "bank_card_unverified": "6217000010012345670",
    "qq": "2345678901",
    "wechat": "zhangsan_1990",
    "plate": "辽A·D12345",
    "passport": "E12345678",
}
UNCHECKED_CONTENT = (f"身份证{UNCHECKED['id_number_unverified']}，卡号{UNCHECKED['bank_card_unverified']}，"
                     f"QQ：{UNCHECKED['qq']}，微信号：{UNCHECKED['wechat']}，车牌{UNCHECKED['plate']}，"
                     f"护照号码{UNCHECKED['passport']}。办件编号2026112700042，2025年10月1日，12,000元，第28条。")


def test_mistyped_numbers_and_keyword_contacts_never_reach_the_public(client, under_review, world):
    case = approve(world, under_review(content=UNCHECKED_CONTENT, reply="已处理，详见《条例》第28条。"))
    assert {(m.label, m.text) for m in masks_of(case)} == {(label, raw) for label, raw in UNCHECKED.items()}
    shown = published_text(client, case.number) + client.get("/feeds/records.atom").get_data(as_text=True)
    assert case.public_title in shown
    for raw in UNCHECKED.values():
        assert raw not in shown
    for kept in ("2026112700042", "2025年10月1日", "12,000元", "第28条"):
        assert kept in shown
    assert case.public_content.startswith("身份证[身份证号]，卡号[银行卡号]，QQ：[QQ号]，微信号：[微信号]，车牌[车牌号]，")


def test_review_panel_gives_every_mask_its_reason_and_marks_the_unverified_ones(client, under_review, login):
    case = under_review(content=UNCHECKED_CONTENT + f"手机{RAW['mobile']}。")
    login(client, "reviewer")
    html = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    table = re.search(r'<table class="pii-masks">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr[^>]*>\s*<td>[^<]*</td>\s*<td>(.*?)</td>\s*<td class=\"pii-snippet\">([^<]*)</td>", table, re.S)
    reasons = {snippet: re.sub(r"<[^>]+>", "", reason).strip() for reason, snippet in rows}
    assert reasons[UNCHECKED["id_number_unverified"]] == "疑似身份证号（校验位不符，仍按身份证号遮盖） 需核实"
    assert reasons[UNCHECKED["bank_card_unverified"]] == "疑似银行卡号（未通过卡号校验，仍按银行卡号遮盖） 需核实"
    assert reasons[UNCHECKED["qq"]] == "QQ号" and reasons[UNCHECKED["wechat"]] == "微信号"
    assert reasons[UNCHECKED["plate"]] == "车牌号" and reasons[UNCHECKED["passport"]] == "护照号"
    assert reasons[RAW["mobile"]] == "手机号"
    assert table.count("需核实") == 2 and "未通过校验（可能是输错的号码）" in html
    assert re.search(r'<mark class="pii pii-unverified" title="疑似身份证号[^"]*">110101199003071234</mark>', html)


def test_reviewer_masks_by_hand_and_lifts_a_false_positive_and_publication_honours_both(client, world, under_review, login, post_form):
    case = under_review()
    hotline = the_mask(case, "reply", "landline")
    login(client, "reviewer")
    page = f"/staff/cases/{case.number}"
    response = post_form(client, f"{page}/masks/{hotline.id}/lift", {"lifted": "1"}, form_url=page)
    assert response.status_code == 302 and response.headers["Location"].startswith(page)
    response = post_form(client, f"{page}/masks", {"field": "content", "text": "王五"}, form_url=page)
    assert response.status_code == 302
    manual = the_mask(case, "content", "manual")
    assert (manual.origin, manual.text, manual.created_by_id) == ("reviewer", "王五", world.reviewer.id)
    assert the_mask(case, "reply", "landline").lifted

    response = post_form(client, f"{page}/review", {"decision": "approve", "comment": "", "publish": "y"},
                         form_url=page)
    assert response.status_code == 302
    db.session.expire_all()
    published = db.session.get(Case, case.id)
    assert published.published
    assert "王五" not in published.public_content and published.public_content.count("[个人信息]") == 2
    assert "0755 8888 6666" in published.public_reply
    shown = published_text(client, case.number)
    assert "0755 8888 6666" in shown and "王五" not in shown


def test_lifted_mask_can_be_restored(world, under_review):
    case = under_review()
    hotline = the_mask(case, "reply", "landline")
    mask_service.lift_mask(case.number, hotline.id, world.reviewer, lifted=True)
    mask_service.lift_mask(case.number, hotline.id, world.reviewer, lifted=False)
    approve(world, case)
    assert "0755 8888 6666" not in case.public_reply


def test_the_citizens_own_phone_and_email_stay_masked_even_when_lifted(world, under_review):
    case = under_review(content="我的电话13812345678，邮箱zhangsan@example.com。", reply="已回复。")
    for row in masks_of(case):
        mask_service.lift_mask(case, row.id, world.reviewer)
    approve(world, case)
    assert case.public_content == "我的电话[手机号]，邮箱[电子邮箱]。"


def test_a_case_drafted_before_masks_were_stored_is_checked_at_approval(world, under_review):
    case = under_review()
    for row in masks_of(case):
        db.session.delete(row)
    db.session.commit()
    approve(world, case)
    for raw in RAW.values():
        assert raw not in case.public_content


def test_approval_without_publication_stores_no_public_copy(world, under_review):
    case = approve(world, under_review(), publish=False)
    assert not case.published and case.public_content is None


# --- who may change masks ------------------------------------------------------------------------

# Like every refused case action in the back office: the case page again with the reason on it
# (302), or 404 for a case the user may not see at all.
@pytest.mark.parametrize(("who", "status"), [("handler", 302), ("other-reviewer", 404), ("dispatcher", 404)])
def test_only_a_reviewer_of_the_department_may_change_masks_in_html(client, under_review, who, status, login, post_form):
    case = under_review()
    row = masks_of(case)[0]
    login(client, who)
    page = f"/staff/cases/{case.number}"
    for url, data in ((f"{page}/masks", {"field": "content", "text": "王五"}),
                      (f"{page}/masks/{row.id}/lift", {"lifted": "1"})):
        assert post_form(client, url, data, form_url="/staff/").status_code == status
    assert [(m.id, m.lifted) for m in masks_of(case) if m.origin == "reviewer" or m.lifted] == []


@pytest.mark.parametrize(("who", "status"), [("handler", 403), ("other_reviewer", 404), ("dispatcher", 404)])
def test_only_a_reviewer_of_the_department_may_change_masks_in_the_api(client, world, under_review, create_token,
                                                                         who, status):
    case = under_review()
    row = masks_of(case)[0]
    headers = bearer(create_token, getattr(world, who))
    base = f"/api/v1/staff/cases/{case.number}/masks"
    response = client.post(base, json={"field": "content", "text": "王五"}, headers=headers)
    assert response.status_code == status and response.get_json()["error"] in ("forbidden", "not_found")
    assert client.post(f"{base}/{row.id}/lift", json={"lifted": True}, headers=headers).status_code == status
    assert not any(m.lifted or m.origin == "reviewer" for m in masks_of(case))


def test_the_drafts_author_may_not_change_masks(world, under_review, create_user):
    from interact.domain.errors import Forbidden

    both = create_user("handler", "reviewer", department=world.housing)
    case = under_review()
    case.draft_by_id = both.id
    db.session.commit()
    with pytest.raises(Forbidden):
        mask_service.add_manual_mask(case, "content", "王五", both)


def test_masks_cannot_change_once_the_case_left_review(client, world, under_review, create_token):
    case = approve(world, under_review())
    row = masks_of(case)[0]
    headers = bearer(create_token, world.reviewer)
    base = f"/api/v1/staff/cases/{case.number}/masks"
    assert client.post(base, json={"field": "content", "text": "王五"}, headers=headers).status_code == 409
    assert client.post(f"{base}/{row.id}/lift", json={}, headers=headers).status_code == 409


def test_another_cases_mask_is_not_found(client, world, under_review, create_token):
    first, second = under_review(), under_review()
    foreign = masks_of(first)[0]
    headers = bearer(create_token, world.reviewer)
    response = client.post(f"/api/v1/staff/cases/{second.number}/masks/{foreign.id}/lift", json={}, headers=headers)
    assert response.status_code == 404
    assert client.post(f"/api/v1/staff/cases/{second.number}/masks/999999/lift", json={},
                       headers=headers).status_code == 404
    assert not the_mask(first, foreign.field, foreign.label).lifted


@pytest.mark.parametrize(("body", "field"), [
    ({"field": "content", "text": ""}, "text"),
    ({"field": "content", "text": "   "}, "text"),
    ({"field": "content", "text": "原文中没有的字"}, "text"),
    ({"field": "phone", "text": "王五"}, "field"),
    ({"field": "content", "text": 5}, "text"),
])
def test_a_manual_mask_must_name_an_exact_stretch_of_a_field(client, world, under_review, create_token, body, field):
    case = under_review()
    response = client.post(f"/api/v1/staff/cases/{case.number}/masks", json=body,
                           headers=bearer(create_token, world.reviewer))
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert not [m for m in masks_of(case) if m.origin == "reviewer"]


def test_api_adds_lifts_and_restores_masks_and_lists_them_for_the_reviewer(client, world, under_review, create_token):
    case = under_review()
    reviewer, handler = bearer(create_token, world.reviewer), bearer(create_token, world.handler)
    url = f"/api/v1/staff/cases/{case.number}"
    listed = client.get(url, headers=reviewer).get_json()["masks"]
    assert len(listed) == len(masks_of(case))
    assert set(listed[0]) == {"id", "field", "label", "origin", "lifted", "start", "end"}
    assert client.get(url, headers=handler).get_json()["masks"] is None

    added = client.post(f"{url}/masks", json={"field": "content", "text": "王五"}, headers=reviewer)
    assert added.status_code == 201
    manual = added.get_json()
    assert (manual["label"], manual["origin"], manual["lifted"]) == ("manual", "reviewer", False)
    assert case.content[manual["start"]:manual["end"]] == "王五"
    lifted = client.post(f"{url}/masks/{manual['id']}/lift", json={"lifted": True}, headers=reviewer)
    assert lifted.status_code == 200 and lifted.get_json()["lifted"] is True
    restored = client.post(f"{url}/masks/{manual['id']}/lift", json={"lifted": False}, headers=reviewer)
    assert restored.get_json()["lifted"] is False
    assert client.post(f"{url}/masks/{manual['id']}/lift", json={"lifted": "yes"}, headers=reviewer
                       ).status_code == 400


def test_mask_changes_are_audited_without_the_masked_text(world, under_review):
    case = under_review()
    hotline = the_mask(case, "reply", "landline")
    mask_service.add_manual_mask(case, "content", "王五", world.reviewer)
    mask_service.lift_mask(case, hotline.id, world.reviewer)
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("case.mask%"))
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.username, e.object_type, e.object_id) for e in entries] == [
        ("case.mask_add", "reviewer", "case", case.number), ("case.mask_lift", "reviewer", "case", case.number)]
    assert json.loads(entries[0].details) == {"field": "content", "label": "manual"}
    assert json.loads(entries[1].details)["label"] == "landline"
    for entry in entries:
        assert "王五" not in entry.details and "0755" not in entry.details


# --- the review page -----------------------------------------------------------------------------

def test_review_page_highlights_what_will_be_masked_and_escapes_citizen_text(client, under_review, login):
    case = under_review(content=f"<script>alert('x')</script>请联系{RAW['mobile']}。")
    login(client, "reviewer")
    html = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert re.search(r'<mark class="pii"[^>]*>' + re.escape(RAW["mobile"]) + "</mark>", html)
    assert re.search(r'<mark class="pii"[^>]*>0755 8888 6666</mark>', html)
    assert "[手机号]" in html  # the preview of the public copy
    assert f'action="/staff/cases/{case.number}/masks"' in html
    assert f"/staff/cases/{case.number}/masks/{the_mask(case, 'reply', 'landline').id}/lift" in html


def test_review_panel_is_shown_only_to_a_reviewer_who_may_review(client, under_review, login):
    case = under_review()
    login(client, "handler")
    html = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert 'class="pii"' not in html and "/masks" not in html


def test_a_rejected_manual_mask_is_explained_on_the_page(client, under_review, login, post_form):
    case = under_review()
    login(client, "reviewer")
    page = f"/staff/cases/{case.number}"
    response = post_form(client, f"{page}/masks", {"field": "content", "text": "没有这句话"}, form_url=page,
                         follow_redirects=True)
    assert response.status_code == 200
    assert "所选内容中没有这段文字" in response.get_data(as_text=True)
