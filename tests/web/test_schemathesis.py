"""Schemathesis over the app's own OpenAPI document, in-process (WSGI), for the public and the staff API.

Every generated request, valid or not, must get an answer the document describes: no 5xx, a documented
status code, content type, headers and body, and invalid data refused (400/404) while valid data is not.
Examples are few, derandomized and kept out of any example database, so a run is quick and repeatable.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection, positive_data_acceptance]
BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


# The operations by surface, as "METHOD path" (the document lists them; test_openapi.py keeps it complete).
PUBLIC = ["POST /api/v1/cases", "GET /api/v1/cases/{number}", "POST /api/v1/cases/{number}/rating",
          "GET /api/v1/records", "GET /api/v1/records/{number}", "GET /api/v1/departments", "GET /api/v1/sites",
          "GET /api/v1/kinds", "GET /api/v1/openapi.json"]
STAFF = ["GET /api/v1/staff/cases", "GET /api/v1/staff/cases/{number}", "POST /api/v1/staff/cases/{number}/{action}",
         "POST /api/v1/staff/cases/{number}/masks", "POST /api/v1/staff/cases/{number}/masks/{mask_id}/lift"]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Operations that read no parameter and no body: nothing in them can be made invalid.
NO_INPUT = {"GET /api/v1/departments", "GET /api/v1/sites", "GET /api/v1/kinds", "GET /api/v1/openapi.json"}


# A submission names rows the document cannot list (a department code, a site id) and is checked for a real
# phone number and e-mail address, so a body of the right shape may still be refused with 400, naming the field.
# Every other operation must take every schema-valid request without a 400.
# Likewise a manual mask must quote text that occurs in the chosen field, and an action must suit the
# case's status: the document cannot say which strings occur in which case.
CONFIG = schemathesis.Config.from_dict({"operations": [
    {"include-name": "POST /api/v1/cases",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "409", "429"]}}},
    {"include-name": "POST /api/v1/staff/cases/{number}/masks",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409"]}}},
]})


@pytest.fixture
def api_schema(app):
    """The document the app serves, loaded by schemathesis; requests go to the app in-process."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)


def run(api_schema, label: str, mode: GenerationMode, client, headers: dict[str, str] | None = None,
        numbers: list[str] | None = None) -> None:
    """Send generated requests of one operation through the test client and run every check on each answer.

    With `numbers`, a generated case number is often replaced by a real one, so that requests reach
    the handlers behind the 404 of an unknown case.
    """
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    real = st.sampled_from(numbers) if numbers else st.nothing()

    @given(case=operation.as_strategy(generation_mode=mode), number=st.none() | real)
    @BOUNDED
    def check(case, number):
        if number is not None and "number" in (case.path_parameters or {}):
            case.path_parameters["number"] = number
        case.call_and_validate(session=client, headers=headers, checks=CHECKS)

    check()


@pytest.mark.parametrize(("label", "mode"), [(label, mode) for label in PUBLIC for mode in MODES
                                             if mode is GenerationMode.POSITIVE or label not in NO_INPUT])
def test_public_api_conforms_to_its_document(api_schema, world, client, label, mode):
    """Generated public requests get documented answers, never a server error."""
    run(api_schema, label, mode, client)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", STAFF)
def test_staff_api_conforms_to_its_document(api_schema, world, create_case, create_user, create_token, client,
                                            label, mode):
    """Generated staff requests get documented answers, never a server error: sent by one housing user who
    dispatches, handles and reviews (those roles combine), on real cases in every state as well as unknown ones."""
    clerk = create_user("dispatcher", "handler", "reviewer", department=world.housing)
    numbers = [create_case(status)[0].number for status in ("submitted", "assigned", "handling", "pending_review",
                                                             "replied")]
    if mode is GenerationMode.NEGATIVE:
        # The invalid part may be the credentials or the case number themselves: send them as generated.
        run(api_schema, label, mode, client)
    else:
        run(api_schema, label, mode, client, {"Authorization": "Bearer " + create_token(clerk)}, numbers)


def test_every_documented_operation_is_fuzzed(client):
    """The lists above name exactly the document's operations, so a new route is fuzzed too."""
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert documented == set(PUBLIC) | set(STAFF)
