"""The citizen pages of the public surface (blueprint "public"): channels, submission, case query
and published records. The lost-code form, the CAPTCHA image, the feeds and the subscription
pages have their own modules and blueprints (see `create_app`).

Thin adapters over `interact.services`: parse the form, call the service, commit once, render.
Nothing here imports the staff surface (Art. 25), and the records pages read only the
reviewed, masked `public_*` copies of a case (Art. 17).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..domain.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from ..domain.kinds import KINDS
from ..services import antispam, calendar, directory
from ..services import cases as case_service
from ..services.tx import unit_of_work
from ..web.pagecache import public_page
from ..web.paging import page_arg
from .forms import QueryForm, RatingForm, case_form
from ..services import deadlines
from ..services import submissions
from ..services import inputs
from ..services import timeline

RECORDS_PER_PAGE = 20
# The session key carrying the last receipt (number, and the code until it was shown once).
RECEIPT_KEY = "receipt"


def private(response, status: int = 200):
    """Mark a response holding a query code or a citizen's own case as never to be cached (no-store)."""
    response = make_response(response, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def spam_trap_answer(form):
    """The generic 400 page when a form's trap field (`homepage`) was filled in, else None."""
    try:
        antispam.check_honeypot(form.homepage.data)
    except ValidationFailed as exc:  # a generic refusal: nothing says which field gave it away
        return private(render_template("errors.html", code=400, message=exc.message), 400)
    return None


def make_blueprint() -> Blueprint:
    """Build the public pages' blueprint (fixed routes, no URL prefix)."""
    bp = Blueprint("public", __name__)

    @bp.get("/")
    @public_page
    def home():
        """Every channel with its purpose, aim and usage (Art. 16), and the deadline commitment."""
        return render_template("public/home.html", deadlines=deadlines.deadline_settings())

    @bp.route("/cases/new/<kind>", methods=["GET", "POST"])
    def new_case(kind: str):
        """The submission form of one kind; a valid POST shows the receipt directly."""
        spec = KINDS.get(kind)
        if spec is None:
            abort(404)
        form = case_form(spec, directory.active_departments(), directory.active_sites())
        if request.method == "GET":
            return _case_form_page(spec, form)
        trapped = spam_trap_answer(form)
        if trapped is not None:
            return trapped
        token = form.submission_token.data
        try:
            antispam.check_captcha_if_on(form.captcha.data)
            if submissions.valid_key(token):
                # A re-sent form (refresh, double click) gets the first case back, code None.
                case, code = submissions.submit_once(form.submission(spec), submissions.FORM_SCOPE, token)
            else:
                with unit_of_work():
                    case, code = case_service.submit_case(form.submission(spec))
        except (ValidationFailed, PayloadTooLarge) as exc:
            # An oversize file is 413, anything else 400; the form comes back as typed either way.
            return _case_form_page(spec, form, exc.fields, exc.message, status=exc.status_code)
        # Post/redirect/get: the receipt page is a GET, so refreshing it re-sends nothing. The code
        # rides in the citizen's own signed session cookie, never in a URL, until shown once.
        receipt = {"number": case.number}
        if code is not None:
            receipt["code"] = case_service.format_query_code(code)
        elif (session.get(RECEIPT_KEY) or {}).get("number") == case.number:
            receipt = session[RECEIPT_KEY]  # a re-send before the receipt was seen keeps its code
        session[RECEIPT_KEY] = receipt
        return redirect(url_for(".receipt"), 303)

    @bp.get("/cases/receipt")
    def receipt():
        """The last submission's receipt; its query code is shown on the first view only."""
        shown = session.get(RECEIPT_KEY) or {}
        case = submissions.receipt_case(shown.get("number") or "")
        if case is None:
            return redirect(url_for(".home"), 303)
        session[RECEIPT_KEY] = {"number": case.number}  # the code is popped: shown this once
        page = render_template("public/cases/receipt.html", case=case, kind=KINDS[case.kind.value],
                               code=shown.get("code"))
        return private(page)

    def _case_form_page(spec, form, errors=None, error_message: str = "", status: int = 200):
        """Render the form of a kind, with the service's field errors next to their fields."""
        form.captcha.data = ""  # an answer is spent once; the page shows a new image
        form.submission_token.data = submissions.new_form_token()
        page = render_template(
            "public/cases/new.html", kind=spec, form=form, errors=errors or {}, error_message=error_message,
            deadline_days=deadlines.deadline_days(spec.code), limits=inputs.LIMITS,
            captcha=antispam.captcha_required(),
        )
        return private(page, status)

    @bp.route("/cases/query", methods=["GET", "POST"])
    def query():
        """Follow a case with its number and query code; a wrong code reads like an unknown number."""
        form = QueryForm()
        if request.method == "GET":
            form.number.data = (request.args.get("number") or "").strip()[:20]
            return private(render_template("public/cases/query.html", form=form))
        try:
            # A reissued code's first use retires the old one: committed here.
            with unit_of_work():
                case = case_service.case_for_citizen(form.number.data or "", form.code.data or "")
        except NotFound as exc:
            form.code.data = ""
            return private(render_template("public/cases/query.html", form=form, error=exc.message), 404)
        return _case_page(case, form.code.data)

    @bp.post("/cases/query/rating")
    def rate():
        """The citizen rates the reply once; a second rating is refused with 409."""
        form = RatingForm()
        try:
            case = case_service.case_for_citizen(form.number.data or "", form.code.data or "")
        except NotFound as exc:
            query_form = QueryForm(formdata=None, number=form.number.data)
            page = render_template("public/cases/query.html", form=query_form, error=exc.message)
            return private(page, 404)
        try:
            with unit_of_work():
                case_service.rate_case(case, form.rating.data or "", form.comment.data or "")
        except ValidationFailed as exc:
            flash(exc.message, "error")
            return _case_page(case, form.code.data, rating_form=form, errors=exc.fields, status=400)
        except Conflict as exc:
            flash(exc.message, "error")
            return _case_page(case, form.code.data, status=409)
        flash(_("感谢您的评价！"), "success")
        return _case_page(case, form.code.data)

    def _case_page(case, code: str, rating_form=None, errors=None, status: int = 200):
        """The citizen's view of their own case: status, timeline, deadline, reply and rating."""
        if rating_form is None:
            rating_form = RatingForm(formdata=None, number=case.number, code=code)
        page = render_template(
            "public/cases/case.html", case=case, events=timeline.public_events(case),
            deadline=deadlines.case_deadline(case, calendar.current_calendar()),
            rating_form=rating_form, errors=errors or {},
        )
        return private(page, status)

    @bp.get("/records")
    @public_page
    def records():
        """Published handling records, newest first, filtered by department, kind and month."""
        filters = {
            "department": (request.args.get("department") or "").strip(),
            "kind": (request.args.get("kind") or "").strip(),
            "month": (request.args.get("month") or "").strip(),
        }
        # By number up to listing.MAX_NUMBERED_PAGE, then by cursor: ?older=… / ?newer=…, or ?page=last.
        last = request.args.get("page") == "last"
        error, status, page, error_fields = None, 200, None, {}
        try:
            page = case_service.published_records(
                department=filters["department"] or None, kind=filters["kind"] or None,
                month=filters["month"] or None, page=None if last else page_arg(), per_page=RECORDS_PER_PAGE,
                older_than=request.args.get("older") or None, newer_than=request.args.get("newer") or None,
                last=last,
            )
        except ValidationFailed as exc:
            error, status, error_fields = exc.message, 400, exc.fields
        return render_template(
            "public/records/list.html", page=page, filters=filters, error=error, error_fields=error_fields,
            departments=directory.active_departments(),
        ), status

    @bp.get("/records/<number>")
    @public_page
    def record(number: str):
        """One published record; anything unpublished is a 404 like an unknown number."""
        return render_template("public/records/detail.html", case=case_service.published_record(number))

    return bp
