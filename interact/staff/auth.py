"""Staff sign-in plumbing and the setup every back-office blueprint shares.

`staff_blueprint(name, import_name)` builds one back-office blueprint under /staff with the
Flask-Login wiring, the session guard (interact/staff/sessions.py), sign-in required by default
and the labels every back-office template uses; each staff feature module builds its own with it.
Also here: role checks and safe post-login redirects. Only the staff modules import this module,
so the public surface never gets a user loader.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..web import pages as web
from ..domain.db import db
from ..web.extensions import login_manager
from ..domain.models import Role, User
from ..domain.states import DraftKind
from ..services import audit
from . import sessions
from .sessions import SESSION_VERSION

# The titles live with the enum (interact.domain.states); this mapping keeps its old callers.
ROLE_LABELS: dict[Role, object] = {r: r.title for r in Role}
WEEKDAYS = [_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日")]
DRAFT_KINDS = DraftKind.titles()
# The only back-office pages open without signing in: the two steps of signing in.
SIGN_IN_PAGES = frozenset({"staff.login", "staff_account.login_verify"})


def load_user(user_id: str) -> User | None:
    """The active staff user stored in the session, or None (which logs the session out)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active:
        return None
    # Logout, a password change or disabling raise the version: every older session ends here.
    if session.get(SESSION_VERSION) != user.session_version:
        return None
    return user


def init_login(state) -> None:
    """Bind Flask-Login's loader and login page when a staff blueprint is registered (the same each time)."""
    login_manager.user_loader(load_user)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("请先登录办件管理后台。")
    login_manager.login_message_category = "info"
    # The message is lazy; flash the translated text, which the session can store.
    login_manager.localize_callback = str


def role_required(role: Role) -> Callable:
    """Decorate a view so that only signed-in users holding `role` reach it (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                # An attempt to reach another role's page is a security event worth keeping.
                audit.record_now("access.denied", user=current_user._get_current_object(),
                                 object_type="route", object_id=request.endpoint or "",
                                 details={"required_role": role.value, "method": request.method})
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# One rule for every redirect target taken from a request, kept with the shared web helpers.
safe_next = web.safe_next


def staff_globals() -> dict:
    """Labels every back-office template uses (constants only: a context processor never queries)."""
    return {"ROLE_LABELS": ROLE_LABELS, "Role": Role, "DRAFT_KINDS": DRAFT_KINDS, "WEEKDAYS": WEEKDAYS}


# Flask-Login's own check on a view that does nothing: None when the request may go on, else the
# answer `login_required` gives (the sign-in page, with this page as `next`).
_signed_in = login_required(lambda: None)


def require_sign_in():
    """Before each back-office request: anyone not signed in goes to the sign-in page, as with `login_required`.

    The default for every staff blueprint, so that a view which forgets its decorator is still closed.
    """
    if request.endpoint in SIGN_IN_PAGES:
        return None
    return _signed_in()


def staff_blueprint(name: str, import_name: str, url_prefix: str = "/staff") -> Blueprint:
    """A back-office blueprint with the shared setup: Flask-Login, the session guard, sign-in, the labels."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    # Flask-Login is wired only when a staff blueprint is registered, i.e. never on the public surface.
    bp.record_once(init_login)
    # The guard first: it ends an expired session, which then counts as not signed in.
    bp.before_request(sessions.guard)
    bp.before_request(require_sign_in)
    bp.context_processor(staff_globals)
    return bp
