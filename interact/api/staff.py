"""The staff JSON API v1: case lists, the full case view and the workflow actions.

Authentication is by `Authorization: Bearer TOKEN` only (tokens from `interact tokens create`);
the user is kept on `g` for the request, never in a session cookie, so CSRF does not apply.
Every rule lives in the case service: this module parses, calls, commits once and answers.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from ..domain.errors import DomainError
from ..web.extensions import csrf
from ..domain.models import Case, User
from ..services import audit, calendar, deadlines, directory
from ..services import cases as case_service
from ..services import masks as mask_service
from ..services.tx import unit_of_work
from ..web.pages import error_response
from . import serializers as s

STAFF_PER_PAGE = 50

# The JSON type of each field an action's body may carry; the service checks the values.
ACTION_FIELDS: dict[str, dict[str, type]] = {
    "dispatch": {"department": str},
    "accept": {},
    "transfer": {"reason": str},
    "reply": {"text": str},
    "decline": {"reason": str, "explanation": str},
    "review": {"decision": str, "comment": str, "publish": bool},
    # `days` is an integer; the extension service checks it.
    "request_extension": {"reason": str},
    "decide_extension": {"decision": str, "comment": str},
    "urge": {"note": str},
}


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
        page, per_page = s.page_args(STAFF_PER_PAGE)
        result = case_service.staff_cases(
            _user(), status=request.args.get("status") or None,
            department=request.args.get("department") or None, page=page, per_page=per_page,
        )
        cal = calendar.current_calendar()
        return jsonify(s.page(result, lambda c: s.staff_case_item(c, calendar.deadline_of(c, cal))))

    @bp.get("/cases/<number>")
    def case(number: str):
        """Everything staff may see of one case, and the actions open to this user."""
        return jsonify(_case_view(case_service.get_case_for_staff(_user(), number)))

    @bp.post("/cases/<number>/<action>")
    def act(number: str, action: str):
        """Take a workflow action; answer with the case as it is now."""
        try:
            fields = ACTION_FIELDS.get(action)
            body = s.json_object(empty_ok=True)
            if fields is not None:
                s.check_types(body, strings=tuple(k for k, t in fields.items() if t is str),
                              booleans=tuple(k for k, t in fields.items() if t is bool))
            with unit_of_work():
                done = case_service.perform(_user(), number, action, body)
        except DomainError as exc:
            # A refused action is audited too; what it changed was rolled back.
            audit.record_refusal("case." + action, exc, user=_user(), object_type="case", object_id=number)
            raise
        # The actor sees the result of their own action even when it moves the case out of
        # their sight (a transfer), as they saw it a moment ago.
        return jsonify(_case_view(done))

    @bp.post("/cases/<number>/masks")
    def add_mask(number: str):
        """A reviewer masks an exact stretch of the title, content or draft reply."""
        try:
            body = s.json_object()
            s.check_types(body, strings=("field", "text"))
            with unit_of_work():
                row = mask_service.add_manual_mask(number, body.get("field") or "", body.get("text") or "", _user())
        except DomainError as exc:
            audit.record_refusal("case.mask_add", exc, user=_user(), object_type="case", object_id=number)
            raise
        return jsonify(s.text_mask(row)), 201

    @bp.post("/cases/<number>/masks/<int:mask_id>/lift")
    def lift_mask(number: str, mask_id: int):
        """A reviewer lifts a mask (`lifted`: true, the default) or restores it (false)."""
        try:
            body = s.json_object(empty_ok=True)
            s.check_types(body, booleans=("lifted",))
            lifted = body.get("lifted")
            with unit_of_work():
                row = mask_service.lift_mask(number, mask_id, _user(), lifted=True if lifted is None else lifted)
        except DomainError as exc:
            audit.record_refusal("case.mask_lift", exc, user=_user(), object_type="case", object_id=number)
            raise
        return jsonify(s.text_mask(row))

    return bp


def _user() -> User:
    """The staff user authenticated for this request."""
    return g.api_user


def _case_view(case: Case) -> dict:
    """The full staff view of `case` for the current user."""
    detailed = case_service.case_with_details(case)
    actions = [t.action for t in case_service.available_actions(_user(), detailed)]
    masks = mask_service.case_masks(detailed) if "review" in actions else None
    return s.staff_case(detailed, calendar.deadline_of(detailed, calendar.current_calendar()), actions, masks,
                        pending_extension=deadlines.pending_extension(detailed))


def _unauthorized(message: str, challenge: str):
    """A 401 answer with the Bearer challenge."""
    response, status = error_response("unauthorized", message, 401)
    response.headers["WWW-Authenticate"] = challenge
    return response, status
