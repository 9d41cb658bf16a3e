"""The image CAPTCHA route of the public surface (`/captcha.png`), drawn on this server.

Each request starts a new challenge in the citizen's session (see interact.services.antispam),
so the image is never cached. While the CAPTCHA is switched off the route answers 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, make_response

from ..services import antispam


def register(bp: Blueprint) -> None:
    """Add the CAPTCHA image route to the public blueprint."""

    @bp.get("/captcha.png")
    def captcha():
        """A new CAPTCHA image; its answer replaces any earlier one in the session."""
        if not antispam.captcha_required():
            abort(404)  # nothing to draw, and no work for anyone to make us do
        response = make_response(antispam.new_challenge())
        response.mimetype = "image/png"
        response.headers["Cache-Control"] = "no-store"
        return response
