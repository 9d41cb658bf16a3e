"""The OpenAPI document: valid OpenAPI, complete for each surface, and no staff path on the public one."""
from __future__ import annotations

import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from interact.services.attachments import Upload


IGNORED_METHODS = {"HEAD", "OPTIONS"}


def api_routes(app) -> dict[str, set[str]]:
    """Every URL rule under /api/v1, as an OpenAPI path, with its methods."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - IGNORED_METHODS)
    return routes


def documented(spec: dict) -> dict[str, set[str]]:
    """Every path of the document with its methods."""
    return {path: set(item) - {"parameters", "summary", "description"} for path, item in spec["paths"].items()}


@pytest.fixture
def surface_app(make_app):
    """Factory: an app of one surface on the test database."""
    return make_app


@pytest.mark.parametrize("surface", ["public", "staff", "all"])
def test_document_is_valid_openapi(surface_app, surface):
    """The served document passes the OpenAPI validator."""
    response = surface_app(surface).test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_validator_would_reject_a_broken_document(client):
    """The validity check above can fail: a path parameter nobody declares is caught."""
    spec = client.get("/api/v1/openapi.json").get_json()
    del spec["paths"]["/api/v1/records/{number}"]["get"]["parameters"]
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


@pytest.mark.parametrize("surface", ["public", "staff", "all"])
def test_every_api_route_is_documented_with_its_methods(surface_app, surface):
    """Each /api/v1 rule the surface registers is a documented path, and nothing else is."""
    app = surface_app(surface)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    routes = api_routes(app)
    assert routes, "no API routes registered"
    assert documented(spec) == routes


def test_public_surface_has_and_documents_no_staff_api(surface_app):
    """Art. 25: the internet-facing surface neither serves nor describes the back-office API."""
    app = surface_app("public")
    assert not [r.rule for r in app.url_map.iter_rules() if r.rule.startswith(("/api/v1/staff", "/staff"))]
    response = app.test_client().get("/api/v1/openapi.json")
    spec = response.get_json()
    assert not [p for p in spec["paths"] if p.startswith("/api/v1/staff")]
    assert "securitySchemes" not in spec["components"]
    assert "StaffCase" not in spec["components"]["schemas"]
    assert app.test_client().get("/api/v1/staff/cases").status_code == 404


def test_staff_surface_documents_no_public_api(surface_app):
    """The back-office surface documents only its own API."""
    spec = surface_app("staff").test_client().get("/api/v1/openapi.json").get_json()
    assert all(p.startswith("/api/v1/staff") or p == "/api/v1/openapi.json" for p in spec["paths"])


def test_staff_paths_require_the_bearer_scheme(client):
    """Every staff operation declares bearerAuth and a 401 answer."""
    spec = client.get("/api/v1/openapi.json").get_json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    staff_ops = [op for path, item in spec["paths"].items() if path.startswith("/api/v1/staff")
                 for op in item.values()]
    assert len(staff_ops) == 5
    for op in staff_ops:
        assert op["security"] == [{"bearerAuth": []}]
        assert "401" in op["responses"]


def test_citizen_case_operations_take_the_query_code_header(client):
    """Following and rating a case name the X-Query-Code header."""
    spec = client.get("/api/v1/openapi.json").get_json()
    header = spec["components"]["parameters"]["QueryCode"]
    assert (header["name"], header["in"], header["required"]) == ("X-Query-Code", "header", True)
    for path, method in (("/api/v1/cases/{number}", "get"), ("/api/v1/cases/{number}/rating", "post")):
        refs = [p.get("$ref") for p in spec["paths"][path][method]["parameters"]]
        assert "#/components/parameters/QueryCode" in refs


def test_document_enums_match_the_registries(client):
    """Enums in the document come from the code, so they name exactly the fixed API values."""
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["CaseSubmission"]["properties"]["kind"]["enum"] == [
        "consultation", "suggestion", "complaint", "mailbox", "correction"]
    assert schemas["CaseSubmission"]["properties"]["error_type"]["enum"] == [
        "content", "broken_link", "outdated", "no_response", "service", "other"]
    assert schemas["StaffCase"]["properties"]["status"]["enum"] == [
        "submitted", "assigned", "handling", "pending_review", "replied", "declined"]
    action = spec["components"]["parameters"]["Action"]["schema"]["enum"]
    assert action == ["dispatch", "accept", "transfer", "reply", "decline", "review",
                      "request_extension", "decide_extension", "urge"]
    assert "phone" not in schemas["Record"]["properties"] and "email" not in schemas["Record"]["properties"]


def test_documented_error_shape_matches_an_actual_error(client, world):
    """A real 400 carries exactly the properties the Error schema names."""
    error = client.post("/api/v1/cases", json={"kind": "consultation"}).get_json()
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["Error"]
    assert set(schema["required"]) <= set(error) <= set(schema["properties"])


def test_real_responses_match_the_documented_schemas(client, world, create_token, create_case, png_bytes, response_errors):
    """Every answer of a full walk through the API validates against its documented schema."""
    spec = client.get("/api/v1/openapi.json").get_json()
    staff = {name: {"Authorization": "Bearer " + create_token(getattr(world, name))}
             for name in ("dispatcher", "handler", "reviewer")}
    create_case("replied", uploads=[Upload("a.png", png_bytes())])
    checks = []

    def check(path: str, method: str, response, status: int):
        assert response.status_code == status, (path, response.get_json())
        checks.extend(response_errors(spec, path, method, response))

    body = {"kind": "consultation", "title": "咨询", "content": "内容", "name": "李四", "phone": "13900000000"}
    receipt = client.post("/api/v1/cases", json=body)
    check("/api/v1/cases", "post", receipt, 201)
    check("/api/v1/cases", "post", client.post("/api/v1/cases", json={"kind": "consultation"}), 400)
    number, code = receipt.get_json()["number"], receipt.get_json()["query_code"]
    citizen = {"X-Query-Code": code}
    act = "/api/v1/staff/cases/{number}/{action}"
    for who, action, payload, status in (
        ("handler", "accept", {}, 404),
        ("dispatcher", "dispatch", {"department": "housing"}, 200),
        ("handler", "review", {"decision": "approve"}, 403),
        ("handler", "reply", {"text": "答复"}, 409),
        ("handler", "accept", {}, 200),
        ("handler", "reply", {}, 400),
        ("handler", "reply", {"text": "答复"}, 200),
        ("reviewer", "review", {"decision": "approve", "publish": True}, 200),
    ):
        response = client.post(f"/api/v1/staff/cases/{number}/{action}", json=payload, headers=staff[who])
        check(act, "post", response, status)
    check(act, "post", client.post(f"/api/v1/staff/cases/{number}/accept"), 401)
    check("/api/v1/staff/cases", "get", client.get("/api/v1/staff/cases", headers=staff["handler"]), 200)
    check("/api/v1/staff/cases/{number}", "get",
          client.get(f"/api/v1/staff/cases/{number}", headers=staff["handler"]), 200)
    check("/api/v1/cases/{number}", "get", client.get(f"/api/v1/cases/{number}", headers=citizen), 200)
    check("/api/v1/cases/{number}/rating", "post",
          client.post(f"/api/v1/cases/{number}/rating", json={"rating": "satisfied"}, headers=citizen), 201)
    check("/api/v1/cases/{number}/rating", "post",
          client.post(f"/api/v1/cases/{number}/rating", json={"rating": "satisfied"}, headers=citizen), 409)
    check("/api/v1/cases/{number}", "get", client.get(f"/api/v1/cases/{number}", headers=citizen), 200)
    check("/api/v1/cases/{number}", "get", client.get(f"/api/v1/cases/{number}"), 404)
    check("/api/v1/records", "get", client.get("/api/v1/records"), 200)
    check("/api/v1/records", "get", client.get("/api/v1/records?page=0"), 400)
    check("/api/v1/records/{number}", "get", client.get(f"/api/v1/records/{number}"), 200)
    for path in ("/api/v1/departments", "/api/v1/sites", "/api/v1/kinds"):
        check(path, "get", client.get(path), 200)
    assert checks == []


def test_schema_check_catches_an_undocumented_shape(client, world, response_errors):
    """The response check above can fail: a body missing a required property is reported."""
    spec = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/departments")
    response.set_data(b'[{"code": "housing"}]')
    assert response_errors(spec, "/api/v1/departments", "get", response)


# --- the bounds the gatekeeper and the parsers enforce, stated (defects schemathesis found) ------------------

def _request_schema_validator(spec: dict, name: str):
    """A validator of one request-body schema of the document, its references resolved in the document."""
    return OAS31Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def test_document_refuses_the_strings_and_keys_the_gatekeeper_refuses(client):
    """A control character in a body string, a body key or an ignored property's value is invalid in the
    document too (the gatekeeper answers 400), and the 400 answer says so for lone surrogates."""
    spec = client.get("/api/v1/openapi.json").get_json()
    validator = _request_schema_validator(spec, "MaskBody")
    assert validator.is_valid({"field": "title", "text": "身份证\t号"})
    assert not validator.is_valid({"field": "title", "text": "a\x00b"})
    assert not validator.is_valid({"field": "title", "text": "x", "a\x1fb": 1})
    assert not validator.is_valid({"field": "title", "text": "x", "extra": {"k": ["\x07"]}})
    assert not validator.is_valid({"field": "title", "text": "x", "extra": 2 ** 63})
    assert "surrogates" in spec["components"]["responses"]["BadRequest"]["description"]


def test_every_operation_documents_the_gatekeepers_400(client):
    """Any route answers 400 to a control character in a header, so every operation lists 400."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert client.get("/api/v1/kinds", headers={"X-Note": "a\x01"}).status_code == 400
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "400" in op["responses"], (method, path)


def test_documented_bounds_match_what_the_api_accepts(client, world):
    """Record page numbers stop at MAX_NUMBERED_PAGE (then the cursor), a mask id at a 32-bit id, a
    month at what the service reads."""
    spec = client.get("/api/v1/openapi.json").get_json()
    query = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/records"]["get"]["parameters"]}
    assert (query["page"]["minimum"], query["page"]["maximum"]) == (1, 50)
    assert client.get("/api/v1/records?page=50").status_code == 200
    assert client.get("/api/v1/records?page=51").status_code == 400
    assert re.fullmatch(query["cursor"]["pattern"], "1733212345000000-42")
    month = re.compile(query["month"]["pattern"])
    for value in ("2026-13", "2026-00", "0001-01", "9999-12"):
        assert not month.match(value)
        assert client.get(f"/api/v1/records?month={value}").status_code == 400
    assert month.match("2026-11") and client.get("/api/v1/records?month=2026-11").status_code == 200
    mask_id = spec["paths"]["/api/v1/staff/cases/{number}/masks/{mask_id}/lift"]["post"]["parameters"][1]["schema"]
    assert (mask_id["minimum"], mask_id["maximum"]) == (1, 2 ** 31 - 1)


def test_submission_states_what_each_kind_requires(client):
    """A mailbox letter needs its leader's office, a correction its site, page and error type, and the
    phone its shape: the document requires what the service refuses without."""
    spec = client.get("/api/v1/openapi.json").get_json()
    validator = _request_schema_validator(spec, "CaseSubmission")
    base = {"title": "标题", "content": "内容", "name": "张三", "phone": "13812345678"}
    assert validator.is_valid({**base, "kind": "consultation"})
    assert not validator.is_valid({**base, "kind": "mailbox"})
    assert validator.is_valid({**base, "kind": "mailbox", "department": "office"})
    assert not validator.is_valid({**base, "kind": "correction", "site": 1})
    assert not validator.is_valid({**base, "kind": "consultation", "phone": "启用两步验证"})
