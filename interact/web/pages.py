"""What both surfaces share: template helpers, error pages, response headers, safe redirect
targets, the reverse-proxy setting and the staff network allow-list."""
from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from flask import Flask, abort, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ..domain.deadlines import LIGHT_LABELS
from ..domain.errors import DomainError
from ..domain import states
from ..domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from ..domain.timeutil import format_local
from ..domain.workflow import EVENT_LABELS, STATUS_LABELS, status_label

STAFF_PREFIXES = ("/staff", "/api/v1/staff")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: every redirect target taken from a
    request goes through here (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "/\evil" as "//evil" and drop tabs and newlines, so refuse them all.
    if "\\" in target or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    return target


def parse_networks(text: str) -> list[IPv4Network | IPv6Network]:
    """A comma-separated CIDR list (IPv4 and IPv6); ValueError naming a bad entry."""
    networks = []
    for part in (text or "").split(","):
        if part.strip():
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"INTERACT_STAFF_ALLOWED_NETWORKS: {part.strip()!r} is not a CIDR network") from None
    return networks


def client_in(networks: list[IPv4Network | IPv6Network]) -> bool:
    """Whether the request's client address (after ProxyFix) is in one of `networks`."""
    try:
        ip = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # "::ffff:10.0.0.5" is the IPv4 client 10.0.0.5
    return any(ip.version == net.version and ip in net for net in networks)


def is_staff_request() -> bool:
    """Whether this request belongs to the staff surface (the whole app when it is staff-only)."""
    return current_app.config["INTERACT_SURFACE_NAME"] == "staff" or request.path.startswith(STAFF_PREFIXES)


def wants_json() -> bool:
    """Whether the request is for the JSON API."""
    return request.path.startswith("/api/")


def error_response(code: str, message: str, status: int, fields: dict | None = None):
    """The API's error body: {"error", "message", "fields"?}."""
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(body), status


def retry_later(code: str, message: str, status: int, seconds: int):
    """A refusal the client may try again after `seconds` (429, 503): JSON for the API, the error
    page elsewhere, with Retry-After."""
    if wants_json():
        response, _status = error_response(code, message, status)
    else:
        response = make_response(render_template("errors.html", code=status, message=message))
    response.status_code = status
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    """Register template helpers, error handlers, headers, the proxy setting and the staff allow-list."""
    proxies = int(app.config.get("INTERACT_PROXY_COUNT") or 0)
    if proxies > 0:
        # Only this many proxies' X-Forwarded-* are believed; a client cannot add its own.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    staff_networks = parse_networks(app.config.get("INTERACT_STAFF_ALLOWED_NETWORKS", ""))
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.globals.update(
        KINDS=KINDS, ERROR_TYPES=ERROR_TYPES, DECLINE_REASONS=DECLINE_REASONS, RATINGS=RATINGS,
        STATUS_LABELS=STATUS_LABELS, EVENT_LABELS=EVENT_LABELS, LIGHT_LABELS=LIGHT_LABELS,
        surface=app.config["INTERACT_SURFACE_NAME"],
        # Every state enum by class name: a template labels a state `OutboxStatus.sent.title`
        # or `FlagKind(flag.kind).title`, from the one set of titles.
        **{cls.__name__: cls for cls in states.ALL},
    )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        """Typed service errors that an adapter did not handle itself."""
        if wants_json():
            return error_response(exc.code, exc.message, exc.status_code, exc.fields)
        return render_template("errors.html", code=exc.status_code, message=exc.message), exc.status_code

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        """A form without a valid CSRF token."""
        message = _("页面已过期或请求来源无效，请返回刷新后重试。")
        if wants_json():
            return error_response("csrf", message, 400)
        return render_template("errors.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """HTTP errors as JSON for the API and as a Chinese page elsewhere."""
        messages = {
            400: _("请求无效。"),
            401: _("请先登录。"),
            403: _("没有权限访问。"),
            404: _("页面不存在。"),
            405: _("不支持该请求方法。"),
            413: _("上传的内容过大：每个文件不超过%(mb)d MB，一次提交合计不超过%(total)d MB。请压缩或减少附件后重试。",
                   mb=app.config["INTERACT_MAX_UPLOAD_BYTES"] // (1024 * 1024),
                   total=app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)),
            429: _("请求过于频繁，请稍后再试。"),
        }
        message = messages.get(exc.code or 500, _("服务器出错，请稍后再试。"))
        # The exception's own headers belong to the answer (a 405's Allow); only its body type is replaced.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        if wants_json():
            body, status = error_response(exc.name.lower().replace(" ", "_"), message, exc.code or 500)
            return body, status, headers
        return render_template("errors.html", code=exc.code, message=message), exc.code, headers

    if staff_networks and app.config["INTERACT_SURFACE_NAME"] != "public":
        def staff_network_only():
            """Art. 25: from outside the allowed networks the back office does not exist (404)."""
            if is_staff_request() and not client_in(staff_networks):
                abort(404)

        # First of all hooks, so that not even a CSRF or rate-limit answer betrays the back office.
        app.before_request_funcs.setdefault(None, []).insert(0, staff_network_only)

    @app.after_request
    def headers(response):
        """Security headers on every response; staff pages are never cached."""
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        # A route may set a stricter policy of its own (attachments: "sandbox").
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        if is_staff_request():
            response.headers["Cache-Control"] = "no-store"
        # No version banner; the WSGI server and the proxy must hide theirs (see README).
        response.headers.pop("Server", None)
        response.headers.pop("X-Powered-By", None)
        return response
