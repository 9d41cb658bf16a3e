"""Content rules (Art. 17; issue 3, section 4): links outside the administrator's government
domains and sensitive words are flagged to the reviewer; flags never change anything. Also the
administrator's security settings page and service."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from interact.domain.errors import Forbidden, ValidationFailed
from interact.domain.db import db
from interact.domain.models import AuditEntry, Case, CaseFlag, Setting
from interact.services import cases as case_service
from interact.services import content_rules, settings

EVIL = "http://shop.example.com/buy?id=1"


def flags_of(case) -> set[tuple[str, str, str]]:
    """(kind, field, match) of a case's flags."""
    return {(f.kind, f.field, f.match) for f in db.session.scalars(select(CaseFlag).where(CaseFlag.case_id == case.id))}


def set_rules(world, domains=None, words=None) -> None:
    """The administrator sets the government domains and sensitive words."""
    values = {}
    if domains is not None:
        values[settings.GOV_DOMAINS] = domains
    if words is not None:
        values[settings.SENSITIVE_WORDS] = words
    settings.update(world.admin, **values)
    db.session.commit()


# --- the detector -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,found", [
    ("详见 http://www.gov.cn/zhengce 谢谢", []),
    ("详见https://zjj.example.gov.cn/a/b。", []),
    ("HTTPS://WWW.GOV.CN/x", []),
    (f"请看{EVIL}，很便宜", [EVIL]),
    ("请访问www.taobao.com购买", ["www.taobao.com"]),
    ("全角：ｗｗｗ．ｔａｏｂａｏ．ｃｏｍ", ["www.taobao.com"]),
    ("https://gov.cn@evil.example/", ["https://gov.cn@evil.example/"]),
    ("https://evil.example\\@gov.cn", ["https://evil.example"]),
    ("https://www.gov.cn.evil.example/", ["https://www.gov.cn.evil.example/"]),
    ("https://notgov.cn/", ["https://notgov.cn/"]),
    ("http://1.2.3.4/x", ["http://1.2.3.4/x"]),
    ("http://zjj.example.gov.cn:8080/p", []),
    ("两个 http://a.example/ 和 http://a.example/", ["http://a.example/"]),
    ("没有链接，只有邮箱 someone@example.com 和数字 12345", []),
])
def test_links_outside_the_government_domains_are_found(text, found):
    assert content_rules.external_links(text, ["gov.cn"]) == found


def test_sensitive_words_match_regardless_of_width_case_and_spacing():
    words = ["代开发票", "VPN", "赌博"]
    assert content_rules.sensitive_words_in("可以代 开 发票，也卖ｖｐｎ", words) == ["代开发票", "VPN"]
    assert content_rules.sensitive_words_in("正常的咨询内容", words) == []


# --- flags at submission and at drafting ------------------------------------------------------

def test_a_submitted_case_is_flagged_and_left_unchanged(world, create_case):
    set_rules(world, words=["代开发票"])
    content = f"有人在 {EVIL} 代开发票。政府网站 https://www.gov.cn/ 没有说明。"
    case, _code = create_case("submitted", title="举报代开发票", content=content)
    assert flags_of(case) == {
        ("sensitive_word", "title", "代开发票"),
        ("sensitive_word", "content", "代开发票"),
        ("external_link", "content", EVIL),
    }
    # Flags never delete or alter anything: the text is exactly as the citizen wrote it.
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    assert stored.title == "举报代开发票" and stored.content == content


def test_a_clean_case_has_no_flags(world, create_case):
    case, _code = create_case("submitted", title="公租房咨询", content="请问 http://zjj.example.gov.cn 上的表格在哪？")
    assert flags_of(case) == set()


def test_domains_are_the_administrators_and_include_subdomains(world, create_case):
    set_rules(world, domains=["gov.cn", "example.org"])
    case, _code = create_case("submitted", content="见 https://docs.example.org/a 和 https://example.net/b")
    assert flags_of(case) == {("external_link", "content", "https://example.net/b")}


def test_a_reply_draft_is_flagged_and_a_new_draft_replaces_its_flags(world, create_case):
    set_rules(world, words=["内部文件"])
    case, _code = create_case("handling")
    case_service.draft_reply(world.handler, case, f"请参考 {EVIL} 的内部文件。")
    db.session.commit()
    assert flags_of(case) == {("external_link", "reply", EVIL), ("sensitive_word", "reply", "内部文件")}
    case_service.review_draft(world.reviewer, case, "return", "请删去站外链接。")
    case_service.draft_reply(world.handler, case, "请参考 https://www.gov.cn/ 的说明。")
    db.session.commit()
    assert flags_of(case) == set()


def test_a_decline_explanation_is_checked_too(world, create_case):
    case, _code = create_case("handling")
    case_service.draft_decline(world.handler, case, "out_of_scope", f"请到 {EVIL} 反映。")
    db.session.commit()
    assert flags_of(case) == {("external_link", "reply", EVIL)}


def test_the_reviewer_sees_the_flags_on_the_case_page_and_in_the_api(client, world, create_case, create_token, login):
    set_rules(world, words=["代开发票"])
    case, _code = create_case("pending_review", content=f"代开发票 {EVIL}")
    login(client, "reviewer")
    html = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    assert "需注意" in html and EVIL.replace("&", "&amp;") in html and "敏感词" in html and "站外链接" in html
    api = client.get(f"/api/v1/staff/cases/{case.number}",
                     headers={"Authorization": "Bearer " + create_token(world.reviewer)}).get_json()
    assert {(f["kind"], f["field"], f["match"]) for f in api["flags"]} == {
        ("sensitive_word", "content", "代开发票"), ("external_link", "content", EVIL)}
    clean, _ = create_case("pending_review")
    assert "需注意" not in client.get(f"/staff/cases/{clean.number}").get_data(as_text=True)


def test_flags_never_reach_the_public(client, world, create_case):
    set_rules(world, words=["代开发票"])
    case, code = create_case("replied", content="代开发票")
    assert "需注意" not in client.get(f"/records/{case.number}").get_data(as_text=True)
    assert "flags" not in client.get(f"/api/v1/records/{case.number}").get_json()
    assert "flags" not in client.get(f"/api/v1/cases/{case.number}", headers={"X-Query-Code": code}).get_json()


# --- the settings service ---------------------------------------------------------------------

def test_settings_have_safe_defaults(app):
    assert settings.captcha_enabled() is False
    assert settings.gov_domains() == ["gov.cn"]
    assert settings.sensitive_words() == []


def test_domains_are_normalised_and_bad_ones_refused(world):
    set_rules(world, domains=["GOV.CN", "https://www.example.gov.cn/path", "*.city.example.org", "gov.cn",
                              "中国政府.cn"])
    assert settings.gov_domains() == ["gov.cn", "www.example.gov.cn", "city.example.org", "xn--fiqs8sirgfmh.cn"]
    for bad in (["not a domain"], ["-bad.cn"], ["localhost"], ["a..b.cn"]):
        with pytest.raises(ValidationFailed) as caught:
            settings.update(world.admin, **{settings.GOV_DOMAINS: bad})
        assert settings.GOV_DOMAINS in caught.value.fields


def test_words_are_deduplicated_and_limited(world):
    set_rules(world, words=["赌博", " 赌博 ", "ＶＰＮ", ""])
    assert settings.sensitive_words() == ["赌博", "VPN"]
    with pytest.raises(ValidationFailed):
        settings.update(world.admin, **{settings.SENSITIVE_WORDS: ["长" * 51]})


def test_only_an_administrator_changes_settings(world):
    for user in (world.handler, world.reviewer, world.dispatcher, world.auditor):
        with pytest.raises(Forbidden):
            settings.update(user, **{settings.CAPTCHA: True})
    assert settings.captcha_enabled() is False


def test_a_change_is_stored_as_json_and_audited(world):
    settings.update(world.admin, **{settings.SENSITIVE_WORDS: ["赌博", "代开发票"], settings.CAPTCHA: True})
    db.session.commit()
    row = db.session.get(Setting, settings.SENSITIVE_WORDS)
    assert json.loads(row.value) == ["赌博", "代开发票"] and row.updated_by_id == world.admin.id
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.change")
                                      .order_by(AuditEntry.id)))
    by_object = {e.object_id: json.loads(e.details) for e in entries}
    assert by_object[settings.SENSITIVE_WORDS]["added"] == ["赌博", "代开发票"]
    assert by_object[settings.SENSITIVE_WORDS]["new_count"] == 2
    assert by_object[settings.CAPTCHA] == {"setting": settings.CAPTCHA, "old": False, "new": True}
    assert all(e.username == "admin" and e.outcome == "success" for e in entries)
    # Saving the same values again changes nothing and records nothing.
    assert settings.update(world.admin, **{settings.CAPTCHA: True}) == []


# --- the administrator's page -----------------------------------------------------------------

def test_the_security_page_is_for_administrators_only(client, world, login):
    assert client.get("/staff/admin/security").status_code in (302, 303)
    login(client, "handler")
    assert client.get("/staff/admin/security").status_code == 403
    login(client, "admin")
    page = client.get("/staff/admin/security")
    assert page.status_code == 200 and "gov.cn" in page.get_data(as_text=True)


def test_the_administrator_saves_the_switch_and_the_lists(client, world, csrf_from, login):
    login(client, "admin")
    page = client.get("/staff/admin/security").get_data(as_text=True)
    response = client.post("/staff/admin/security", data={
        "csrf_token": csrf_from(page), "captcha_enabled": "y",
        "gov_domains": "gov.cn\nexample.gov.cn", "sensitive_words": "赌博\n代开发票"})
    assert response.status_code in (302, 303)
    assert settings.captcha_enabled() is True
    assert settings.gov_domains() == ["gov.cn", "example.gov.cn"]
    assert settings.sensitive_words() == ["赌博", "代开发票"]
    shown = client.get("/staff/admin/security").get_data(as_text=True)
    assert "已保存安全设置" in shown and "代开发票" in shown


def test_a_bad_domain_is_refused_on_the_page_and_nothing_is_saved(client, world, csrf_from, login):
    login(client, "admin")
    page = client.get("/staff/admin/security").get_data(as_text=True)
    response = client.post("/staff/admin/security", data={
        "csrf_token": csrf_from(page), "gov_domains": "gov.cn\nnot a domain", "sensitive_words": "赌博"})
    assert response.status_code == 400
    assert "not a domain" in response.get_data(as_text=True)
    assert settings.gov_domains() == ["gov.cn"] and settings.sensitive_words() == []
    failure = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "settings.change"))
    assert failure is not None and failure.outcome == "failure"
