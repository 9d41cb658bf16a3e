"""Rate limits (Flask-Limiter) per client address, against flooding and brute force.

Four budgets, one per purpose, each shared by the routes that spend it, so that switching
between the HTML form and the API gains nothing, while using up one purpose's budget leaves the
others untouched (a citizen who wrote ten letters can still subscribe):

- "submit": registering a case (the citizen form and `POST /api/v1/cases`);
- "subscribe": asking for a subscription to published records (it mails a confirmation);
- "lookup": anything that tries a query code (the query form, the rating form, the lost-code
  form, and the API's case and rating endpoints), so that codes cannot be guessed;
- "login": staff sign-in attempts (the per-account lockout is separate).

The limits come from INTERACT_RATELIMIT_SUBMIT / _SUBSCRIBE / _LOOKUP / _LOGIN; the counters
live in memory, or in Redis (INTERACT_RATELIMIT_STORAGE_URL) when several processes serve the site.
A refusal is 429 with Retry-After: a page for the HTML routes, JSON for the API.
A re-sent submission (its form token or Idempotency-Key already made a case) costs nothing: it
creates nothing and only answers the first receipt.

Each app gets its own Limiter: Flask-Limiter keeps its state (storage, enabled flag, the
registered limits) on the extension object, so one shared instance would mix up the apps a
process builds (the public and staff apps, or the many apps of a test run).
"""
from __future__ import annotations

import math
import time
from ipaddress import ip_address, ip_network

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from ..services import submissions
from .pages import retry_later

EXTENSION = "interact_limiter"
# Budget name → the config key holding its limits.
BUDGETS = {
    "submit": "INTERACT_RATELIMIT_SUBMIT",
    "subscribe": "INTERACT_RATELIMIT_SUBSCRIBE",
    "lookup": "INTERACT_RATELIMIT_LOOKUP",
    "login": "INTERACT_RATELIMIT_LOGIN",
}
# Endpoint → (budget, methods counted; None for all). A form's GET costs nothing.
ENDPOINTS: dict[str, tuple[str, list[str] | None]] = {
    "public.new_case": ("submit", ["POST"]),
    "api_public.submit": ("submit", None),
    # A subscription request makes the platform mail an address: limited, but on its own budget.
    "public_subscribe.subscribe": ("subscribe", ["POST"]),
    "public.query": ("lookup", ["POST"]),
    "public_query_reset.query_reset": ("lookup", ["POST"]),
    "public.rate": ("lookup", None),
    "api_public.case": ("lookup", None),
    "api_public.rate": ("lookup", None),
    "staff.login": ("login", ["POST"]),
}


def client_key() -> str:
    """The client's address (after ProxyFix); an IPv6 client counts by its /64 network."""
    addr = request.remote_addr or ""
    try:
        ip = ip_address(addr)
    except ValueError:
        return addr or "unknown"
    if ip.version == 6 and ip.ipv4_mapped is None:
        # One IPv6 subscriber holds a whole /64: counting single addresses would not limit them.
        return str(ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped) if ip.version == 6 else str(ip)


def _budget(config_key: str):
    """A callable giving the budget's current limits, read from the app's config."""
    return lambda: current_app.config[config_key]


def resent_submission() -> bool:
    """Whether this request re-sends a submission already made (so it is not counted again)."""
    if request.endpoint == "api_public.submit":
        return submissions.is_resend(submissions.API_SCOPE, request.headers.get(submissions.API_HEADER))
    return submissions.is_resend(submissions.FORM_SCOPE, request.form.get(submissions.FORM_FIELD))


# Budget name → when a request of it is not counted.
EXEMPT = {"submit": resent_submission}


def _wait_text(seconds: int) -> str:
    """A Chinese "in N seconds/minutes" for the refusal message."""
    if seconds < 60:
        return _("%(n)d 秒", n=seconds)
    return _("%(n)d 分钟", n=math.ceil(seconds / 60))


def too_many_requests(exc: RateLimitExceeded):
    """429 with Retry-After: JSON for the API, a page elsewhere."""
    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    retry = max(1, current.reset_at - int(time.time())) if current is not None else 60
    message = _("操作过于频繁，请在%(wait)s后再试。", wait=_wait_text(retry))
    return retry_later("too_many_requests", message, 429, retry)


def init_app(app: Flask) -> Limiter | None:
    """Check the configured limits and put them on the app's routes (after the blueprints)."""
    for key in BUDGETS.values():
        try:
            parse_many(app.config[key])
        except ValueError as exc:
            raise ValueError(f"{key}={app.config[key]!r} is not a valid rate limit: {exc}") from None
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    limiter = Limiter(key_func=client_key, strategy="fixed-window", headers_enabled=False)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    for endpoint, (budget, methods) in ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is not None:  # each surface has only its own routes
            app.view_functions[endpoint] = limiter.shared_limit(
                _budget(BUDGETS[budget]), scope=budget, methods=methods, exempt_when=EXEMPT.get(budget))(view)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter
