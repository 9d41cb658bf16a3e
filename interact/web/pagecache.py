"""Anonymous public pages rendered once per public state, with ETags a reverse proxy can use.

A view decorated with `public_page` is answered, for a GET without pending flash messages, from a
cache keyed by the public state's version (services.publication.public_version), the locale,
the path and the query parameters the view reads. Any change to what the public pages show
writes a new version in the same transaction, so a cached page is never served after the change
that outdates it commits, on any host. The cache is Redis (INTERACT_REDIS_URL) when several
processes or hosts serve the site, else each process's memory (Flask-Caching, SimpleCache).

Each answer carries `ETag` (the key) and `Cache-Control: public, no-cache`: a proxy may keep
the page and must ask again each time, and gets a bodiless 304 while nothing changed. A page
that wrote the session (a CSRF token, a flash) or set a cookie is never stored: it is someone's.
A cache that is down costs speed only: the page is rendered as if there were none.
"""
from __future__ import annotations

import hashlib
import logging
from functools import wraps

from flask import Flask, current_app, make_response, request, session
from flask_babel import get_locale
from flask_caching import Cache

from ..services import publication

log = logging.getLogger(__name__)
cache = Cache()
CACHE_CONTROL = "public, no-cache"
# Query parameters the cached views read; any other parameter is left out of the key, so that
# random parameters cannot fill the cache with copies of one page.
PARAMETERS = ("department", "kind", "month", "page", "per_page", "older", "newer", "cursor")


def init_app(app: Flask) -> None:
    """Bind the page cache: Redis when INTERACT_REDIS_URL is set, else this process's memory."""
    redis_url = app.config.get("INTERACT_REDIS_URL")
    config = {
        "CACHE_DEFAULT_TIMEOUT": app.config.get("INTERACT_PAGE_CACHE_SECONDS", 600),
        "CACHE_KEY_PREFIX": f"{app.config.get('RATELIMIT_KEY_PREFIX', 'interact')}/page/",
    }
    if redis_url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=2000)
    cache.init_app(app, config=config)


def _key(version: str) -> str:
    """The cache key (and ETag) of this request's page under `version`."""
    args = "&".join(f"{name}={request.args.get(name)}" for name in PARAMETERS if name in request.args)
    raw = f"{version}|{get_locale()}|{request.path}|{args}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _get(key: str):
    try:
        return cache.get(key)
    except Exception:  # a cache that is down only costs speed
        log.warning("page cache unavailable (read)")
        return None


def _set(key: str, value) -> None:
    try:
        cache.set(key, value)
    except Exception:  # a cache that is down only costs speed
        log.warning("page cache unavailable (write)")


def public_page(view):
    """Serve the view's anonymous GET answer from the page cache; see the module docstring."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_app.config.get("INTERACT_PAGE_CACHE", True) or request.method != "GET":
            return view(*args, **kwargs)
        # Only a visitor who sent a session cookie can have a message waiting (most send none, and
        # their session is then not even read).
        if request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]) and "_flashes" in session:
            return view(*args, **kwargs)
        version = publication.public_version()
        if version is None:  # nothing public was ever written: nothing to key a page by
            return view(*args, **kwargs)
        key = _key(version)
        hit = _get(key)
        if hit is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or session.modified or "Set-Cookie" in response.headers:
                return response
            hit = (response.content_type, response.headers.get("Cache-Control") or CACHE_CONTROL,
                   response.get_data())
            _set(key, hit)
        content_type, cache_control, body = hit
        if key in request.if_none_match:
            response = current_app.response_class(status=304)
        else:
            response = current_app.response_class(body, content_type=content_type)
        response.set_etag(key)
        response.headers["Cache-Control"] = cache_control
        return response

    return wrapped
