"""The one gatekeeper of request input, for every route of both surfaces, pages and API alike.

It refuses what no citizen types and no row carries before a view or a service sees it, because the
databases fail on it with a 500: PostgreSQL refuses a NUL in text, both refuse an integer past their
column, and Python's JSON parser recurses without bound. The rule:

- the path: a C0 control character (tab, CR and LF too) or a lone surrogate in it, or an `<int:…>` segment
  past a 32-bit id, names nothing, so the answer is 404 (the path does not exist);
- a value, in a header, the query string, a form (field names, values, file names) or a JSON body (keys,
  strings): a C0 control character other than tab, CR and LF, or a lone surrogate, is 400;
- JSON nested deeper than MAX_DEPTH, or an integer outside 64 bits, is 400;
- an id field (ID_FIELDS, the fields the services read as row ids) past a 32-bit id is 400.

A 400 is a ValidationFailed, so it reads like the app's other refusals (JSON `{"error": "invalid"}` under
/api/, the error page elsewhere). The services keep their own business validation.
"""
from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, ValidationError

from ..domain.errors import ValidationFailed

MAX_DEPTH = 32
# The id columns are INTEGER: 32 bits on PostgreSQL. Other numbers must fit the 64 bits of a BIGINT.
MAX_ID = 2 ** 31 - 1
INT64 = range(-(2 ** 63), 2 ** 63)
# Form and JSON fields whose value a service looks up as a row id (a correction's site, a dead mail).
ID_FIELDS = frozenset({"site", "message_id"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
BAD_PATH = re.compile("[\x00-\x1f\ud800-\udfff]")


class IdConverter(IntegerConverter):
    """`<int:…>` in a route: only an id the database can hold matches, so a bigger one is a 404."""

    def to_python(self, value: str) -> int:
        """The id; too many digits fail the match before int() spends time on them."""
        if len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
            raise ValidationError()
        return super().to_python(value)


def init_app(app: Flask) -> None:
    """Bound the routes' integer segments and check every request's input before its view runs."""
    # Before any blueprint is registered: a rule takes its converter when it is added.
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)


def check_request() -> None:
    """Refuse a bad path (404) or a bad value anywhere in the request (400)."""
    if BAD_PATH.search(request.path):
        abort(404)
    for value in request.headers.values():
        _check_text(value)  # a server that passes a NUL on would put it in the audit trail's user agent
    _check_pairs(request.args.items(multi=True))
    if request.mimetype in FORM_TYPES:
        _check_pairs(request.form.items(multi=True))
        for name, upload in request.files.items(multi=True):
            _check_pairs([(name, upload.filename or "")])
    if request.is_json and request.get_data(cache=True):
        try:
            body = request.get_json(silent=True)  # malformed JSON is the view's to answer
        except RecursionError:
            _refuse(_("JSON 嵌套层数过多（最多%(n)d层）。", n=MAX_DEPTH))
        _check_json(body)


def _check_pairs(pairs) -> None:
    """The names and values of a query string or a form."""
    for name, value in pairs:
        _check_text(name)
        _check_text(value, name)
        if name in ID_FIELDS:
            _check_id(name, value)


def _check_json(body) -> None:
    """Every key, string, number and nesting level of a parsed JSON body, without recursing."""
    stack = [(body, 1, None)]
    while stack:
        value, depth, name = stack.pop()
        if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
            _refuse(_("JSON 嵌套层数过多（最多%(n)d层）。", n=MAX_DEPTH))
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                if key in ID_FIELDS:
                    _check_id(key, item)
                stack.append((item, depth + 1, key))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, name) for item in value)
        elif isinstance(value, str):
            _check_text(value, name)
        elif isinstance(value, int) and value not in INT64:
            _refuse(_("数值超出允许范围。"), name)


def _check_text(value: str, name: str | None = None) -> None:
    """Refuse control characters (tab, CR and LF are text) and lone surrogates."""
    if BAD_TEXT.search(value):
        _refuse(_("请求含有无法处理的字符（控制字符或无效的 Unicode 编码），请删除后重试。"), name)


def _check_id(name: str, value) -> None:
    """Refuse an id (a JSON integer or a string of digits) that no row can have."""
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip()) if len(value.strip()) <= len(str(MAX_ID)) else MAX_ID + 1
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_ID <= value <= MAX_ID:
        _refuse(_("编号超出范围。"), name)


def _refuse(message: str, name: str | None = None) -> None:
    """Answer 400, naming the field when its name is printable."""
    fields = {name: message} if name and not BAD_TEXT.search(name) else None
    raise ValidationFailed(message, fields)
