"""Atom feeds (RFC 4287) of published records (Art. 18): all records, one department's, one kind's.

Each feed holds the newest records with their masked public copy only (public_title,
public_content, public_reply). The XML is built with xml.etree.ElementTree, which escapes
every text node, and the entry content is HTML whose citizen text is escaped before that:
nothing a citizen wrote can become markup in a feed reader. The blueprint is "public_feeds".
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from flask import Blueprint, current_app, make_response, request
from flask_babel import gettext as _
from markupsafe import Markup

from ..domain.kinds import KINDS
from ..services import directory
from ..services import subscriptions as subscription_service
from ..services.subscriptions import RecordItem
from ..domain.timeutil import utcnow
from ..web.pagecache import public_page

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MIMETYPE = "application/atom+xml"
# Characters XML 1.0 forbids (a pasted letter may hold them): dropped so that the feed stays well-formed.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def rfc3339(moment: datetime) -> str:
    """An aware datetime as an RFC 3339 UTC timestamp: 2026-05-06T02:30:00Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(text: str | None) -> str:
    """Text safe to put in an XML 1.0 document."""
    return XML_ILLEGAL.sub("", text or "")


def _paragraphs(text: str) -> Markup:
    """Plain text as escaped HTML paragraphs, one per line."""
    return Markup("").join(Markup("<p>{}</p>").format(line) for line in text.splitlines() if line.strip())


def _entry_html(record: RecordItem) -> str:
    """An entry's content: the masked letter and the reply, as escaped HTML."""
    return str(Markup("<h3>{}</h3>{}<h3>{}</h3>{}").format(
        _("来信内容"), _paragraphs(record.content), _("答复内容"), _paragraphs(record.reply)))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child element with optional text and attributes."""
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _clean(text)
    return element


def atom_feed(records: list[RecordItem], *, title: str, path: str, alternate: str) -> bytes:
    """The Atom document of `records` (newest first) served at `path`."""
    base = current_app.config["INTERACT_PUBLIC_URL"].rstrip("/")
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: "zh-CN"})
    _sub(feed, "id", base + path)
    _sub(feed, "title", title, type="text")
    _sub(feed, "subtitle", _("经审核公开的办件及答复；来信人的个人信息已隐去。"), type="text")
    _sub(feed, "updated", rfc3339(records[0].replied_at if records else utcnow()))
    _sub(feed, "link", rel="self", type=MIMETYPE, href=base + path)
    _sub(feed, "link", rel="alternate", type="text/html", href=base + alternate)
    author = _sub(feed, "author")
    _sub(author, "name", _("政民互动平台"))
    _sub(feed, "generator", "interact")
    for record in records:
        url = f"{base}/records/{record.number}"
        entry = _sub(feed, "entry")
        _sub(entry, "id", url)
        _sub(entry, "title", record.title, type="text")
        _sub(entry, "updated", rfc3339(record.replied_at))
        _sub(entry, "published", rfc3339(record.replied_at))
        _sub(entry, "link", rel="alternate", type="text/html", href=url)
        if record.department:
            _sub(_sub(entry, "author"), "name", record.department)
        _sub(entry, "category", term=record.kind, label=_clean(record.kind_label))
        _sub(entry, "summary", record.content_excerpt, type="text")
        _sub(entry, "content", _entry_html(record), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _response(document: bytes):
    """The feed with its media type; readers polling it get 304 while it is unchanged."""
    response = make_response(document)
    response.headers["Content-Type"] = f"{MIMETYPE}; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


def make_blueprint() -> Blueprint:
    """Build the feeds' blueprint ("public_feeds", no URL prefix)."""
    bp = Blueprint("public_feeds", __name__)

    @bp.get("/feeds/records.atom")
    @public_page
    def feed_records():
        """The newest published records of every department."""
        records = subscription_service.latest_records()
        return _response(atom_feed(records, title=_("政民互动平台 · 办理结果公开"), path="/feeds/records.atom",
                                   alternate="/records"))

    @bp.get("/feeds/departments/<code>.atom")
    @public_page
    def feed_department(code: str):
        """The newest published records of one department; 404 for an unknown one."""
        dept = directory.department_by_code(code)
        records = subscription_service.latest_records(department_id=dept.id)
        title = _("政民互动平台 · %(department)s办理结果公开", department=dept.name)
        return _response(atom_feed(records, title=title, path=f"/feeds/departments/{dept.code}.atom",
                                   alternate=f"/records?department={dept.code}"))

    @bp.get("/feeds/kinds/<kind>.atom")
    @public_page
    def feed_kind(kind: str):
        """The newest published records of one kind; 404 for an unknown one."""
        records = subscription_service.latest_records(kind=kind)
        title = _("政民互动平台 · %(kind)s办理结果公开", kind=KINDS[kind].label)
        return _response(atom_feed(records, title=title, path=f"/feeds/kinds/{kind}.atom",
                                   alternate=f"/records?kind={kind}"))

    return bp
