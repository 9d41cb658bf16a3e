"""The enrolment QR code is drawn whole: the page may scale it, never crop it, and it scans: the
page's own SVG, rendered to pixels, decodes to the user's otpauth:// URI."""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, unquote, urlparse

import resvg_py
import segno
import zxingcpp
from PIL import Image
from sqlalchemy import select

from interact.domain.db import db
from interact.domain.models import User
from interact.staff.account import qr_svg

URI = "otpauth://totp/%E6%94%BF%E6%B0%91%E4%BA%92%E5%8A%A8%E5%B9%B3%E5%8F%B0:admin?secret=JBSWY3DPEHPK3PXPJBSWY3DP"


def test_the_qr_svg_scales_as_a_whole_with_its_quiet_zone(app):
    with app.test_request_context("/staff/account/2fa"):
        svg = qr_svg(URI)
    opening = re.match(r"<svg[^>]*>", svg).group(0)
    # No fixed size that a narrower box would clip; a viewBox that covers the symbol and its border.
    assert " width=" not in opening and " height=" not in opening, opening
    modules = segno.make(URI, error="m").symbol_size(scale=5, border=4)
    assert re.search(r'viewBox="0 0 (\d+) (\d+)"', opening).groups() == tuple(str(n) for n in modules)


def test_the_enrolment_page_shows_the_whole_code(client, world, login):
    login(client, world.handler.username)  # a handler may enrol, and has not yet
    html = client.get("/staff/account/2fa").get_data(as_text=True)
    assert re.search(r'<div class="totp-qr"><svg viewBox="0 0 \d+ \d+"', html), html[:2000]


def test_the_enrolment_page_qr_code_decodes_to_the_users_otpauth_uri(client, world, login):
    """Rendered as a browser would draw the page's own SVG, then read as a phone's camera would."""
    login(client, world.handler.username)
    html = client.get("/staff/account/2fa").get_data(as_text=True)
    svg = re.search(r'<div class="totp-qr">(<svg.*?</svg>)', html, re.S).group(1)
    png = resvg_py.svg_to_bytes(svg_string=svg, width=600, background="#ffffff")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(png))).convert("L"),
                                     formats=zxingcpp.BarcodeFormat.QRCode)  # no stray 1-D matches
    assert [b.format for b in found] == [zxingcpp.BarcodeFormat.QRCode]
    uri = urlparse(found[0].text)
    db.session.expire_all()
    secret = db.session.scalar(select(User.totp_secret).where(User.username == world.handler.username))
    assert uri.scheme == "otpauth" and uri.netloc == "totp" and secret
    query = parse_qs(uri.query)
    assert query["secret"] == [secret] and query["issuer"] == ["政民互动平台"]
    assert unquote(uri.path) == f"/政民互动平台:{world.handler.username}"
    # The key for typing in by hand is the same.
    shown = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)
    assert shown.replace(" ", "") == secret
