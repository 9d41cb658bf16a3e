"""The request and response shapes of API v1, declared once as marshmallow schemas.

Why marshmallow + apispec: it is the well-kept pair that flask-smorest itself builds on. Using
them directly keeps our Flask blueprints, our error format and our status codes exactly as they
are (flask-smorest would impose its own Api object, error handler and 422 answers), and the same
schemas that generate the OpenAPI document (interact.api.openapi) validate the request bodies.

- Request bodies (`Body` subclasses) are loaded by the views with `load`: it checks JSON types and
  shape only, maps a wrong type to the API's 400 with a Chinese message per field, and keeps only
  the declared fields (anything else in the body is ignored). Presence, lengths and allowed values
  are the services' to check, with their own messages; the schemas state them for the document.
- Response shapes (`Reply` subclasses) describe what interact.api.serializers builds; every
  property they declare is always present (it may be null where the field allows it). The tests
  validate real answers against the generated document.

Enums, limits and the list of actions come from the registries the services use, so the
document cannot drift from the code. Docstrings of the schema classes become their descriptions
in the document, so they are written for API users.
"""
from __future__ import annotations

from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load

from ..domain.errors import ValidationFailed
from ..domain.kinds import DECLINE_REASONS, ERROR_TYPES, KINDS, RATINGS
from ..domain.privacy import LABELS as MASK_LABELS
from ..domain.states import AttachmentPurpose, DraftKind, ExtensionStatus, FlagKind, MaskOrigin, Status
from ..domain.workflow import EVENT_LABELS, TRANSITIONS
from ..services.extensions import DECISIONS as EXTENSION_DECISIONS
from ..services.extensions import MAX_EXTENSION_DAYS
from ..services.cases import PHONE_RE
from ..services.inputs import LIMITS
from ..services.masks import FIELDS as MASK_FIELDS
from ..services.masks import MAX_MANUAL
from ..services.supervision import URGE_NOTE_LIMIT
from ..domain.deadlines import LIGHT_LABELS
from ..services.listing import MAX_NUMBERED_PAGE, MAX_PER_PAGE
from ..web.paging import MAX_PAGE

# Deadline lights, as interact.domain.deadlines computes them.
LIGHTS = tuple(LIGHT_LABELS)
MAX_PAGE_URL = 1024  # as the case service checks it
# What interact.web.gatekeeper lets through in a string, stated in the document as a pattern: no C0 control
# character but tab, CR and LF (400 otherwise). The characters stand as themselves, which every regex dialect
# reads. Lone surrogates are refused too, but no pattern can say so: Rust's regex (jsonschema-rs) cannot name
# them, and a document its validators reject is worse; TEXT_RULE says it in words.
TEXT_PATTERN = "^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
TEXT_RULE = "Control characters other than tab, CR and LF, and lone surrogates (\\ud800-\\udfff), are refused with 400."


def about(description: str | None = None, **openapi) -> dict:
    """Field metadata for the document: a description and OpenAPI keywords (enum, maxLength, …)."""
    return {"description": description, **openapi} if description else openapi


def codes(registry) -> list[str]:
    """The codes of a registry (a dict's keys, a sequence's items, an enum's values), as an enum."""
    return [str(getattr(code, "value", code)) for code in registry]


# --- request fields: a wrong JSON type is a Chinese message ----------------------------------

class _Checked:
    """Mixin for request fields: a type error reads in Chinese."""

    def __init__(self, *, message=None, **kwargs):
        """`message` replaces the type error when it should read as the service's own refusal."""
        if message is not None:
            kwargs["error_messages"] = {"invalid": message}
        super().__init__(**kwargs)
        # A field-specific message says more than "wrong type": it is also the answer's message.
        self.explains = message is not None

    def make_error(self, key: str, **kwargs) -> ValidationError:
        """The error with its message translated now, in the request's locale."""
        return ValidationError(str(self.error_messages[key]))


class Text(_Checked, fields.String):
    """A JSON string; the document states the characters the gatekeeper refuses."""

    default_error_messages = {"invalid": _l("须为字符串。")}

    def __init__(self, **kwargs):
        """The field, its metadata carrying TEXT_PATTERN unless it names its own pattern or values."""
        metadata = kwargs.setdefault("metadata", {})
        if "enum" not in metadata:
            metadata.setdefault("pattern", TEXT_PATTERN)
        super().__init__(**kwargs)


class Flag(_Checked, fields.Boolean):
    """A JSON true or false, nothing else (not 1, not "yes")."""

    default_error_messages = {"invalid": _l("须为 true 或 false。")}

    def _deserialize(self, value, attr, data, **kwargs):
        """The boolean as sent."""
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class WholeNumber(_Checked, fields.Integer):
    """A JSON integer (8 or 8.0: JSON Schema counts both as integers), or a string of digits as a
    form sends it; never a boolean or a fraction."""

    def _deserialize(self, value, attr, data, **kwargs):
        """The integer."""
        if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            try:
                value = int(value.strip())
            except ValueError:  # digits int() does not read, such as "²"
                raise self.make_error("invalid") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class IdOrText(_Checked, fields.Field):
    """An id sent as a JSON integer or a string; the service looks it up."""

    def _deserialize(self, value, attr, data, **kwargs):
        """The id as sent."""
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.make_error("invalid")
        return value


class Body(Schema):
    """Base of the request bodies. `rules` holds JSON Schema keywords the document adds to the body's schema:
    what the services require beyond the fields' own types."""

    rules: ClassVar[dict] = {}

    class Meta:
        unknown = EXCLUDE  # other properties are ignored: the platform decides what they would say

    @pre_load
    def drop_nulls(self, data: dict, **kwargs) -> dict:
        """A property sent as null counts as absent."""
        return {name: value for name, value in data.items() if value is not None}

    def type_error_message(self, errors: dict[str, str]) -> str:
        """The answer's message for these wrongly typed fields."""
        if len(errors) == 1:
            [name] = errors
            if getattr(self.fields.get(name), "explains", False):
                return errors[name]
        return _("请求的字段类型有误。")


def load(schema: type[Body], body: dict) -> dict:
    """The declared fields of a JSON object body, type-checked; ValidationFailed names each wrong one.

    Missing fields are left out rather than refused (partial load): the services name them, with
    the messages the HTML forms show too.
    """
    checker = schema()
    try:
        return checker.load(body, partial=True)
    except ValidationError as exc:
        errors = {name: str(messages[0]) for name, messages in exc.normalized_messages().items()}
        raise ValidationFailed(checker.type_error_message(errors), errors) from None


# --- response shapes ------------------------------------------------------------------------

class Reply(Schema):
    """Base of the response shapes."""

    class Meta:
        unknown = EXCLUDE  # never loaded; this keeps the document open to properties added later

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """Every declared property is always in the answer (null where the field allows it)."""
        field_obj.required = True


def local_time(description: str | None = None, **kwargs) -> fields.DateTime:
    """A timestamp: local ISO 8601 with offset."""
    return fields.DateTime(metadata=about(description or "Local time with offset, e.g. 2026-11-27T10:15:00+08:00."),
                           **kwargs)


def local_date(description: str | None = None, **kwargs) -> fields.Date:
    """A local calendar date."""
    return fields.Date(metadata=about(description or "Local calendar date YYYY-MM-DD."), **kwargs)


class Error(Schema):
    """Every error answer. `message` is Chinese text fit to show to a person."""

    class Meta:
        unknown = EXCLUDE

    error = fields.String(required=True, metadata=about(
        "Machine-readable code: invalid, unauthorized, forbidden, not_found, conflict, …"))
    message = fields.String(required=True, metadata=about("A Chinese message fit to show to a person."))
    details = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          metadata=about("For 400: what is wrong with each field, by field name."))


class Department(Reply):
    """A department."""

    code = fields.String(metadata=about("Unique slug."))
    name = fields.String()


class Coded(Reply):
    """A value of a fixed list with its Chinese label."""

    code = fields.String()
    label = fields.String(metadata=about("Chinese label."))


class UserRef(Reply):
    """A staff member."""

    username = fields.String()
    name = fields.String()


class Page(Reply):
    """One page of a list."""

    total = fields.Integer(metadata=about(minimum=0))
    page = fields.Integer(metadata=about(minimum=1))
    per_page = fields.Integer(metadata=about(minimum=1, maximum=MAX_PER_PAGE))
    pages = fields.Integer(metadata=about(minimum=1))


# --- public responses -----------------------------------------------------------------------

class DepartmentEntry(Reply):
    """A department a citizen may address."""

    code = fields.String(metadata=about("Unique slug; send it as `department` when submitting."))
    name = fields.String()
    mailbox_name = fields.String(allow_none=True, metadata=about(
        "Name of the leader mailbox this office runs (the mayor's mailbox, …)."))


class Site(Reply):
    """A website that error reports can target."""

    id = fields.Integer(metadata=about("Send it as `site` when submitting a correction."))
    name = fields.String()
    base_url = fields.String(metadata=about(format="uri"))
    department = fields.Nested(Department)


class Kind(Reply):
    """A channel (kind of case) and what it is for (Art. 16)."""

    code = fields.String(metadata=about(enum=codes(KINDS)))
    label = fields.String()
    purpose = fields.String(metadata=about("What the channel is for (Art. 16)."))
    aim = fields.String(metadata=about("What it aims to achieve."))
    usage = fields.String(metadata=about("How to use it."))
    deadline_days = fields.Integer(metadata=about("Working days allowed for an answer.", minimum=1))
    needs_mailbox = fields.Boolean(metadata=about("The case must name a leader's office as `department`."))
    needs_site = fields.Boolean(metadata=about("The case must name a `site`, `page_url` and `error_type`."))


class Kinds(Reply):
    """The channel directory and the fixed value lists."""

    kinds = fields.List(fields.Nested(Kind))
    error_types = fields.List(fields.Nested(Coded))
    ratings = fields.List(fields.Nested(Coded))
    decline_reasons = fields.List(fields.Nested(Coded))


class Receipt(Reply):
    """What a citizen gets back once after submitting."""

    number = fields.String(metadata=about("The case number, e.g. 2026112700042."))
    query_code = fields.String(allow_none=True, metadata=about(
        "Shown this once only; only its hash is stored. Case and hyphens are ignored when it is sent back. "
        "null when a request re-sent with the same `Idempotency-Key` is answered with the first receipt."))
    status = fields.String(metadata=about(enum=[Status.submitted.value, Status.assigned.value]))
    due_date = local_date()


class Event(Reply):
    """A step of the case's timeline, as the citizen sees it."""

    at = local_time()
    action = fields.String(metadata=about(enum=codes(EVENT_LABELS)))
    label = fields.String()
    from_ = fields.String(data_key="from", allow_none=True, metadata=about(enum=codes(Status)))
    to = fields.String(metadata=about(enum=codes(Status)))
    note = fields.String(metadata=about("What the citizen may read about this step."))


class Answer(Reply):
    """The approved answer: a reply, or for a declined case the explanation and reason."""

    text = fields.String()
    replied_at = local_time()
    decline_reason = fields.Nested(Coded, allow_none=True)


class Rating(Reply):
    """The citizen's rating of the reply."""

    value = fields.String(metadata=about(enum=codes(RATINGS)))
    label = fields.String()
    comment = fields.String(allow_none=True)
    rated_at = local_time()


class Extended(Reply):
    """Whether and by how much the deadline was extended; `due_date` is the extended one."""

    extended = fields.Boolean(metadata=about(
        "The deadline was extended; on-time is judged against the extended one."))
    extension_days = fields.Integer(metadata=about("Working days added by approved extensions.", minimum=0))
    original_due_date = local_date()


class CitizenCase(Extended):
    """The citizen's own case: their words, the public timeline, the answer and the rating."""

    number = fields.String()
    kind = fields.String(metadata=about(enum=codes(KINDS)))
    status = fields.String(metadata=about(enum=codes(Status)))
    status_label = fields.String()
    department = fields.Nested(Department, allow_none=True)
    title = fields.String()
    content = fields.String()
    submitted_at = local_time()
    due_date = local_date()
    events = fields.List(fields.Nested(Event))
    reply = fields.Nested(Answer, allow_none=True)
    rating = fields.Nested(Rating, allow_none=True)


class Record(Extended):
    """A published handling record. Phone and e-mail are never part of it."""

    number = fields.String()
    kind = fields.String(metadata=about(enum=codes(KINDS)))
    title = fields.String(metadata=about("Reviewed, masked copy."))
    content = fields.String(metadata=about("Reviewed, masked copy."))
    name = fields.String(metadata=about("Masked: the family name and one * per other character."))
    department = fields.Nested(Department, allow_none=True)
    submitted_at = local_time()
    due_date = local_date()
    replied_at = local_time()
    reply = fields.String(metadata=about("Reviewed, masked copy."))
    working_days_used = fields.Integer(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    rating = fields.String(allow_none=True, metadata=about(enum=codes(RATINGS)))


class RecordPage(Page):
    """One page of published records."""

    page = fields.Integer(allow_none=True, metadata=about(
        "Page number; null on a page asked for by cursor.", minimum=1, maximum=MAX_NUMBERED_PAGE))
    items = fields.List(fields.Nested(Record))
    next_cursor = fields.String(allow_none=True, metadata=about(
        "Pass as `cursor` for the next (older) page; null on the last page."))


# --- public request bodies ------------------------------------------------------------------

class CaseSubmission(Body):
    """A citizen's case. Other properties (e.g. `status`) are ignored: the platform decides the
    status and, for corrections, the department. Attachments and screenshots can only be sent
    through the HTML form for now."""

    kind = Text(required=True, metadata=about(enum=codes(KINDS)))
    department = Text(metadata=about(
        "Department code (optional; for `mailbox` the leader's office, required). Ignored for "
        "`correction`, which goes to the site's department."))
    site = IdOrText(message=_l("请选择出错的网站。"), metadata=about(
        "Site id; `correction` only.", type=["integer", "string"]))
    page_url = Text(metadata=about("The page with the error (http/https); `correction` only.",
                                   maxLength=MAX_PAGE_URL))
    error_type = Text(metadata=about("`correction` only.", enum=codes(ERROR_TYPES)))
    title = Text(required=True, metadata=about(maxLength=LIMITS["title"]))
    content = Text(required=True, metadata=about(maxLength=LIMITS["content"]))
    name = Text(required=True, metadata=about("Never published; the public sees only the family name.",
                                              maxLength=LIMITS["name"]))
    phone = Text(required=True, metadata=about("Never published.", pattern=rf"^\s*{PHONE_RE.pattern[1:-1]}\s*$"))
    email = Text(metadata=about("Optional; never published."))
    publish = Flag(metadata=about("Whether the case may be published once handled.", default=True))

    rules = {"allOf": [
        {"if": {"properties": {"kind": {"const": "mailbox"}}, "required": ["kind"]},
         "then": {"required": ["department"]}},
        {"if": {"properties": {"kind": {"const": "correction"}}, "required": ["kind"]},
         "then": {"required": ["site", "page_url", "error_type"]}},
    ]}


class RatingRequest(Body):
    """The citizen's rating of the approved reply."""

    rating = Text(required=True, metadata=about(enum=codes(RATINGS)))
    comment = Text(metadata=about(maxLength=LIMITS["comment"]))


# --- staff responses ------------------------------------------------------------------------

class Deadline(Reply):
    """Deadline facts of a case."""

    due_at = local_time()
    due_date = local_date()
    light = fields.String(metadata=about("ok; soon (due within 1 working day); overdue; done (answered).",
                                         enum=list(LIGHTS)))
    days_left = fields.Integer(metadata=about("Working days from today to the due date; negative when late."))


class StaffCaseItem(Deadline):
    """One row of a staff case list."""

    number = fields.String()
    kind = fields.String(metadata=about(enum=codes(KINDS)))
    status = fields.String(metadata=about(enum=codes(Status)))
    department = fields.Nested(Department, allow_none=True)
    title = fields.String()


class StaffCasePage(Page):
    """One page of the cases this user may see."""

    items = fields.List(fields.Nested(StaffCaseItem))


class StaffEvent(Event):
    """A step of the case's timeline for staff: the actor, the internal note, and what the citizen sees."""

    actor = fields.Nested(UserRef, allow_none=True)
    note = fields.String(metadata=about("Internal note."))
    public_note = fields.String(metadata=about("What the citizen reads."))
    public = fields.Boolean(metadata=about("Shown to the citizen."))


class Attachment(Reply):
    """An attachment's metadata."""

    id = fields.Integer()
    purpose = fields.String(metadata=about(enum=codes(AttachmentPurpose)))
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(metadata=about(minimum=0))
    created_at = local_time()


class Draft(Reply):
    """The draft waiting for review, or the returned text kept for revision."""

    kind = fields.String(allow_none=True, metadata=about("null once a reviewer returned it for revision.",
                                                         enum=codes(DraftKind)))
    text = fields.String()
    reason = fields.Nested(Coded, allow_none=True)
    by = fields.Nested(UserRef, allow_none=True)
    drafted_at = local_time(allow_none=True)


class StaffAnswer(Answer):
    """The approved answer, with who wrote and who approved it."""

    replied_by = fields.Nested(UserRef, allow_none=True)
    reviewed_by = fields.Nested(UserRef, allow_none=True)


class PublicCopy(Reply):
    """The masked copy the public sees."""

    name = fields.String()
    title = fields.String()
    content = fields.String()
    reply = fields.String()


class TextMask(Reply):
    """A stretch of a case's text the public copy hides, replaced by a bracketed label such as
    [身份证号]."""

    id = fields.Integer()
    field = fields.String(metadata=about("`reply` is the draft while the case is under review.",
                                         enum=codes(MASK_FIELDS)))
    label = fields.String(metadata=about(
        "What was found; `manual` for a stretch a reviewer masked. A label ending in `_unverified` is "
        "shaped like its kind but failed its checksum (an ID's check character, a card's Luhn): masked all the same.",
        enum=codes(MASK_LABELS)))
    origin = fields.String(metadata=about(enum=codes(MaskOrigin)))
    lifted = fields.Boolean(metadata=about("A reviewer lifted it: the stretch will be published as written."))
    start = fields.Integer(metadata=about("Offset (in characters) in the field's text.", minimum=0))
    end = fields.Integer(metadata=about(
        "End offset, exclusive. A manual mask hides every occurrence of its text.", minimum=0))


class ExtensionRequest(Reply):
    """The extension request waiting for a dispatcher's decision."""

    days = fields.Integer(metadata=about(minimum=1, maximum=MAX_EXTENSION_DAYS))
    reason = fields.String()
    status = fields.String(metadata=about(enum=codes(ExtensionStatus)))
    requested_by = fields.Nested(UserRef, allow_none=True)
    requested_at = local_time()


class CaseFlag(Reply):
    """A content-rule flag for the reviewer; flags never change the text."""

    kind = fields.String(metadata=about("A link outside the government domains, or a sensitive word (Art. 17).",
                                        enum=codes(FlagKind)))
    field = fields.String(metadata=about("`reply` is the draft a handler wrote.", enum=codes(MASK_FIELDS)))
    match = fields.String(metadata=about("The link or the word found."))
    created_at = local_time()


class StaffCase(Deadline):
    """Everything staff may see of a case, private fields included. `masks` is given only to a
    user who may review the case now, otherwise it is null."""

    number = fields.String()
    kind = fields.String(metadata=about(enum=codes(KINDS)))
    status = fields.String(metadata=about(enum=codes(Status)))
    status_label = fields.String()
    department = fields.Nested(Department, allow_none=True)
    site = fields.Nested(Site, allow_none=True)
    page_url = fields.String(allow_none=True)
    error_type = fields.Nested(Coded, allow_none=True)
    title = fields.String()
    content = fields.String()
    name = fields.String()
    phone = fields.String()
    email = fields.String(allow_none=True)
    publish_consent = fields.Boolean()
    submitted_at = local_time()
    original_due_date = local_date()
    extension_days = fields.Integer(metadata=about("Working days added by approved extensions.", minimum=0))
    extension_count = fields.Integer(metadata=about("Approved extensions.", minimum=0))
    extension_request = fields.Nested(ExtensionRequest, allow_none=True)
    urge_count = fields.Integer(metadata=about("Times the dispatch office urged this case.", minimum=0))
    last_urged_at = local_time(allow_none=True)
    working_days_used = fields.Integer(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    transfer_count = fields.Integer(metadata=about(minimum=0))
    last_transfer_reason = fields.String(allow_none=True)
    handler = fields.Nested(UserRef, allow_none=True)
    draft = fields.Nested(Draft, allow_none=True)
    reply = fields.Nested(StaffAnswer, allow_none=True)
    published = fields.Boolean()
    public = fields.Nested(PublicCopy, allow_none=True)
    rating = fields.Nested(Rating, allow_none=True)
    events = fields.List(fields.Nested(StaffEvent))
    attachments = fields.List(fields.Nested(Attachment))
    actions = fields.List(fields.String(metadata=about("An action this user may take now.",
                                                       enum=codes(TRANSITIONS))))
    masks = fields.List(fields.Nested(TextMask), allow_none=True)
    flags = fields.List(fields.Nested(CaseFlag))


# --- staff request bodies -------------------------------------------------------------------

class DispatchBody(Body):
    """dispatch: submitted → assigned (dispatcher)."""

    department = Text(required=True, metadata=about("Code of the department to route to."))


class AcceptBody(Body):
    """accept: assigned → handling (handler of the department)."""


class TransferBody(Body):
    """transfer: assigned|handling → submitted (handler); the due date is kept and a dispatcher
    re-routes the case."""

    reason = Text(required=True, metadata=about(maxLength=LIMITS["reason"]))


class ReplyBody(Body):
    """reply: handling → pending_review (handler)."""

    text = Text(required=True, metadata=about(maxLength=LIMITS["text"]))


class DeclineBody(Body):
    """decline: assigned|handling → pending_review (handler); a reviewer approves it too."""

    reason = Text(required=True, metadata=about(enum=codes(DECLINE_REASONS)))
    explanation = Text(metadata=about(maxLength=LIMITS["explanation"]))


class ReviewBody(Body):
    """review: pending_review → replied/declined (approve) or → handling (return), by a reviewer of
    the department who did not write the draft."""

    decision = Text(required=True, metadata=about(enum=["approve", "return"]))
    comment = Text(metadata=about("Required when returning.", maxLength=LIMITS["comment"]))
    publish = Flag(metadata=about("On approve: publish the record (only if the citizen agreed).", default=False))


class RequestExtensionBody(Body):
    """request_extension: a handler of the department, while the case is assigned or handling and
    before its deadline; one pending request at a time (409 otherwise)."""

    days = WholeNumber(required=True, message=_l("延期天数须为1到%(n)d之间的整数（工作日）。", n=MAX_EXTENSION_DAYS),
                       metadata=about("Working days to add, counted from the current due date.",
                                      minimum=1, maximum=MAX_EXTENSION_DAYS))
    reason = Text(required=True, metadata=about(maxLength=LIMITS["reason"]))


class DecideExtensionBody(Body):
    """decide_extension: a dispatcher approves (due_at moves by the requested working days from the
    old due date; the citizen is told) or denies the pending request."""

    decision = Text(required=True, metadata=about(enum=codes(EXTENSION_DECISIONS)))
    comment = Text(metadata=about(maxLength=LIMITS["comment"]))


class UrgeBody(Body):
    """urge: a dispatcher urges an overdue case of a department; the urge is recorded in the
    timeline and the department is told."""

    note = Text(required=True, metadata=about(maxLength=URGE_NOTE_LIMIT))


class MaskBody(Body):
    """A manual mask: every occurrence of `text` in `field` is hidden."""

    field = Text(required=True, metadata=about(enum=codes(MASK_FIELDS)))
    text = Text(required=True, metadata=about("An exact substring of the field's current text.",
                                              maxLength=MAX_MANUAL))


class LiftBody(Body):
    """Lift a mask (a false positive), or restore it."""

    lifted = Flag(metadata=about("true lifts the mask (a false positive), false restores it.", default=True))


# The body of each action of POST /api/v1/staff/cases/{number}/{action}, in the table's order.
ACTION_BODIES: dict[str, type[Body]] = {
    "dispatch": DispatchBody,
    "accept": AcceptBody,
    "transfer": TransferBody,
    "reply": ReplyBody,
    "decline": DeclineBody,
    "review": ReviewBody,
    "request_extension": RequestExtensionBody,
    "decide_extension": DecideExtensionBody,
    "urge": UrgeBody,
}


def load_action(action: str, body: dict) -> dict:
    """The body of `action` loaded with its schema; an unknown action's body is left for the service to refuse."""
    schema = ACTION_BODIES.get(action)
    return body if schema is None else load(schema, body)


# --- query parameters (documented; the views parse them with web.paging.api_page_args) ---------

class PageQuery(Schema):
    """Paging parameters."""

    page = fields.Integer(metadata=about(f"Page number, from 1 to {MAX_PAGE}.", minimum=1, maximum=MAX_PAGE,
                                         default=1))
    per_page = fields.Integer(metadata=about(f"Items per page (at most {MAX_PER_PAGE}).",
                                             minimum=1, maximum=MAX_PER_PAGE))


class RecordsQuery(PageQuery):
    """Filters of the published records."""

    page = fields.Integer(metadata=about(
        f"Page number, from 1 to {MAX_NUMBERED_PAGE}; deeper pages are reached with `cursor`.",
        minimum=1, maximum=MAX_NUMBERED_PAGE, default=1))
    cursor = fields.String(metadata=about("The `next_cursor` of the previous page; `page` is then ignored.",
                                          pattern="^[0-9]{1,17}-[0-9]{1,18}$"))
    department = fields.String(metadata=about("Department code.", pattern=TEXT_PATTERN))
    kind = fields.String(metadata=about("Kind; empty means any kind.", enum=["", *codes(KINDS)]))
    month = fields.String(metadata=about("Local month of the reply, YYYY-MM; empty means any month.",
                                         pattern="^((19[0-9]{2}|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2]))?$"))


class StaffCasesQuery(PageQuery):
    """Filters of the staff case list."""

    status = fields.String(metadata=about("Only cases in this status.", enum=codes(Status)))
    department = fields.String(metadata=about("Only cases of this department (code).", pattern=TEXT_PATTERN))
