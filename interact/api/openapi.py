"""The OpenAPI 3.1 document of API v1, served at /api/v1/openapi.json, generated with apispec.

The request and response shapes are the marshmallow schemas of interact.api.schemas, the same
ones the views load request bodies with; this module adds one small declaration per route (path,
method, summary, parameters, request schema, and the answer per status) and lets apispec write
the document. Each surface documents only what it serves: the public surface's document names no
staff path, schema or security scheme. It is developer reference, like the README, so it is
written in English; the Chinese labels the API returns come from the registries at request time.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from ..domain.workflow import TRANSITIONS
from ..web.gatekeeper import INT64, MAX_DEPTH, MAX_ID
from . import schemas as sc

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
PREFIX = "/api/v1"

DESCRIPTION = """\
The JSON API of the government–citizen interaction platform. It calls the same
services as the HTML pages.

* **Times** (`*_at`) are ISO 8601 in the platform's local time zone (Asia/Shanghai unless
  configured otherwise) with the offset, e.g. `2026-11-27T10:15:00+08:00`. **Dates** (`due_date`)
  are local calendar dates `YYYY-MM-DD`. A case is due at 23:59:59 local time on its due date.
* **Errors** are `{"error": CODE, "message": TEXT, "fields": {FIELD: TEXT}?}`; `message` is Chinese
  text fit to show to a person. `error` is `invalid` (400), `unauthorized` (401), `forbidden` (403),
  `not_found` (404), `conflict` (409), or the HTTP reason (e.g. `method_not_allowed`).
* Request bodies are JSON objects sent with `Content-Type: application/json`.
"""


# --- apispec plumbing -----------------------------------------------------------------------

class Converter(OpenAPIConverter):
    """apispec's marshmallow converter, describing each schema by its class's docstring."""

    def schema2jsonschema(self, schema) -> dict:
        """The JSON Schema of a marshmallow schema, with the class docstring as its description."""
        out = super().schema2jsonschema(schema)
        doc = resolve_schema_cls(schema).__doc__  # the class's own, never a base class's
        if doc:
            out.setdefault("description", " ".join(inspect.cleandoc(doc).split()))
        if issubclass(resolve_schema_cls(schema), sc.Body):
            # Ignored properties are still read by the gatekeeper: their names obey the same rule.
            out["propertyNames"] = {"pattern": sc.TEXT_PATTERN}
            out["additionalProperties"] = {"$ref": JSON_REF}
            out.update(resolve_schema_cls(schema).rules)
        return out


JSON_REF = "#/components/schemas/Json"
# Any JSON value the gatekeeper lets through: what an ignored property of a request body may hold.
JSON_VALUE = {
    "description": f"Any JSON value the platform reads without refusing it: strings and keys without control "
                   f"characters (tab, CR and LF aside) or lone surrogates, integers within 64 bits, at most "
                   f"{MAX_DEPTH} levels deep (400 otherwise).",
    "anyOf": [
        {"type": ["null", "boolean"]},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "integer", "minimum": INT64.start, "maximum": INT64.stop - 1},
        {"type": "string", "pattern": sc.TEXT_PATTERN},
        {"type": "array", "items": {"$ref": JSON_REF}},
        {"type": "object", "propertyNames": {"pattern": sc.TEXT_PATTERN}, "additionalProperties": {"$ref": JSON_REF}},
    ],
}


def nullable_enum(self, field_obj: fields.Field, ret: dict, **kwargs) -> dict:
    """A nullable field's enum admits null too (apispec adds it for OneOf validators only)."""
    enum = ret.get("enum")
    if field_obj.allow_none and enum is not None and None not in enum:
        return {"enum": [*enum, None]}
    return {}


class Plugin(MarshmallowPlugin):
    """The marshmallow plugin with our converter and its extra attribute function."""

    Converter = Converter

    def init_spec(self, spec: APISpec) -> None:
        """Set up the converters, then teach ours about nullable enums."""
        super().init_spec(spec)
        self.converter.add_attribute_function(nullable_enum)


# --- declarations -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """A path or header parameter; its schema is a marshmallow field."""

    location: str
    name: str
    field: fields.Field
    description: str

    def to_dict(self, convert) -> dict:
        """The parameter object."""
        return {"name": self.name, "in": self.location, "required": True, "schema": convert(self.field),
                "description": self.description}


@dataclass(frozen=True)
class Answer:
    """A JSON answer: what it means, its schema (a marshmallow schema, or a field for a bare value),
    and its headers (name → (field, description))."""

    description: str
    schema: Schema | type[Schema] | fields.Field
    headers: dict[str, tuple[fields.Field, str]] = field(default_factory=dict)

    def to_dict(self, convert) -> dict:
        """The response object; apispec turns schema classes into references."""
        schema = convert(self.schema) if isinstance(self.schema, fields.Field) else self.schema
        out: dict = {"description": self.description, "content": {"application/json": {"schema": schema}}}
        if self.headers:
            out["headers"] = {name: {"schema": convert(f), "description": text}
                              for name, (f, text) in self.headers.items()}
        return out


@dataclass(frozen=True)
class Route:
    """One operation: a path and method, its request schema and its answer per status.

    `parameters` holds names of shared parameters, query schemas and Params; `responses` maps a
    status to an Answer or to the name of a shared error answer; `body` is a request schema, or a
    tuple of them when the body depends on a path parameter.
    """

    path: str
    method: str
    operation_id: str
    tag: str
    summary: str
    responses: dict[str, Answer | str]
    description: str | None = None
    parameters: tuple = ()
    body: type[sc.Body] | tuple[type[sc.Body], ...] | None = None
    body_required: bool = True
    examples: dict | None = None

    def to_dict(self, convert) -> dict:
        """The operation object."""
        op: dict = {"operationId": self.operation_id, "tags": [self.tag], "summary": self.summary}
        if self.description:
            op["description"] = self.description
        if self.parameters:
            op["parameters"] = [self._parameter(p, convert) for p in self.parameters]
        if self.body is not None:
            schema = {"anyOf": list(self.body)} if isinstance(self.body, tuple) else self.body
            media: dict = {"schema": schema}
            if self.examples:
                media["examples"] = {name: {"summary": name, "value": value} for name, value in self.examples.items()}
            op["requestBody"] = {"required": self.body_required, "content": {"application/json": media}}
        # The gatekeeper refuses a bad header or query value on every route, whatever the operation reads.
        responses = {"400": "BadRequest", **self.responses}
        op["responses"] = {status: answer if isinstance(answer, str) else answer.to_dict(convert)
                           for status, answer in responses.items()}
        if self.tag == "staff":
            op["security"] = [{"bearerAuth": []}]
        return op

    @staticmethod
    def _parameter(param, convert):
        """A parameter entry: a shared one by name, a query schema (apispec expands it), or inline."""
        if isinstance(param, Param):
            return param.to_dict(convert)
        if isinstance(param, type) and issubclass(param, Schema):
            return {"in": "query", "schema": param}
        return param


CASE_NUMBER = Param("path", "number", fields.String(metadata=sc.about(pattern="^[0-9]+$")), "The case number.")
QUERY_CODE = Param("header", "X-Query-Code", fields.String(metadata=sc.about(pattern=sc.TEXT_PATTERN)),
                   "The query code from the receipt. A missing or wrong code is answered with 404, exactly like "
                   "an unknown number.")
ACTION = Param("path", "action", fields.String(metadata=sc.about(enum=sc.codes(TRANSITIONS))),
               "The workflow action, or an extension or supervision action; an unknown one is answered with 404.")
MASK_ID = Param("path", "mask_id", fields.Integer(metadata=sc.about(minimum=1, maximum=MAX_ID)),
                "The mask's id; one past a 32-bit id names nothing (404).")

COMMON_PARAMETERS = {"Number": CASE_NUMBER}
IDEMPOTENCY_KEY = Param("header", "Idempotency-Key", fields.String(metadata=sc.about(pattern="^[!-~]{1,128}$")),
                        "Optional, 1–128 visible ASCII characters, kept 24 hours. A request re-sent with the same "
                        "key and body is answered 200 with the first receipt (its `query_code` null: it was shown "
                        "once) and creates nothing; the same key with another body is answered 409.")
PUBLIC_PARAMETERS = {"QueryCode": QUERY_CODE, "IdempotencyKey": IDEMPOTENCY_KEY}
STAFF_PARAMETERS = {"Action": ACTION}

COMMON_ERRORS = {
    "BadRequest": Answer("The body, a parameter or a header is invalid; `fields` says what, per field. "
                         + sc.TEXT_RULE, sc.Error),
    "NotFound": Answer("Not found, or not visible to the caller.", sc.Error),
    "Conflict": Answer("The case's current status does not allow this.", sc.Error),
}
PUBLIC_ERRORS = {
    "TooManyRequests": Answer(
        "Too many requests from this client address (INTERACT_RATELIMIT_SUBMIT / _LOOKUP).", sc.Error,
        headers={"Retry-After": (fields.Integer(metadata=sc.about(minimum=1)), "Seconds to wait.")}),
    "TooLarge": Answer("The request body is larger than INTERACT_MAX_REQUEST_BYTES.", sc.Error),
}
STAFF_ERRORS = {
    "Unauthorized": Answer("No bearer token, or a bad, expired or revoked one.", sc.Error,
                           headers={"WWW-Authenticate": (fields.String(), "Bearer challenge.")}),
    "Forbidden": Answer("The user's role does not allow this (or it is their own draft).", sc.Error),
}

META_ROUTES = (
    Route(f"{PREFIX}/openapi.json", "get", "getOpenApi", "meta", "This OpenAPI document",
          {"200": Answer("The OpenAPI document of this surface.", fields.Dict())}),
)

PUBLIC_ROUTES = (
    Route(f"{PREFIX}/cases", "post", "submitCase", "public", "Submit a case",
          description="Registers a consultation, suggestion, complaint, leader-mailbox letter or website error "
                      "report. A case naming a department, and every correction, starts as `assigned`; any other "
                      "starts as `submitted`. Attachments are accepted through the HTML form only, for now.",
          parameters=("IdempotencyKey",), body=sc.CaseSubmission,
          responses={
              "201": Answer("The receipt. Keep the query code: it is not shown again.", sc.Receipt,
                            headers={"Location": (fields.String(), "URL of the case for the citizen.")}),
              "200": Answer("A re-send with the same `Idempotency-Key`: the first receipt, `query_code` null.",
                            sc.Receipt,
                            headers={"Location": (fields.String(), "URL of the case for the citizen.")}),
              "400": "BadRequest", "409": "Conflict", "413": "TooLarge", "429": "TooManyRequests",
          }),
    Route(f"{PREFIX}/cases/{{number}}", "get", "getCitizenCase", "public", "Follow a case with its query code",
          parameters=("Number", "QueryCode"),
          responses={"200": Answer("The case as its citizen sees it.", sc.CitizenCase),
                     "404": "NotFound", "429": "TooManyRequests"}),
    Route(f"{PREFIX}/cases/{{number}}/rating", "post", "rateCase", "public", "Rate the reply (once)",
          description="Only after the reply was approved, and only once (409 otherwise).",
          parameters=("Number", "QueryCode"), body=sc.RatingRequest,
          responses={"201": Answer("The rating.", sc.Rating), "400": "BadRequest", "404": "NotFound",
                     "409": "Conflict", "429": "TooManyRequests"}),
    Route(f"{PREFIX}/records", "get", "listRecords", "public", "Published handling records",
          description="Replied cases that the citizen allowed to publish and the reviewer approved for publication, "
                      "newest reply first. Only the reviewed, masked copy is shown; declined cases are never listed.",
          parameters=(sc.RecordsQuery,),
          responses={"200": Answer("One page of records (20 per page unless asked).", sc.RecordPage),
                     "400": "BadRequest"}),
    Route(f"{PREFIX}/records/{{number}}", "get", "getRecord", "public", "One published handling record",
          parameters=("Number",),
          responses={"200": Answer("The record.", sc.Record), "404": "NotFound"}),
    Route(f"{PREFIX}/departments", "get", "listDepartments", "public", "Active departments and leader mailboxes",
          responses={"200": Answer("Departments by code.", sc.DepartmentEntry(many=True))}),
    Route(f"{PREFIX}/sites", "get", "listSites", "public", "Websites that error reports can target",
          responses={"200": Answer("Active sites by name.", sc.Site(many=True))}),
    Route(f"{PREFIX}/kinds", "get", "listKinds", "public", "The channels and what each is for",
          description="Each channel's purpose, aim and usage (Art. 16), its deadline in working days, and the fixed "
                      "lists of error types, ratings and decline reasons.",
          responses={"200": Answer("The channel directory.", sc.Kinds)}),
)

# One example body per action, shown in the document.
ACTION_EXAMPLES = {
    "dispatch": {"department": "housing"},
    "accept": {},
    "transfer": {"reason": "不属于本部门职责。"},  # i18n: data
    "reply": {"text": "经核实，……"},  # i18n: data
    "decline": {"reason": "duplicate", "explanation": "与办件2026112700041重复。"},  # i18n: data
    "review": {"decision": "approve", "comment": "", "publish": True},
    "request_extension": {"days": 3, "reason": "需会同多个部门现场核查。"},  # i18n: data
    "decide_extension": {"decision": "approve", "comment": ""},
    "urge": {"note": "请于今日内答复。"},  # i18n: data
}
# What every staff operation may answer besides its own statuses.
DENIED = {"401": "Unauthorized"}
REFUSED = {"400": "BadRequest", **DENIED, "403": "Forbidden", "404": "NotFound", "409": "Conflict"}

STAFF_ROUTES = (
    Route(f"{PREFIX}/staff/cases", "get", "listStaffCases", "staff", "The cases this user may see",
          description="A handler or reviewer sees their department's cases; a dispatcher sees cases waiting to be "
                      "routed. Soonest deadline first.",
          parameters=(sc.StaffCasesQuery,),
          responses={"200": Answer("One page of cases (50 per page unless asked).", sc.StaffCasePage),
                     "400": "BadRequest", **DENIED}),
    Route(f"{PREFIX}/staff/cases/{{number}}", "get", "getStaffCase", "staff",
          "One case, with private fields and the actions open now",
          parameters=("Number",),
          responses={"200": Answer("The case.", sc.StaffCase), **DENIED, "404": "NotFound"}),
    Route(f"{PREFIX}/staff/cases/{{number}}/{{action}}", "post", "actOnCase", "staff", "Take a workflow action",
          description="The body depends on the action: " + "; ".join(
              f"`{action}` → `{schema.__name__}`" for action, schema in sc.ACTION_BODIES.items())
          + ". Answers with the case as it is after the action.",
          parameters=("Number", "Action"), body=tuple(sc.ACTION_BODIES.values()), body_required=False,
          examples=ACTION_EXAMPLES,
          responses={"200": Answer("The case after the action.", sc.StaffCase), **REFUSED}),
    Route(f"{PREFIX}/staff/cases/{{number}}/masks", "post", "addCaseMask", "staff",
          "Mask a stretch of a case's text before publication",
          description="Art. 17: a reviewer of the department who may review the case now (it is `pending_review` "
                      "and not their own draft) hides an exact substring of the title, content or draft reply; every "
                      "occurrence is masked in the published copy.",
          parameters=("Number",), body=sc.MaskBody,
          responses={"201": Answer("The stored mask.", sc.TextMask), **REFUSED}),
    Route(f"{PREFIX}/staff/cases/{{number}}/masks/{{mask_id}}/lift", "post", "liftCaseMask", "staff",
          "Lift a mask, or restore it",
          description="A reviewer lifts a mask that hides nothing personal (a false positive), or restores it with "
                      "`{\"lifted\": false}`. Same permission as adding a mask.",
          parameters=("Number", MASK_ID), body=sc.LiftBody, body_required=False,
          responses={"200": Answer("The mask as it is now.", sc.TextMask), **REFUSED}),
)

TAGS = {
    "public": {"name": "public", "description": "Citizens and other channels; no authentication."},
    "staff": {"name": "staff", "description": "Back office; `Authorization: Bearer TOKEN`."},
    "meta": {"name": "meta", "description": "About the API."},
}
BEARER = {"type": "http", "scheme": "bearer", "description": "A staff API token from `interact tokens create USERNAME`."}


def document(surface: str) -> dict:
    """The OpenAPI document of what `surface` ("public", "staff" or "all") serves."""
    public, staff = surface in ("public", "all"), surface in ("staff", "all")
    plugin = Plugin()
    spec = APISpec(title="interact API", version=API_VERSION, openapi_version=OPENAPI_VERSION, plugins=[plugin],
                   info={"description": DESCRIPTION}, servers=[{"url": "/"}])
    convert = plugin.converter.field2property
    parameters, errors, routes = dict(COMMON_PARAMETERS), dict(COMMON_ERRORS), [*META_ROUTES]
    if public:
        parameters |= PUBLIC_PARAMETERS
        errors |= PUBLIC_ERRORS
        routes += PUBLIC_ROUTES
        spec.tag(TAGS["public"])
    if staff:
        parameters |= STAFF_PARAMETERS
        errors |= STAFF_ERRORS
        routes += STAFF_ROUTES
        spec.tag(TAGS["staff"])
        spec.components.security_scheme("bearerAuth", BEARER)
    spec.tag(TAGS["meta"])
    spec.components.schema("Json", JSON_VALUE)
    for name, param in parameters.items():
        spec.components.parameter(name, param.location, param.to_dict(convert))
    for name, answer in errors.items():
        spec.components.response(name, answer.to_dict(convert))
    for route in routes:
        spec.path(path=route.path, operations={route.method: route.to_dict(convert)})
    return spec.to_dict()


def make_blueprint(surface: str) -> Blueprint:
    """Build the blueprint serving the OpenAPI document of `surface`."""
    bp = Blueprint("openapi", __name__, url_prefix=PREFIX)

    @bp.get("/openapi.json")
    def spec():
        """The OpenAPI document of this surface."""
        return jsonify(document(surface))

    return bp
