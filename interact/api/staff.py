"""The staff JSON API v1: case lists, the full case view and the workflow actions.

Authentication is by `Authorization: Bearer TOKEN` only (tokens from `interact tokens create`);
the user is kept on `g` for the request, never in a session cookie, so CSRF does not apply.
Every rule lives in the case service: this module parses, calls, commits once and answers.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from ..web.extensions import csrf
from ..domain.models import Case, User
from ..services import calendar, deadlines, directory
from ..services import cases as case_service
from ..services import masks as mask_service
from ..services.tx import unit_of_work
from ..web.actions import audited
from ..web.pages import error_response
from . import schemas
from ..web.paging import api_page_args
from . import serializers as s
from ..services import access
from ..services import actions

STAFF_PER_PAGE = 50


def make_blueprint() -> Blueprint:
    """Build the staff API blueprint under /api/v1/staff."""
    bp = Blueprint("api_staff", __name__, url_prefix="/api/v1/staff")
    csrf.exempt(bp)

    @bp.before_request
    def authenticate():
        """Resolve the bearer token to a staff user, or answer 401."""
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return _unauthorized(_("缺少访问令牌。"), 'Bearer realm="interact"')
        with unit_of_work():  # records the token's last use
            user = directory.user_for_token(raw.strip())
        if user is None:
            return _unauthorized(_("访问令牌无效、已过期或已吊销。"),
                                 'Bearer realm="interact", error="invalid_token"')
        g.api_user = user
        return None

    @bp.get("/cases")
    def cases():
        """The cases this user may see, soonest deadline first, with deadline lights."""
        page, per_page = api_page_args(STAFF_PER_PAGE)
        result = case_service.staff_cases(
            _user(), status=request.args.get("status") or None,
            department=request.args.get("department") or None, page=page, per_page=per_page,
        )
        cal = calendar.current_calendar()
        return jsonify(s.page(result, lambda c: s.staff_case_item(c, deadlines.case_deadline(c, cal))))

    @bp.get("/cases/<number>")
    def case(number: str):
        """Everything staff may see of one case, and the actions open to this user."""
        return jsonify(_case_view(access.get_case_for_staff(_user(), number)))

    @bp.post("/cases/<number>/<action>")
    def act(number: str, action: str):
        """Take a workflow action; answer with the case as it is now."""
        with audited("case." + action, _user(), "case", number):
            body = schemas.load_action(action, s.json_object(empty_ok=True))
            done = actions.perform(_user(), number, action, body)
        # The actor sees the result of their own action even when it moves the case out of
        # their sight (a transfer), as they saw it a moment ago.
        return jsonify(_case_view(done))

    @bp.post("/cases/<number>/masks")
    def add_mask(number: str):
        """A reviewer masks an exact stretch of the title, content or draft reply."""
        with audited("case.mask_add", _user(), "case", number):
            body = schemas.load(schemas.MaskBody, s.json_object())
            row = mask_service.add_manual_mask(number, body.get("field") or "", body.get("text") or "", _user())
        return jsonify(s.text_mask(row)), 201

    @bp.post("/cases/<number>/masks/<int:mask_id>/lift")
    def lift_mask(number: str, mask_id: int):
        """A reviewer lifts a mask (`lifted`: true, the default) or restores it (false)."""
        with audited("case.mask_lift", _user(), "case", number):
            body = schemas.load(schemas.LiftBody, s.json_object(empty_ok=True))
            lifted = body.get("lifted")
            row = mask_service.lift_mask(number, mask_id, _user(), lifted=True if lifted is None else lifted)
        return jsonify(s.text_mask(row))

    return bp


def _user() -> User:
    """The staff user authenticated for this request."""
    return g.api_user


def _case_view(case: Case) -> dict:
    """The full staff view of `case` for the current user."""
    detailed = case_service.case_with_details(case)
    actions = [t.action for t in access.available_actions(_user(), detailed)]
    masks = mask_service.case_masks(detailed) if "review" in actions else None
    return s.staff_case(detailed, deadlines.case_deadline(detailed, calendar.current_calendar()), actions, masks,
                        pending_extension=access.pending_extension(detailed))


def _unauthorized(message: str, challenge: str):
    """A 401 answer with the Bearer challenge."""
    response, status = error_response("unauthorized", message, 401)
    response.headers["WWW-Authenticate"] = challenge
    return response, status
