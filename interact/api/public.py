"""The public JSON API v1: submit and follow a case, rate the reply, read published records.

Thin adapters over the same services as the citizen pages. These endpoints use no cookies,
so they are exempt from CSRF; a citizen's case is reached only with its number and query code.
Attachments can be sent through the HTML form only for now.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from ..domain.errors import ValidationFailed
from ..web.extensions import csrf
from ..domain.kinds import KINDS
from ..services import directory
from ..services.listing import MAX_NUMBERED_PAGE
from ..services import cases as case_service
from ..services.tx import unit_of_work
from . import schemas
from ..web.pagecache import public_page
from ..web.paging import api_page_args
from . import serializers as s
from ..services import deadlines
from ..services import submissions
from ..services import timeline

SUBMISSION_STRINGS = ("kind", "department", "page_url", "error_type", "title", "content", "name", "phone",
                      "email")
QUERY_CODE_HEADER = "X-Query-Code"
IDEMPOTENCY_HEADER = submissions.API_HEADER
RECORDS_PER_PAGE = 20


def make_blueprint() -> Blueprint:
    """Build the public API blueprint under /api/v1."""
    bp = Blueprint("api_public", __name__, url_prefix="/api/v1")
    csrf.exempt(bp)

    @bp.post("/cases")
    def submit():
        """Register a citizen's case; the query code is returned this once only."""
        # Only the citizen's own fields are kept: status, department of a correction and the
        # like are decided by the service, whatever else the body carries.
        body = schemas.load(schemas.CaseSubmission, s.json_object())
        sub = case_service.Submission(
            kind=body.get("kind") or "",
            **{name: body.get(name) or "" for name in SUBMISSION_STRINGS if name != "kind"},
            site=body.get("site"),
            publish=body.get("publish", True) is not False,
        )
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            with unit_of_work():
                case, code = case_service.submit_case(sub)
        elif not submissions.valid_key(key):
            message = _("Idempotency-Key 须为 1 至 128 个可见 ASCII 字符。")
            raise ValidationFailed(message, {IDEMPOTENCY_HEADER: message})
        else:
            # A re-send under the same key answers the first case (200, no code); another body is 409.
            case, code = submissions.submit_once(sub, submissions.API_SCOPE, key, submissions.fingerprint(body))
        response = jsonify(s.receipt(case, None if code is None else case_service.format_query_code(code)))
        response.status_code = 201 if code is not None else 200
        response.headers["Location"] = url_for(".case", number=case.number)
        return response

    @bp.get("/cases/<number>")
    def case(number: str):
        """The citizen's own case, with the public timeline, reply and rating."""
        # A reissued code's first use retires the old one: committed here.
        with unit_of_work():
            found = case_service.case_for_citizen(number, request.headers.get(QUERY_CODE_HEADER, ""))
        return jsonify(s.citizen_case(found, timeline.public_events(found)))

    @bp.post("/cases/<number>/rating")
    def rate(number: str):
        """The citizen rates the approved reply, once."""
        body = s.json_object()
        found = case_service.case_for_citizen(number, request.headers.get(QUERY_CODE_HEADER, ""))
        body = schemas.load(schemas.RatingRequest, body)
        with unit_of_work():
            case_service.rate_case(found, body.get("rating") or "", body.get("comment") or "")
        return jsonify(s.rating(found)), 201

    @bp.get("/records")
    @public_page
    def records():
        """Published handling records, newest reply first."""
        kind = request.args.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise ValidationFailed(_("未知的类别。"), {"kind": _("未知的类别。")})
        page, per_page = api_page_args(RECORDS_PER_PAGE, max_page=MAX_NUMBERED_PAGE)
        # Pages by number up to listing.MAX_NUMBERED_PAGE; from there on, by `next_cursor` (which
        # then decides the page: a `page` beside it is ignored).
        cursor = request.args.get("cursor") or None
        result = case_service.published_records(
            department=request.args.get("department") or None, kind=kind,
            month=request.args.get("month") or None, page=None if cursor else page, per_page=per_page,
            older_than=cursor,
        )
        return jsonify(s.keyset_page(result, s.record))

    @bp.get("/records/<number>")
    @public_page
    def record(number: str):
        """One published handling record."""
        return jsonify(s.record(case_service.published_record(number)))

    @bp.get("/departments")
    def departments():
        """Active departments a citizen may address, with their leader mailboxes."""
        return jsonify([s.department_entry(d) for d in directory.active_departments()])

    @bp.get("/sites")
    def sites():
        """Websites that error reports (corrections) can target."""
        return jsonify([s.site(x) for x in directory.active_sites()])

    @bp.get("/kinds")
    def kinds():
        """The channels, what each is for (Art. 16), their deadlines and the fixed value lists."""
        return jsonify(s.kinds(deadlines.deadline_settings()))

    return bp
