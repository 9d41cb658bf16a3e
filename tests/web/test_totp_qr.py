"""The enrolment QR code is drawn whole: the page may scale it, never crop it (phones must scan it)."""
from __future__ import annotations

import re

import segno

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
