"""The OpenAPI 3.1 document of API v1, served at /api/v1/openapi.json.

The document is built by functions from the same registries the services use (kinds, statuses,
actions, error types, ratings), so enums cannot drift from the code. Each surface documents only
what it serves: the public surface's document names no staff path, schema or security scheme.
It is developer reference, like the README, so it is written in English; the Chinese labels the
API returns come from the registries at request time.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from ..domain.models import Status
from ..domain.privacy import LABELS as MASK_LABELS
from ..services.cases import ACTIONS, LIMITS
from ..services.deadlines import MAX_EXTENSION_DAYS
from ..services.masks import FIELDS as MASK_FIELDS
from ..services.masks import MAX_MANUAL
from ..services.supervision import URGE_NOTE_LIMIT
from ..domain.workflow import EVENT_LABELS, TRANSITIONS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
PREFIX = "/api/v1"
LIGHTS = ["ok", "soon", "overdue", "done"]

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


# --- schema helpers -----------------------------------------------------------------------

def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """`schema` or null."""
    if set(schema) <= {"type", "format", "description", "enum"} and isinstance(schema.get("type"), str):
        out = dict(schema, type=[schema["type"], "null"])
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def string(description: str | None = None, **extra) -> dict:
    """A string schema."""
    schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def enum(values, description: str | None = None) -> dict:
    """A string enum schema."""
    return string(description, enum=[str(v) for v in values])


def integer(description: str | None = None, **extra) -> dict:
    """An integer schema."""
    schema = {"type": "integer", **extra}
    if description:
        schema["description"] = description
    return schema


def boolean(description: str | None = None, **extra) -> dict:
    """A boolean schema."""
    schema = {"type": "boolean", **extra}
    if description:
        schema["description"] = description
    return schema


def array(items: dict) -> dict:
    """An array schema."""
    return {"type": "array", "items": items}


def obj(properties: dict, required: list[str] | None = None, description: str | None = None) -> dict:
    """An object schema; response objects list every property they always carry as required."""
    schema: dict = {"type": "object", "properties": properties}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


def datetime_() -> dict:
    """A local ISO 8601 timestamp with offset."""
    return string("Local time with offset, e.g. 2026-11-27T10:15:00+08:00.", format="date-time")


def date_() -> dict:
    """A local calendar date."""
    return string("Local calendar date YYYY-MM-DD.", format="date")


def extension_properties() -> dict:
    """Whether and by how much the deadline was extended; `due_date` is the extended one."""
    return {
        "extended": boolean("The deadline was extended; on-time is judged against the extended one."),
        "extension_days": integer("Working days added by approved extensions.", minimum=0),
        "original_due_date": date_(),
    }


def json_content(schema: dict) -> dict:
    """An application/json content map."""
    return {"application/json": {"schema": schema}}


def response(description: str, schema: dict, headers: dict | None = None) -> dict:
    """A JSON response object."""
    out = {"description": description, "content": json_content(schema)}
    if headers:
        out["headers"] = headers
    return out


def error_ref(name: str) -> dict:
    """A reference to a component response."""
    return {"$ref": f"#/components/responses/{name}"}


def param_ref(name: str) -> dict:
    """A reference to a component parameter."""
    return {"$ref": f"#/components/parameters/{name}"}


def operation(op_id: str, tag: str, summary: str, responses: dict, description: str | None = None,
              parameters: list | None = None, body: dict | None = None, staff: bool = False) -> dict:
    """One operation object."""
    op: dict = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = body
    if staff:
        op["security"] = [{"bearerAuth": []}]
    return op


def query(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


# --- schemas --------------------------------------------------------------------------------

def common_schemas() -> dict:
    """Schemas every surface uses."""
    return {
        "Error": obj({
            "error": string("Machine-readable code: invalid, unauthorized, forbidden, not_found, conflict, …"),
            "message": string("A Chinese message fit to show to a person."),
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "For 400: what is wrong with each field, by field name."},
        }, required=["error", "message"]),
        "Department": obj({"code": string("Unique slug."), "name": string()}),
        "Coded": obj({"code": string(), "label": string("Chinese label.")}),
    }


def public_schemas() -> dict:
    """Schemas of the public endpoints."""
    return {
        "DepartmentEntry": obj({
            "code": string("Unique slug; send it as `department` when submitting."),
            "name": string(),
            "mailbox_name": nullable(string("Name of the leader mailbox this office runs (the mayor's mailbox, …).")),
        }),
        "Site": obj({
            "id": integer("Send it as `site` when submitting a correction."),
            "name": string(), "base_url": string(format="uri"), "department": ref("Department"),
        }),
        "Kind": obj({
            "code": enum(KINDS), "label": string(),
            "purpose": string("What the channel is for (Art. 16)."),
            "aim": string("What it aims to achieve."), "usage": string("How to use it."),
            "deadline_days": integer("Working days allowed for an answer.", minimum=1),
            "needs_mailbox": boolean("The case must name a leader's office as `department`."),
            "needs_site": boolean("The case must name a `site`, `page_url` and `error_type`."),
        }),
        "Kinds": obj({
            "kinds": array(ref("Kind")), "error_types": array(ref("Coded")),
            "ratings": array(ref("Coded")), "decline_reasons": array(ref("Coded")),
        }),
        "CaseSubmission": obj({
            "kind": enum(KINDS),
            "department": string("Department code (optional; for `mailbox` the leader's office, required). "
                                 "Ignored for `correction`, which goes to the site's department."),
            "site": {"type": ["integer", "string"], "description": "Site id; `correction` only."},
            "page_url": string("The page with the error (http/https); `correction` only.", maxLength=1024),
            "error_type": enum(ERROR_TYPES, "`correction` only."),
            "title": string(maxLength=LIMITS["title"]), "content": string(maxLength=LIMITS["content"]),
            "name": string("Never published; the public sees only the family name.", maxLength=LIMITS["name"]),
            "phone": string("Never published."), "email": string("Optional; never published."),
            "publish": boolean("Whether the case may be published once handled.", default=True),
        }, required=["kind", "title", "content", "name", "phone"],
            description="Other properties (e.g. `status`) are ignored: the platform decides the status "
                        "and, for corrections, the department. Attachments and screenshots can only be "
                        "sent through the HTML form for now."),
        "Receipt": obj({
            "number": string("The case number, e.g. 2026112700042."),
            "query_code": string("Shown this once only; only its hash is stored. Case and hyphens are "
                                 "ignored when it is sent back."),
            "status": enum(s.value for s in (Status.submitted, Status.assigned)),
            "due_date": date_(),
        }),
        "Event": obj({
            "at": datetime_(), "action": enum(EVENT_LABELS), "label": string(),
            "from": nullable(enum(Status.__members__)), "to": enum(Status.__members__),
            "note": string("What the citizen may read about this step."),
        }),
        "Answer": obj({
            "text": string(), "replied_at": datetime_(),
            "decline_reason": nullable(ref("Coded")),
        }, description="The approved answer: a reply, or for a declined case the explanation and reason."),
        "Rating": obj({
            "value": enum(RATINGS), "label": string(), "comment": nullable(string()), "rated_at": datetime_(),
        }),
        "RatingRequest": obj({
            "rating": enum(RATINGS), "comment": string(maxLength=LIMITS["comment"]),
        }, required=["rating"]),
        "CitizenCase": obj({
            "number": string(), "kind": enum(KINDS), "status": enum(Status.__members__),
            "status_label": string(), "department": nullable(ref("Department")),
            "title": string(), "content": string(), "submitted_at": datetime_(), "due_date": date_(),
            **extension_properties(),
            "events": array(ref("Event")), "reply": nullable(ref("Answer")), "rating": nullable(ref("Rating")),
        }),
        "Record": obj({
            "number": string(), "kind": enum(KINDS),
            "title": string("Reviewed, masked copy."), "content": string("Reviewed, masked copy."),
            "name": string("Masked: the family name and one * per other character."),
            "department": nullable(ref("Department")),
            "submitted_at": datetime_(), "due_date": date_(), **extension_properties(),
            "replied_at": datetime_(), "reply": string("Reviewed, masked copy."),
            "working_days_used": nullable(integer()), "on_time": nullable(boolean()),
            "rating": nullable(enum(RATINGS)),
        }, description="A published handling record. Phone and e-mail are never part of it."),
        "RecordPage": page_schema("Record"),
    }


def page_schema(item: str) -> dict:
    """One page of a list of `item`."""
    return obj({
        "items": array(ref(item)), "total": integer(minimum=0), "page": integer(minimum=1),
        "per_page": integer(minimum=1, maximum=100), "pages": integer(minimum=1),
    })


def staff_schemas() -> dict:
    """Schemas of the staff endpoints."""
    deadline = {
        "due_at": datetime_(), "due_date": date_(),
        "light": enum(LIGHTS, "ok; soon (due within 1 working day); overdue; done (answered)."),
        "days_left": integer("Working days from today to the due date; negative when late."),
    }
    return {
        "UserRef": obj({"username": string(), "name": string()}),
        "StaffCaseItem": obj({
            "number": string(), "kind": enum(KINDS), "status": enum(Status.__members__),
            "department": nullable(ref("Department")), "title": string(), **deadline,
        }),
        "StaffCasePage": page_schema("StaffCaseItem"),
        "StaffEvent": obj({
            "at": datetime_(), "action": enum(EVENT_LABELS), "label": string(),
            "from": nullable(enum(Status.__members__)), "to": enum(Status.__members__),
            "actor": nullable(ref("UserRef")), "note": string("Internal note."),
            "public_note": string("What the citizen reads."), "public": boolean("Shown to the citizen."),
        }),
        "Attachment": obj({
            "id": integer(), "purpose": enum(["attachment", "screenshot"]), "filename": string(),
            "content_type": string(), "size": integer(minimum=0), "created_at": datetime_(),
        }),
        "Draft": obj({
            "kind": nullable(enum(["reply", "decline"], "null once a reviewer returned it for revision.")),
            "text": string(), "reason": nullable(ref("Coded")), "by": nullable(ref("UserRef")),
            "drafted_at": nullable(datetime_()),
        }),
        "StaffAnswer": obj({
            "text": string(), "replied_at": datetime_(), "decline_reason": nullable(ref("Coded")),
            "replied_by": nullable(ref("UserRef")), "reviewed_by": nullable(ref("UserRef")),
        }),
        "StaffRating": obj({
            "value": enum(RATINGS), "label": string(), "comment": nullable(string()), "rated_at": datetime_(),
        }),
        "PublicCopy": obj({
            "name": string(), "title": string(), "content": string(), "reply": string(),
        }, description="The masked copy the public sees."),
        "StaffSite": obj({
            "id": integer(), "name": string(), "base_url": string(), "department": ref("Department"),
        }),
        "StaffCase": obj({
            "number": string(), "kind": enum(KINDS), "status": enum(Status.__members__),
            "status_label": string(), "department": nullable(ref("Department")),
            "site": nullable(ref("StaffSite")), "page_url": nullable(string()),
            "error_type": nullable(ref("Coded")), "title": string(), "content": string(),
            "name": string(), "phone": string(), "email": nullable(string()), "publish_consent": boolean(),
            "submitted_at": datetime_(), **deadline,
            "original_due_date": date_(),
            "extension_days": integer("Working days added by approved extensions.", minimum=0),
            "extension_count": integer("Approved extensions.", minimum=0),
            "extension_request": nullable(ref("ExtensionRequest")),
            "urge_count": integer("Times the dispatch office urged this case.", minimum=0),
            "last_urged_at": nullable(datetime_()),
            "working_days_used": nullable(integer()), "on_time": nullable(boolean()),
            "transfer_count": integer(minimum=0), "last_transfer_reason": nullable(string()),
            "handler": nullable(ref("UserRef")), "draft": nullable(ref("Draft")),
            "reply": nullable(ref("StaffAnswer")), "published": boolean(),
            "public": nullable(ref("PublicCopy")), "rating": nullable(ref("StaffRating")),
            "events": array(ref("StaffEvent")), "attachments": array(ref("Attachment")),
            "actions": array(enum(TRANSITIONS, "An action this user may take now.")),
            "masks": nullable(array(ref("TextMask"))),
            "flags": array(ref("CaseFlag")),
        }, description="Everything staff may see of a case, private fields included. `masks` is given "
                       "only to a user who may review the case now, otherwise it is null."),
        **mask_schemas(),
        "ExtensionRequest": obj({
            "days": integer(minimum=1, maximum=MAX_EXTENSION_DAYS), "reason": string(),
            "status": enum(["pending", "approved", "denied"]), "requested_by": nullable(ref("UserRef")),
            "requested_at": datetime_(),
        }, description="The extension request waiting for a dispatcher's decision."),
        "CaseFlag": obj({  # content-rule flags for the reviewer; they never change the text
            "kind": enum(["external_link", "sensitive_word"],
                         "A link outside the government domains, or a sensitive word (Art. 17)."),
            "field": enum(["title", "content", "reply"], "`reply` is the draft a handler wrote."),
            "match": string("The link or the word found."), "created_at": datetime_(),
        }),
        **action_schemas(),
    }


def mask_schemas() -> dict:
    """The stored masks over a case's text (Art. 17) and the bodies that change them."""
    return {
        "TextMask": obj({
            "id": integer(),
            "field": enum(MASK_FIELDS, "`reply` is the draft while the case is under review."),
            "label": enum(MASK_LABELS, "What was found; `manual` for a stretch a reviewer masked."),
            "origin": enum(["detector", "reviewer"]),
            "lifted": boolean("A reviewer lifted it: the stretch will be published as written."),
            "start": integer("Offset (in characters) in the field's text.", minimum=0),
            "end": integer("End offset, exclusive. A manual mask hides every occurrence of its text.",
                           minimum=0),
        }, description="A stretch of a case's text the public copy hides, replaced by a bracketed "
                       "label such as [身份证号]."),  # i18n: data
        "MaskBody": obj({
            "field": enum(MASK_FIELDS),
            "text": string("An exact substring of the field's current text.", maxLength=MAX_MANUAL),
        }, description="A manual mask: every occurrence of `text` in `field` is hidden."),
        "LiftBody": obj({
            "lifted": boolean("true lifts the mask (a false positive), false restores it.", default=True),
        }, required=[]),
    }


def action_schemas() -> dict:
    """The request body of each workflow action."""
    return {
        "DispatchBody": obj({"department": string("Code of the department to route to.")},
                            description="dispatch: submitted → assigned (dispatcher)."),
        "AcceptBody": obj({}, description="accept: assigned → handling (handler of the department)."),
        "TransferBody": obj({"reason": string(maxLength=LIMITS["reason"])},
                            description="transfer: assigned|handling → submitted (handler); the due date "
                                        "is kept and a dispatcher re-routes the case."),
        "ReplyBody": obj({"text": string(maxLength=LIMITS["text"])},
                         description="reply: handling → pending_review (handler)."),
        "DeclineBody": obj({"reason": enum(DECLINE_REASONS),
                            "explanation": string(maxLength=LIMITS["reason"])},
                           required=["reason"],
                           description="decline: assigned|handling → pending_review (handler); a "
                                       "reviewer approves it too."),
        "ReviewBody": obj({
            "decision": enum(["approve", "return"]),
            "comment": string("Required when returning.", maxLength=LIMITS["comment"]),
            "publish": boolean("On approve: publish the record (only if the citizen agreed).",
                               default=False),
        }, required=["decision"], description="review: pending_review → replied/declined (approve) or → "
                                              "handling (return), by a reviewer of the department "
                                              "who did not write the draft."),
        "RequestExtensionBody": obj({
            "days": integer("Working days to add, counted from the current due date.", minimum=1,
                            maximum=MAX_EXTENSION_DAYS),
            "reason": string(maxLength=LIMITS["reason"]),
        }, required=["days", "reason"],
            description="request_extension: a handler of the department, while the case is assigned "
                        "or handling and before its deadline; one pending request at a time (409 otherwise)."),
        "DecideExtensionBody": obj({
            "decision": enum(["approve", "deny"]),
            "comment": string(maxLength=LIMITS["comment"]),
        }, required=["decision"],
            description="decide_extension: a dispatcher approves (due_at moves by the requested working "
                        "days from the old due date; the citizen is told) or denies the pending request."),
        "UrgeBody": obj({"note": string(maxLength=URGE_NOTE_LIMIT)}, required=["note"],
                        description="urge: a dispatcher urges an overdue case of a department; the "
                                    "urge is recorded in the timeline and the department is told."),
    }


# --- parameters and responses ---------------------------------------------------------------

def parameters(surface: str) -> dict:
    """Reusable parameters."""
    params = {
        "Number": {"name": "number", "in": "path", "required": True, "schema": string(pattern="^[0-9]+$"),
                   "description": "The case number."},
        "Page": query("page", integer(minimum=1, default=1), "Page number, from 1."),
        "PerPage": query("per_page", integer(minimum=1, maximum=100), "Items per page (at most 100)."),
    }
    if surface in ("public", "all"):
        params["QueryCode"] = {
            "name": "X-Query-Code", "in": "header", "required": True, "schema": string(),
            "description": "The query code from the receipt. A missing or wrong code is answered "
                           "with 404, exactly like an unknown number.",
        }
    if surface in ("staff", "all"):
        params["Action"] = {"name": "action", "in": "path", "required": True, "schema": enum(ACTIONS),
                            "description": "The workflow action, or an extension or supervision action; "
                                           "an unknown one is answered with 404."}
    return params


def responses(surface: str) -> dict:
    """Reusable error responses."""
    out = {
        "BadRequest": response("The body or a parameter is invalid; `fields` says what, per field.",
                               ref("Error")),
        "NotFound": response("Not found, or not visible to the caller.", ref("Error")),
        "Conflict": response("The case's current status does not allow this.", ref("Error")),
    }
    if surface in ("public", "all"):
        out["TooManyRequests"] = response(
            "Too many requests from this client address (INTERACT_RATELIMIT_SUBMIT / _LOOKUP).", ref("Error"),
            headers={"Retry-After": {"schema": integer(minimum=1), "description": "Seconds to wait."}},
        )
        out["TooLarge"] = response("The request body is larger than INTERACT_MAX_REQUEST_BYTES.", ref("Error"))
    if surface in ("staff", "all"):
        out["Unauthorized"] = response(
            "No bearer token, or a bad, expired or revoked one.", ref("Error"),
            headers={"WWW-Authenticate": {"schema": string(), "description": "Bearer challenge."}},
        )
        out["Forbidden"] = response("The user's role does not allow this (or it is their own draft).",
                                    ref("Error"))
    return out


# --- paths ----------------------------------------------------------------------------------

def public_paths() -> dict:
    """Paths the public surface serves."""
    tag = "public"
    return {
        f"{PREFIX}/cases": {"post": operation(
            "submitCase", tag, "Submit a case", description="Registers a consultation, suggestion, "
            "complaint, leader-mailbox letter or website error report. A case naming a department, and "
            "every correction, starts as `assigned`; any other starts as `submitted`. Attachments are "
            "accepted through the HTML form only, for now.",
            body={"required": True, "content": json_content(ref("CaseSubmission"))},
            responses={
                "201": response("The receipt. Keep the query code: it is not shown again.", ref("Receipt"),
                                headers={"Location": {"schema": string(),
                                                      "description": "URL of the case for the citizen."}}),
                "400": error_ref("BadRequest"), "413": error_ref("TooLarge"),
                "429": error_ref("TooManyRequests"),
            },
        )},
        f"{PREFIX}/cases/{{number}}": {"get": operation(
            "getCitizenCase", tag, "Follow a case with its query code",
            parameters=[param_ref("Number"), param_ref("QueryCode")],
            responses={"200": response("The case as its citizen sees it.", ref("CitizenCase")),
                       "404": error_ref("NotFound"), "429": error_ref("TooManyRequests")},
        )},
        f"{PREFIX}/cases/{{number}}/rating": {"post": operation(
            "rateCase", tag, "Rate the reply (once)",
            parameters=[param_ref("Number"), param_ref("QueryCode")],
            body={"required": True, "content": json_content(ref("RatingRequest"))},
            responses={"201": response("The rating.", ref("Rating")), "400": error_ref("BadRequest"),
                       "404": error_ref("NotFound"),
                       "409": error_ref("Conflict"), "429": error_ref("TooManyRequests")},
            description="Only after the reply was approved, and only once (409 otherwise).",
        )},
        f"{PREFIX}/records": {"get": operation(
            "listRecords", tag, "Published handling records", description="Replied cases that the citizen "
            "allowed to publish and the reviewer approved for publication, newest reply first. Only the "
            "reviewed, masked copy is shown; declined cases are never listed.",
            parameters=[
                query("department", string(), "Department code."), query("kind", enum(KINDS), "Kind."),
                query("month", string(pattern="^[0-9]{4}-[0-9]{2}$"), "Local month of the reply, YYYY-MM."),
                param_ref("Page"), param_ref("PerPage"),
            ],
            responses={"200": response("One page of records (20 per page unless asked).", ref("RecordPage")),
                       "400": error_ref("BadRequest")},
        )},
        f"{PREFIX}/records/{{number}}": {"get": operation(
            "getRecord", tag, "One published handling record", parameters=[param_ref("Number")],
            responses={"200": response("The record.", ref("Record")),
                       "404": error_ref("NotFound")},
        )},
        f"{PREFIX}/departments": {"get": operation(
            "listDepartments", tag, "Active departments and leader mailboxes",
            responses={"200": response("Departments by code.", array(ref("DepartmentEntry")))},
        )},
        f"{PREFIX}/sites": {"get": operation(
            "listSites", tag, "Websites that error reports can target",
            responses={"200": response("Active sites by name.", array(ref("Site")))},
        )},
        f"{PREFIX}/kinds": {"get": operation(
            "listKinds", tag, "The channels and what each is for",
            description="Each channel's purpose, aim and usage (Art. 16), its deadline in working days, "
                        "and the fixed lists of error types, ratings and decline reasons.",
            responses={"200": response("The channel directory.", ref("Kinds"))},
        )},
    }


def staff_paths() -> dict:
    """Paths the staff surface serves."""
    tag = "staff"
    denied = {"401": error_ref("Unauthorized")}
    actions = {
        "dispatch": ("DispatchBody", {"department": "housing"}),
        "accept": ("AcceptBody", {}),
        "transfer": ("TransferBody", {"reason": "不属于本部门职责。"}),  # i18n: data
        "reply": ("ReplyBody", {"text": "经核实，……"}),  # i18n: data
        "decline": ("DeclineBody", {"reason": "duplicate", "explanation": "与办件2026112700041重复。"}),  # i18n: data
        "review": ("ReviewBody", {"decision": "approve", "comment": "", "publish": True}),
        "request_extension": ("RequestExtensionBody", {"days": 3, "reason": "需会同多个部门现场核查。"}),  # i18n: data
        "decide_extension": ("DecideExtensionBody", {"decision": "approve", "comment": ""}),
        "urge": ("UrgeBody", {"note": "请于今日内答复。"}),  # i18n: data
    }
    return {
        f"{PREFIX}/staff/cases": {"get": operation(
            "listStaffCases", tag, "The cases this user may see",
            description="A handler or reviewer sees their department's cases; a dispatcher sees cases "
                        "waiting to be routed. Soonest deadline first.",
            parameters=[
                query("status", enum(Status.__members__), "Only cases in this status."),
                query("department", string(), "Only cases of this department (code)."),
                param_ref("Page"), param_ref("PerPage"),
            ],
            responses={"200": response("One page of cases (50 per page unless asked).", ref("StaffCasePage")),
                       "400": error_ref("BadRequest"), **denied},
            staff=True,
        )},
        f"{PREFIX}/staff/cases/{{number}}": {"get": operation(
            "getStaffCase", tag, "One case, with private fields and the actions open now",
            parameters=[param_ref("Number")],
            responses={"200": response("The case.", ref("StaffCase")), **denied,
                       "404": error_ref("NotFound")},
            staff=True,
        )},
        f"{PREFIX}/staff/cases/{{number}}/{{action}}": {"post": operation(
            "actOnCase", tag, "Take a workflow action",
            description="The body depends on the action: " + "; ".join(
                f"`{a}` → `{schema}`" for a, (schema, _example) in actions.items()) + ". Answers with the "
                "case as it is after the action.",
            parameters=[param_ref("Number"), param_ref("Action")],
            body={"required": False, "content": {"application/json": {
                "schema": {"anyOf": [ref(schema) for schema, _example in actions.values()]},
                "examples": {a: {"summary": a, "value": example} for a, (_schema, example) in actions.items()},
            }}},
            responses={
                "200": response("The case after the action.", ref("StaffCase")),
                "400": error_ref("BadRequest"), **denied,
                "403": error_ref("Forbidden"), "404": error_ref("NotFound"), "409": error_ref("Conflict"),
            },
            staff=True,
        )},
        f"{PREFIX}/staff/cases/{{number}}/masks": {"post": operation(
            "addCaseMask", tag, "Mask a stretch of a case's text before publication",
            description="Art. 17: a reviewer of the department who may review the case now (it is "
                        "`pending_review` and not their own draft) hides an exact substring of the title, "
                        "content or draft reply; every occurrence is masked in the published copy.",
            parameters=[param_ref("Number")],
            body={"required": True, "content": json_content(ref("MaskBody"))},
            responses={
                "201": response("The stored mask.", ref("TextMask")),
                "400": error_ref("BadRequest"), **denied,
                "403": error_ref("Forbidden"), "404": error_ref("NotFound"), "409": error_ref("Conflict"),
            },
            staff=True,
        )},
        f"{PREFIX}/staff/cases/{{number}}/masks/{{mask_id}}/lift": {"post": operation(
            "liftCaseMask", tag, "Lift a mask, or restore it",
            description="A reviewer lifts a mask that hides nothing personal (a false positive), or "
                        "restores it with `{\"lifted\": false}`. Same permission as adding a mask.",
            parameters=[param_ref("Number"), {"name": "mask_id", "in": "path", "required": True,
                                               "schema": integer(), "description": "The mask's id."}],
            body={"required": False, "content": json_content(ref("LiftBody"))},
            responses={
                "200": response("The mask as it is now.", ref("TextMask")),
                "400": error_ref("BadRequest"), **denied,
                "403": error_ref("Forbidden"), "404": error_ref("NotFound"), "409": error_ref("Conflict"),
            },
            staff=True,
        )},
    }


def openapi_path() -> dict:
    """The path of this document itself."""
    return {f"{PREFIX}/openapi.json": {"get": operation(
        "getOpenApi", "meta", "This OpenAPI document",
        responses={"200": {"description": "The OpenAPI document of this surface.",
                           "content": json_content({"type": "object"})}},
    )}}


def document(surface: str) -> dict:
    """The OpenAPI document of what `surface` serves."""
    public, staff = surface in ("public", "all"), surface in ("staff", "all")
    paths = openapi_path()
    schemas = common_schemas()
    tags = []
    if public:
        paths.update(public_paths())
        schemas.update(public_schemas())
        tags.append({"name": "public", "description": "Citizens and other channels; no authentication."})
    if staff:
        paths.update(staff_paths())
        schemas.update(staff_schemas())
        tags.append({"name": "staff", "description": "Back office; `Authorization: Bearer TOKEN`."})
    tags.append({"name": "meta", "description": "About the API."})
    components: dict = {"schemas": schemas, "parameters": parameters(surface), "responses": responses(surface)}
    if staff:
        components["securitySchemes"] = {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "A staff API token from `interact tokens create USERNAME`.",
        }}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "interact API", "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": components,
    }


def make_blueprint(surface: str) -> Blueprint:
    """Build the blueprint serving the OpenAPI document of `surface`."""
    bp = Blueprint("openapi", __name__, url_prefix=PREFIX)

    @bp.get("/openapi.json")
    def spec():
        """The OpenAPI document of this surface."""
        return jsonify(document(surface))

    return bp
