"""The API's marshmallow schemas against the views: every declared request field is type-checked and
handed to the service, and real answers carry no property the generated document does not declare."""
from __future__ import annotations

import contextlib
import copy
import inspect

import pytest
from openapi_schema_validator import OAS31Validator

from interact.api import schemas
from interact.domain.errors import Conflict, DomainError
from interact.domain.workflow import TRANSITIONS
from interact.services import actions
from interact.services import cases as case_service
from interact.services import masks as mask_service
from interact.services.tx import unit_of_work

# A value of the right JSON type, and one of a wrong type, for each kind of request field.
RIGHT = {schemas.Text: "x", schemas.Flag: False, schemas.WholeNumber: 7, schemas.IdOrText: 42}
WRONG = {schemas.Text: 5, schemas.Flag: "yes", schemas.WholeNumber: "seven", schemas.IdOrText: [1]}
BODY_ROUTES = {  # request schema → (path template, who sends it)
    **{body: ("/api/v1/staff/cases/{number}/" + action, "handler") for action, body in schemas.ACTION_BODIES.items()},
    schemas.MaskBody: ("/api/v1/staff/cases/{number}/masks", "reviewer"),
    schemas.LiftBody: ("/api/v1/staff/cases/{number}/masks/1/lift", "reviewer"),
}


def bearer(token: str) -> dict:
    """The Authorization header for a staff token."""
    return {"Authorization": f"Bearer {token}"}


def sample(schema: type[schemas.Body], values: dict) -> dict:
    """A body giving every field `schema` declares a value of the kind `values` maps its type to,
    each distinct so that a mix-up shows."""
    body = {}
    for name, field_obj in schema().fields.items():
        value = values[type(field_obj)]
        body[name] = f"{value}-{name}" if isinstance(value, str) and values is RIGHT else value
    return body


def closed(spec: dict) -> dict:
    """The document's components with every object schema closed to undeclared properties."""
    components = copy.deepcopy(spec["components"])
    for schema in components["schemas"].values():
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return components


def undeclared(spec: dict, path: str, method: str, response) -> list[str]:
    """Where a real answer departs from its documented schema, undeclared properties included."""
    components = closed(spec)
    answer = spec["paths"][path][method]["responses"][str(response.status_code)]
    if "$ref" in answer:
        answer = components["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer["content"]["application/json"]["schema"]
    validator = OAS31Validator({**schema, "components": components}, format_checker=OAS31Validator.FORMAT_CHECKER)
    return [f"{method.upper()} {path} {response.status_code}: {e.message}"
            for e in validator.iter_errors(response.get_json())]


def arguments(func, args: tuple, kwargs: dict) -> dict:
    """The arguments of a call of `func`, by parameter name."""
    return inspect.signature(func).bind(*args, **kwargs).arguments


def capture(monkeypatch, module, name: str) -> list[dict]:
    """Replace `module.name` by a stand-in that records its arguments and refuses (409), changing nothing."""
    real, calls = getattr(module, name), []

    def stand_in(*args, **kwargs):
        """Record the call, then refuse it."""
        calls.append(arguments(real, args, kwargs))
        raise Conflict("captured")

    monkeypatch.setattr(module, name, stand_in)
    return calls


# --- the document and the schemas the views load are the same --------------------------------

def test_every_action_has_a_body_schema_and_the_document_names_them(client):
    """The action list, the bodies the view loads and the documented bodies are one list."""
    spec = client.get("/api/v1/openapi.json").get_json()
    documented_actions = spec["components"]["parameters"]["Action"]["schema"]["enum"]
    assert list(schemas.ACTION_BODIES) == list(TRANSITIONS) == documented_actions
    body = spec["paths"]["/api/v1/staff/cases/{number}/{action}"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["anyOf"] == [{"$ref": f"#/components/schemas/{schema.__name__}"}
                                       for schema in schemas.ACTION_BODIES.values()]
    for action, example in body["examples"].items():  # each example is a body the view accepts as it is
        assert schemas.load(schemas.ACTION_BODIES[action], example["value"]) == example["value"], action


def test_documented_request_fields_are_the_schemas_fields(client):
    """Each documented request body lists exactly the fields its schema declares, required ones marked."""
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for schema in (schemas.CaseSubmission, schemas.RatingRequest, schemas.MaskBody, schemas.LiftBody,
                   *schemas.ACTION_BODIES.values()):
        declared = schema().fields
        assert set(spec[schema.__name__]["properties"]) == set(declared), schema.__name__
        assert set(spec[schema.__name__].get("required", [])) == {n for n, f in declared.items() if f.required}


# --- request bodies: every declared field is checked and reaches the service ------------------

def test_every_declared_submission_field_is_type_checked(client, world):
    """A wrong JSON type in any declared field of a submission is a 400 naming that field."""
    wrong = sample(schemas.CaseSubmission, WRONG)
    response = client.post("/api/v1/cases", json=wrong)
    assert response.status_code == 400
    assert response.get_json()["fields"].keys() == wrong.keys()
    assert response.get_json()["message"] == "请求的字段类型有误。"


@pytest.mark.parametrize("schema", list(BODY_ROUTES), ids=lambda s: s.__name__)
def test_every_declared_staff_body_field_is_type_checked(client, world, create_case, create_token, schema):
    """A wrong JSON type in any declared field of a staff body is a 400 naming that field."""
    case, _code = create_case("pending_review")
    path, who = BODY_ROUTES[schema]
    wrong = sample(schema, WRONG)
    response = client.post(path.format(number=case.number), json=wrong,
                           headers=bearer(create_token(getattr(world, who))))
    if not wrong:  # a body without fields has nothing to get wrong
        assert response.status_code != 400
        return
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["fields"].keys() == wrong.keys()


def test_rating_fields_are_type_checked(client, create_case):
    """A wrong JSON type in the rating body is a 400 naming each field."""
    case, code = create_case("replied")
    wrong = sample(schemas.RatingRequest, WRONG)
    response = client.post(f"/api/v1/cases/{case.number}/rating", json=wrong, headers={"X-Query-Code": code})
    assert response.status_code == 400
    assert response.get_json()["fields"].keys() == wrong.keys()


def test_every_declared_submission_field_reaches_the_service(client, world, monkeypatch):
    """Each field the submission schema declares is handed to the case service as sent; others are not."""
    calls = capture(monkeypatch, case_service, "submit_case")
    sent = sample(schemas.CaseSubmission, RIGHT)
    assert client.post("/api/v1/cases", json={**sent, "status": "replied"}).status_code == 409
    [call] = calls
    sub = call["sub"]
    assert {name: getattr(sub, name) for name in sent} == sent


def test_rating_fields_reach_the_service(client, create_case, monkeypatch):
    """Each field the rating schema declares is handed to the case service as sent."""
    case, code = create_case("replied")
    calls = capture(monkeypatch, case_service, "rate_case")
    sent = sample(schemas.RatingRequest, RIGHT)
    response = client.post(f"/api/v1/cases/{case.number}/rating", json=sent, headers={"X-Query-Code": code})
    assert response.status_code == 409
    [call] = calls
    assert {name: call[name] for name in sent} == sent


class Reads(dict):
    """A body that remembers which fields were read from it."""

    def __init__(self, *args, **kwargs):
        """A dict, with nothing read yet."""
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key, default=None):
        """Look a field up, and remember it."""
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        """Look a field up, and remember it."""
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("action", list(schemas.ACTION_BODIES))
def test_every_declared_action_field_reaches_the_service(client, world, create_case, create_token, monkeypatch,
                                                          action):
    """The body an action hands to the service holds exactly the fields its schema declares, as sent."""
    case, _code = create_case("handling")
    calls = capture(monkeypatch, actions, "perform")
    sent = sample(schemas.ACTION_BODIES[action], RIGHT)
    response = client.post(f"/api/v1/staff/cases/{case.number}/{action}", json={**sent, "undeclared": "x"},
                           headers=bearer(create_token(world.handler)))
    assert response.status_code == 409
    [call] = calls
    assert (call["action"], call["body"]) == (action, sent)


@pytest.mark.parametrize("action", list(schemas.ACTION_BODIES))
def test_the_action_service_reads_every_declared_field(app, world, create_case, action):
    """No action body declares a field its service never reads."""
    case, _code = create_case("handling")
    body = Reads(sample(schemas.ACTION_BODIES[action], RIGHT))
    with contextlib.suppress(DomainError), unit_of_work():  # refused or not: what matters is what it read
        actions.perform(world.handler, case.number, action, body)
    assert body.read >= set(body)


def test_mask_fields_reach_the_service(client, world, create_case, create_token, monkeypatch):
    """The mask bodies' declared fields are handed to the mask service as sent."""
    case, _code = create_case("pending_review")
    headers = bearer(create_token(world.reviewer))
    added, lifted = capture(monkeypatch, mask_service, "add_manual_mask"), capture(monkeypatch, mask_service, "lift_mask")
    sent = sample(schemas.MaskBody, RIGHT)
    assert client.post(f"/api/v1/staff/cases/{case.number}/masks", json=sent, headers=headers).status_code == 409
    assert {name: added[0][name] for name in sent} == sent
    sent = sample(schemas.LiftBody, RIGHT)
    assert client.post(f"/api/v1/staff/cases/{case.number}/masks/1/lift", json=sent,
                       headers=headers).status_code == 409
    assert {name: lifted[0][name] for name in sent} == sent


# --- answers: nothing undeclared ---------------------------------------------------------------

def test_real_answers_carry_no_undeclared_property(client, world, create_case, create_token):
    """Answers of every endpoint, errors included, hold only properties their schemas declare."""
    spec = client.get("/api/v1/openapi.json").get_json()
    reviewer, handler = bearer(create_token(world.reviewer)), bearer(create_token(world.handler))
    published, code = create_case("replied")
    pending, _code = create_case("pending_review")
    problems = []

    def check(path: str, method: str, response, status: int):
        assert response.status_code == status, (path, response.get_json())
        problems.extend(undeclared(spec, path, method, response))

    submission = {"kind": "consultation", "title": "咨询", "content": "内容", "name": "李四", "phone": "13900000000"}
    check("/api/v1/cases", "post", client.post("/api/v1/cases", json=submission), 201)
    check("/api/v1/cases", "post", client.post("/api/v1/cases", json={"title": 1}), 400)
    check("/api/v1/cases/{number}", "get",
          client.get(f"/api/v1/cases/{published.number}", headers={"X-Query-Code": code}), 200)
    check("/api/v1/cases/{number}/rating", "post", client.post(
        f"/api/v1/cases/{published.number}/rating", json={"rating": "satisfied", "comment": "好"},
        headers={"X-Query-Code": code}), 201)
    for path in ("/api/v1/records", f"/api/v1/records/{published.number}", "/api/v1/departments",
                 "/api/v1/sites", "/api/v1/kinds"):
        check(path.replace(published.number, "{number}"), "get", client.get(path), 200)
    staff_case = "/api/v1/staff/cases/{number}"
    check("/api/v1/staff/cases", "get", client.get("/api/v1/staff/cases", headers=handler), 200)
    check(staff_case, "get", client.get(f"/api/v1/staff/cases/{published.number}", headers=handler), 200)
    check(staff_case, "get", client.get(f"/api/v1/staff/cases/{pending.number}", headers=reviewer), 200)
    mask = client.post(f"/api/v1/staff/cases/{pending.number}/masks", json={"field": "content", "text": "外地户籍"},
                       headers=reviewer)
    check(staff_case + "/masks", "post", mask, 201)
    check(staff_case + "/masks/{mask_id}/lift", "post", client.post(
        f"/api/v1/staff/cases/{pending.number}/masks/{mask.get_json()['id']}/lift", json={}, headers=reviewer), 200)
    act = staff_case + "/{action}"
    check(act, "post", client.post(f"/api/v1/staff/cases/{pending.number}/review",
                                   json={"decision": "approve", "publish": True}, headers=reviewer), 200)
    check(act, "post", client.post(f"/api/v1/staff/cases/{pending.number}/review", json={}, headers=reviewer), 409)
    check(act, "post", client.post(f"/api/v1/staff/cases/{pending.number}/review", json={}), 401)
    assert problems == []


def test_the_closed_check_catches_an_undeclared_property(client, world):
    """The check above can fail: a property the schema does not declare is reported."""
    spec = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/departments")
    assert undeclared(spec, "/api/v1/departments", "get", response) == []
    response.set_data(b'[{"code": "housing", "name": "x", "mailbox_name": null, "phone": "1"}]')
    assert undeclared(spec, "/api/v1/departments", "get", response)
