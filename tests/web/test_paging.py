"""Page numbers and other positive integers from a query string: one bounded parser for pages and API."""
from __future__ import annotations

import pytest

from interact.domain.errors import ValidationFailed
from interact.web.paging import MAX_PAGE, api_page_args, page_arg, positive_int


@pytest.mark.parametrize(("query", "expected"), [
    ("", 1), ("?page=3", 3), ("?page=0", 1), ("?page=-4", 1), ("?page=abc", 1), ("?page=%00", 1),
    ("?page=2.5", 1), ("?page=%EF%BC%93", 1),  # a full-width digit is not a page number
    (f"?page={MAX_PAGE}", MAX_PAGE), ("?page=99999999999999999999999", MAX_PAGE),
])
def test_a_page_reads_any_page_argument_as_a_page_it_can_show(app, query, expected):
    with app.test_request_context("/records" + query):
        assert page_arg() == expected


def test_a_page_reads_a_named_page_argument(app):
    with app.test_request_context("/staff/?dispatch_page=7&page=2"):
        assert page_arg("dispatch_page") == 7


@pytest.mark.parametrize("query", ["?page=0", "?page=abc", "?page=99999999999999999999", "?per_page=101",
                                   "?per_page=0"])
def test_the_api_refuses_a_bad_page_argument_naming_it(app, query):
    with app.test_request_context("/api/v1/records" + query), pytest.raises(ValidationFailed) as refused:
        api_page_args(20)
    assert set(refused.value.fields) <= {"page", "per_page"} and refused.value.fields


def test_the_api_takes_good_page_arguments_and_defaults(app):
    with app.test_request_context("/api/v1/records?page=2&per_page=50"):
        assert api_page_args(20) == (2, 50)
    with app.test_request_context("/api/v1/records"):
        assert api_page_args(20) == (1, 20)


def test_an_optional_id_argument_is_none_when_absent_or_nonsense(app):
    with app.test_request_context("/staff/audit?before=12&after=x"):
        assert positive_int("before", None) == 12
        assert positive_int("after", None) is None
