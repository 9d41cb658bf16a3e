"""What both surfaces share: template helpers, error pages and response headers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .errors import DomainError
from .kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from .timeutil import format_local
from .workflow import EVENT_LABELS, STATUS_LABELS, status_label


def wants_json() -> bool:
    """Whether the request is for the JSON API."""
    return request.path.startswith("/api/")


def error_response(code: str, message: str, status: int, fields: dict | None = None):
    """The API's error body: {"error", "message", "fields"?}."""
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(body), status


def init_app(app: Flask) -> None:
    """Register template helpers, error handlers and headers."""
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.globals.update(
        KINDS=KINDS, ERROR_TYPES=ERROR_TYPES, DECLINE_REASONS=DECLINE_REASONS, RATINGS=RATINGS,
        STATUS_LABELS=STATUS_LABELS, EVENT_LABELS=EVENT_LABELS,
        surface=app.config["INTERACT_SURFACE_NAME"],
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
            413: _("上传的内容过大。单个文件不超过%(mb)d MB。",
                   mb=app.config["INTERACT_MAX_UPLOAD_BYTES"] // (1024 * 1024)),
            429: _("请求过于频繁，请稍后再试。"),
        }
        message = messages.get(exc.code or 500, _("服务器出错，请稍后再试。"))
        if wants_json():
            return error_response(exc.name.lower().replace(" ", "_"), message, exc.code or 500)
        return render_template("errors.html", code=exc.code, message=message), exc.code

    @app.after_request
    def headers(response):
        """Baseline security headers; staff pages are never cached."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        if request.path.startswith(("/staff", "/api/v1/staff")):
            response.headers["Cache-Control"] = "no-store"
        return response
