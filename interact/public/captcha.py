"""The image CAPTCHA route of the public surface (`/captcha.png`), drawn on this server.

Each request starts a new challenge in the citizen's session (see interact.services.antispam),
so the image is never cached. While the CAPTCHA is switched off the route answers 404. The
blueprint is "public_captcha".
"""
from __future__ import annotations

from flask import Blueprint, abort, make_response

from ..services import antispam


def make_blueprint() -> Blueprint:
    """Build the CAPTCHA image's blueprint ("public_captcha", no URL prefix)."""
    bp = Blueprint("public_captcha", __name__)

    @bp.get("/captcha.png")
    def captcha():
        """A new CAPTCHA image; its answer replaces any earlier one in the session."""
        if not antispam.captcha_required():
            abort(404)  # nothing to draw, and no work for anyone to make us do
        response = make_response(antispam.new_challenge())
        response.mimetype = "image/png"
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
