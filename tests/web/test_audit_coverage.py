"""Coverage of the audit trail: every state-changing staff route writes at least one entry.

The routes come from the app's url_map, so a POST route added later is walked too. Routes
known here get a plausible request (the right user, a real object, a valid body); any other
route gets a generic one: its URL filled in from ARG_VALUES, the form found on its page (or a
parent page) submitted with its defaults, tried as each staff user in turn. A route that
writes no entry fails here: record it (audit.record in its service, audit.record_refusal for a
refusal), or give it a plausible request in PROBES.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pyotp
import pytest
from fixtures.values import PASSWORD
from sqlalchemy import func, select

from interact import create_app
from interact.domain.db import db
from interact.domain.models import AuditEntry, TextMask, User
from interact.services import overrides

PREFIXES = ("/staff/", "/api/v1/staff/")
NEW_PASSWORD = "Brand-New-Passw0rd-2026"
CASE_CONTENT = "请问公租房申请条件是什么？我的电话13912345678。"
# Whom the generic request is tried as, in turn.
ACTORS = ("admin", "reviewer", "handler", "dispatcher", "auditor", None)


def _state_changing_rules() -> list:
    """Every POST rule of the staff surface (the staff pages and the staff API)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "INTERACT_INSTANCE_PATH": tempfile.mkdtemp()},
                     surface="staff")
    return sorted((r for r in app.url_map.iter_rules()
                   if "POST" in r.methods and r.rule.startswith(PREFIXES)), key=lambda r: r.endpoint)


RULES = _state_changing_rules()
assert os.environ.get("INTERACT_INSTANCE_PATH")  # conftest keeps the suite out of instance/


# --- submitting forms as a browser would -------------------------------------------------------

class _Forms(HTMLParser):
    """The forms of a page: action, method and the fields a browser would send by default."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": [],
                          "radios": {}}
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind == "radio":
                self._form["radios"].setdefault(name, [])
                self._form["radios"][name].append((a.get("value", "on"), "checked" in a))
            elif kind == "checkbox":
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "y")))
            else:
                self._form["fields"].append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = (name, "multiple" in a), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "select" and self._select:
            name, multiple = self._select
            chosen = [v for v, sel in self._options if sel]
            if not chosen:
                # Nothing selected: a plausible user picks the first real choice.
                chosen = [v for v, _sel in self._options if v][:1]
            self._form["fields"] += [(name, v) for v in (chosen if multiple else chosen[:1])]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append((self._textarea, self._text.strip() or "审计覆盖测试"))
            self._textarea = None
        elif tag == "form":
            for name, options in self._form.pop("radios").items():
                chosen = [v for v, checked in options if checked] or [options[0][0]]
                self._form["fields"].append((name, chosen[0]))
            self._form = None


def form_posting_to(html: str, url: str) -> dict | None:
    """The default fields of the form on `html` that posts to `url`, or None."""
    parser = _Forms()
    parser.feed(html)
    target = urlsplit(url).path
    for form in parser.forms:
        if form["method"] == "post" and urlsplit(form["action"]).path == target:
            data: dict[str, list[str]] = {}
            for name, value in form["fields"]:
                data.setdefault(name, []).append(value)
            return data
    return None


# --- the requests --------------------------------------------------------------------------------

@dataclass
class Probe:
    """One plausible request to a state-changing route."""

    actor: str | None  # who signs in first (None: nobody); for the API, whose token is sent
    url: str
    fields: dict | Callable[[Callable], dict] = field(default_factory=dict)  # what the user types; called with totp_now
    page: str | None = None  # the page holding the form; default: the URL itself
    prepare: Callable[[object, Callable], None] | None = None  # run with the client and csrf_from before counting
    api: bool = False


@dataclass
class Scene:
    """What the probes refer to: the world, a case in each useful state, a mask."""

    world: object
    submitted: str
    review: str  # pending review in housing, with a detected mask
    mask_id: int
    two_factor_user: str


@pytest.fixture
def scene(world, create_case, create_user) -> Scene:
    """A world with cases to act on and a handler who has two-factor authentication."""
    submitted, _code = create_case("submitted")
    review, _code = create_case("pending_review", content=CASE_CONTENT)
    mask_id = db.session.scalar(select(TextMask.id).where(TextMask.object_type == "case",
                                                          TextMask.object_id == review.id).limit(1))
    assert mask_id is not None, "the detector found no personal data to mask in CASE_CONTENT"
    create_user("handler", department=world.housing, username="handler-2fa", two_factor=True)
    overrides.set_override(__import__("datetime").date(2026, 12, 28), False, "测试", actor=world.admin)
    db.session.commit()
    return Scene(world, submitted.number, review.number, mask_id, "handler-2fa")


def _pending_totp(username: str) -> Callable[[], dict]:
    """The enrolment code for the secret the enrolment page just created."""
    def code(_totp_now) -> dict:
        db.session.expire_all()
        secret = db.session.scalar(select(User.totp_secret).where(User.username == username))
        return {"code": pyotp.TOTP(secret).now()}
    return code


def _first_sign_in_step(username: str) -> Callable[[object], None]:
    """Sign in with the password only, leaving the second step for the probe."""
    def prepare(client, csrf_from) -> None:
        page = client.get("/staff/login")
        client.post("/staff/login", data={"username": username, "password": PASSWORD,
                                          "csrf_token": csrf_from(page.get_data(as_text=True))})
    return prepare


PROBES: dict[str, Callable[[Scene], Probe]] = {
    "staff.login": lambda s: Probe(None, "/staff/login", {"username": "handler", "password": PASSWORD}),
    "staff_account.login_verify": lambda s: Probe(None, "/staff/login/verify", lambda totp_now: {"code": totp_now("reviewer")},
                                          prepare=_first_sign_in_step("reviewer")),
    "staff.logout": lambda s: Probe("handler", "/staff/logout"),
    "staff.case_action": lambda s: Probe("dispatcher", f"/staff/cases/{s.submitted}/dispatch",
                                         {"department": "housing"}, page=f"/staff/cases/{s.submitted}"),
    "staff_masks.case_mask_add": lambda s: Probe("reviewer", f"/staff/cases/{s.review}/masks",
                                           {"field": "content", "text": "公租房申请条件"},
                                           page=f"/staff/cases/{s.review}"),
    "staff_masks.case_mask_lift": lambda s: Probe("reviewer", f"/staff/cases/{s.review}/masks/{s.mask_id}/lift",
                                            page=f"/staff/cases/{s.review}"),
    "api_staff.act": lambda s: Probe("dispatcher", f"/api/v1/staff/cases/{s.submitted}/dispatch",
                                     {"department": "housing"}, api=True),
    "api_staff.add_mask": lambda s: Probe("reviewer", f"/api/v1/staff/cases/{s.review}/masks",
                                          {"field": "content", "text": "公租房申请条件"}, api=True),
    "api_staff.lift_mask": lambda s: Probe("reviewer", f"/api/v1/staff/cases/{s.review}/masks/{s.mask_id}/lift",
                                           {"lifted": True}, api=True),
    "staff_account.change_password": lambda s: Probe("handler", "/staff/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}),
    "staff_account.enrol_two_factor": lambda s: Probe("handler", "/staff/account/2fa", _pending_totp("handler")),
    "staff_account.disable_two_factor": lambda s: Probe(
        s.two_factor_user, "/staff/account/2fa/disable",
        lambda totp_now: {"password": PASSWORD, "code": totp_now(s.two_factor_user)}, page="/staff/account"),
    "staff_account.regenerate_recovery_codes": lambda s: Probe(
        s.two_factor_user, "/staff/account/2fa/recovery-codes",
        lambda totp_now: {"password": PASSWORD, "code": totp_now(s.two_factor_user)}, page="/staff/account"),
    "staff_account.admin_reset_password": lambda s: Probe("admin", "/staff/admin/users/handler/password",
                                                  {"new_password": NEW_PASSWORD}, page="/staff/admin/users/handler"),
    "staff_account.admin_reset_two_factor": lambda s: Probe("admin", "/staff/admin/users/reviewer/2fa/reset",
                                                    page="/staff/admin/users/reviewer"),
    "staff_admin.admin_departments": lambda s: Probe("admin", "/staff/admin/departments",
                                               {"code": "water", "name": "市水务局",
                                                "public_contacts": "024-22860000"}),
    "staff_admin.admin_department": lambda s: Probe("admin", "/staff/admin/departments/housing",
                                              {"name": "市住建局", "public_contacts": "zjj@example.gov.cn"}),
    "staff_admin.admin_sites": lambda s: Probe("admin", "/staff/admin/sites", {
        "department": "housing", "name": "住建局新网站", "base_url": "https://new.zjj.example.gov.cn"}),
    "staff_admin.admin_users": lambda s: Probe("admin", "/staff/admin/users", {
        "username": "newclerk", "password": NEW_PASSWORD, "roles": ["dispatcher"], "department": "gov-office"}),
    "staff_admin.admin_user": lambda s: Probe("admin", "/staff/admin/users/handler"),
    "staff_admin.admin_set_override": lambda s: Probe("admin", "/staff/admin/calendar/overrides",
                                                {"day": "2026-12-29", "working": "off", "note": "测试"},
                                                page="/staff/admin/calendar?year=2026"),
    "staff_admin.admin_clear_override": lambda s: Probe("admin", "/staff/admin/calendar/overrides/2026-12-28/clear",
                                                  page="/staff/admin/calendar?year=2026"),
    "staff_admin.admin_confirm_year": lambda s: Probe("admin", "/staff/admin/calendar/confirm",
                                                {"year": "2027", "note": "国办发明电"},
                                                page="/staff/admin/calendar?year=2027"),
    "staff_admin.admin_deadlines": lambda s: Probe("admin", "/staff/admin/deadlines", {"kind": "complaint", "days": "5"}),
}


# Values for URL parts of routes without a probe, by the part's name.
ARG_VALUES: dict[str, Callable[[Scene], object]] = {
    "number": lambda s: s.review,
    "action": lambda s: "accept",
    "username": lambda s: "handler",
    "code": lambda s: "housing",
    "day": lambda s: "2026-12-28",
    "mask_id": lambda s: s.mask_id,
    "year": lambda s: 2026,
}


def _generic_probes(rule, s: Scene) -> list[Probe]:
    """A request per staff user for a route nobody wrote a probe for."""
    missing = [arg for arg in rule.arguments if arg not in ARG_VALUES]
    assert not missing, f"{rule.rule}: add a value for {missing} to ARG_VALUES or a probe to PROBES"
    url = rule.build({arg: ARG_VALUES[arg](s) for arg in rule.arguments}, append_unknown=False)[1]
    api = rule.rule.startswith("/api/")
    return [Probe(actor, url, api=api) for actor in ACTORS if not (api and actor is None)]


def _parent_pages(url: str) -> list[str]:
    """The URL and its parents, nearest first: where a form posting to `url` is likely to be."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    pages = ["/".join(parts[:n]) or "/" for n in range(len(parts), 2, -1)]
    return pages + ["/staff/account", "/staff/"]


@pytest.fixture
def send(create_token, login, csrf_from, totp_now):
    """send(client, probe, world): sign in, prepare, then send the probe; how many audit entries it wrote."""

    def send(client, probe: Probe, world) -> int:
        """Sign in, prepare, then send the probe; return how many audit entries it wrote."""
        headers = {}
        if probe.api:
            headers["Authorization"] = f"Bearer {create_token(getattr(world, probe.actor.replace('-', '_')))}"
        elif probe.actor:
            login(client, probe.actor)
        if probe.prepare:
            probe.prepare(client, csrf_from)
        before = _count()
        if probe.api:
            fields = probe.fields(totp_now) if callable(probe.fields) else probe.fields
            client.post(probe.url, json=fields, headers=headers)
            return _count() - before
        pages = [probe.page] if probe.page else _parent_pages(probe.url)
        data, token = None, None
        for page in pages:
            response = client.get(page)
            if response.status_code != 200:
                continue
            html = response.get_data(as_text=True)
            token = token or _csrf_or_none(csrf_from, html)
            data = form_posting_to(html, probe.url)
            if data is not None:
                break
        fields = probe.fields(totp_now) if callable(probe.fields) else probe.fields
        payload = {**(data or {}), **fields}
        payload.setdefault("csrf_token", token or "")
        before = _count()  # reading a page may itself be audited (e.g. a download); only the POST counts
        client.post(probe.url, data=payload)
        return _count() - before

    return send


def _csrf_or_none(csrf_from, html: str) -> str | None:
    """The page's CSRF token, if it has a form."""
    try:
        return csrf_from(html)
    except AssertionError:
        return None


def _count() -> int:
    """How many audit entries are committed."""
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEntry.id)))


@pytest.mark.parametrize("rule", RULES, ids=[r.endpoint for r in RULES])
def test_state_changing_route_writes_an_audit_entry(rule, app, scene, send):
    known = PROBES.get(rule.endpoint)
    probes = [known(scene)] if known else _generic_probes(rule, scene)
    written = 0
    for probe in probes:
        client = app.test_client()
        written = send(client, probe, scene.world)
        if written:
            break
    assert written > 0, (f"POST {rule.rule} ({rule.endpoint}) wrote no audit entry; record it with "
                         "audit.record / audit.record_refusal, or give it a plausible request in PROBES")
    newest = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(written)).all()
    assert all(e.username for e in newest), [(e.action, e.username) for e in newest]


def test_the_walk_covers_both_staff_surfaces():
    endpoints = {r.endpoint for r in RULES}
    assert {"staff.case_action", "api_staff.act", "staff.login", "staff.logout", "staff_admin.admin_users"} <= endpoints
    # Every probe still matches a route: a renamed route must not leave a probe behind.
    assert set(PROBES) <= endpoints


def test_the_form_reader_submits_what_a_browser_would():
    html = """<form method="post" action="/staff/x?y=1"><input type="hidden" name="csrf_token" value="t">
      <input name="a" value="1"><input type="checkbox" name="b" value="y" checked><input type="checkbox" name="c">
      <select name="d"><option value="">请选择</option><option value="x">X</option></select>
      <select name="e" multiple><option value="p" selected>P</option><option value="q" selected>Q</option></select>
      <input type="radio" name="f" value="one"><input type="radio" name="f" value="two">
      <textarea name="g">hello</textarea><button type="submit" name="go">Go</button></form>"""
    assert form_posting_to(html, "/staff/x") == {"csrf_token": ["t"], "a": ["1"], "b": ["y"], "d": ["x"],
                                                  "e": ["p", "q"], "g": ["hello"], "f": ["one"]}
    assert form_posting_to(html, "/staff/other") is None


@pytest.mark.fresh_app
def test_a_route_that_records_nothing_is_caught(app, scene, send):
    """The generic walk would fail a new route that changes state without an audit entry."""
    app.add_url_rule("/staff/cases/<number>/silently", "staff.silent_change", lambda number: "done",
                     methods=["POST"])
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "staff.silent_change")
    probes = _generic_probes(rule, scene)
    assert [p.actor for p in probes] == list(ACTORS)
    assert all(send(app.test_client(), probe, scene.world) == 0 for probe in probes)
