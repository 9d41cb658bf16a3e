"""The lost-query-code form (`/cases/query/reset`): a new code, mailed to the case's own address.

A thin adapter over interact.services.query_codes. Every outcome (a match, a mismatch, an
unknown number, a case without an address, a filled-in trap field) gets the same page, so the
form reveals nothing; it spends the "lookup" rate-limit budget like the query form. The
blueprint is "public_query_reset".
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields import EmailField

from ..services import query_codes
from ..services.tx import unit_of_work
from .views import private


class QueryResetForm(FlaskForm):
    """The case number and the e-mail address given with it; `homepage` is the spam trap."""

    number = StringField(_l("办件编号"))
    email = EmailField(_l("提交时填写的电子邮箱"))
    homepage = StringField(_l("个人主页"))


def make_blueprint() -> Blueprint:
    """Build the lost-code form's blueprint ("public_query_reset", no URL prefix)."""
    bp = Blueprint("public_query_reset", __name__)

    @bp.route("/cases/query/reset", methods=["GET", "POST"])
    def query_reset():
        """Ask for a new query code; every POST gets the same neutral answer."""
        form = QueryResetForm()
        if request.method == "GET":
            form.number.data = (request.args.get("number") or "").strip()[:20]
            return private(render_template("public/cases/query_reset.html", form=form))
        # CSRFProtect has already refused a POST without a valid token.
        if not (form.homepage.data or "").strip():
            with unit_of_work():
                query_codes.reissue_query_code(form.number.data or "", form.email.data or "")
        minutes = int(query_codes.REISSUE_INTERVAL.total_seconds() // 60)
        return private(render_template("public/cases/query_reset_sent.html", minutes=minutes))

    return bp
