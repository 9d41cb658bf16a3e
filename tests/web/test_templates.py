"""The one macro library (templates/_macros.html): every page imports it and no other macro file,
renders the CSRF token through it, and a rejected field shows its error beside it, marked for
assistive technology; the deadline light reads the same on both surfaces."""
from __future__ import annotations

import re
from pathlib import Path

from interact.web.pages import LIGHT_LABELS

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LIBRARY = "_macros.html"
# Mail templates are documents rendered without a request and keep their own block (email/_staff.html).
PAGES = sorted(p for p in TEMPLATES.rglob("*.html") if p.relative_to(TEMPLATES).parts[0] != "email")
EXTENDS = re.compile(r"""\{%-?\s*extends\s+["']([^"']+)["']""")
IMPORTS = re.compile(r"""\{%-?\s*(?:import|from)\s+["']([^"']+)["']""")
WRAPPER = re.compile(r'<(?:div|fieldset) class="field[" ]')


def source(path: Path) -> str:
    """A template's text."""
    return path.read_text(encoding="utf-8")


def block_of(html: str, element_id: str) -> str:
    """The markup of the field wrapper `element_id`, up to the next field wrapper or the form's end."""
    rest = html[html.index(f'id="{element_id}"'):]
    following = WRAPPER.search(rest)
    return rest[:following.start() if following else rest.index("</form>")]


def test_every_page_imports_only_the_one_macro_library():
    layouts = [p for p in PAGES if EXTENDS.search(source(p))]
    assert len(layouts) > 30 and (TEMPLATES / LIBRARY).is_file()
    for path in PAGES:
        imported = set(IMPORTS.findall(source(path)))
        assert imported <= {LIBRARY}, (str(path.relative_to(TEMPLATES)), imported)
        if "ui." in source(path):
            assert imported == {LIBRARY}, str(path.relative_to(TEMPLATES))
    assert not list(TEMPLATES.glob("*/_macros.html"))  # the two old per-surface libraries are gone


def test_the_csrf_token_is_rendered_one_way_only():
    for path in PAGES:
        if path.name != LIBRARY:
            assert "csrf_token" not in source(path), str(path.relative_to(TEMPLATES))
    assert source(TEMPLATES / LIBRARY).count("csrf_token()") == 1


def test_a_rejected_citizen_field_shows_its_error_beside_it_with_aria_invalid(client, world, post_form):
    response = post_form(client, "/cases/new/consultation", {
        "title": "", "content": "请问外地户籍能否申请公租房？", "name": "张三", "phone": "13812345678"})
    assert response.status_code == 400
    field = block_of(response.get_data(as_text=True), "field-title")
    error = re.search(r'<p class="field-error" id="title-error">([^<]+)</p>', field)
    assert error and error.group(1).strip()
    control = re.search(r"<input[^>]*\bid=\"title\"[^>]*>", field).group(0)
    assert 'aria-invalid="true"' in control
    described = re.search(r'aria-describedby="([^"]+)"', control).group(1).split()
    assert "title-error" in described and "title-hint" in described
    # A field that was fine is not marked.
    name = re.search(r"<input[^>]*\bid=\"name\"[^>]*>", response.get_data(as_text=True)).group(0)
    assert "aria-invalid" not in name


def test_a_rejected_staff_field_shows_its_error_beside_it_with_aria_invalid(client, world, login, post_form):
    login(client, "admin")
    response = post_form(client, "/staff/admin/departments", {"code": "housing", "name": "又一个住建局"})
    assert response.status_code == 400
    field = block_of(response.get_data(as_text=True), "field-code")
    assert re.search(r'<p class="field-error" id="code-error">[^<]*housing[^<]*</p>', field)
    control = re.search(r"<input[^>]*\bid=\"code\"[^>]*>", field).group(0)
    assert 'aria-invalid="true"' in control and 'aria-describedby="code-error"' in control
    assert 'class="required-mark"' in field  # the code is required, and the label says so


def test_the_deadline_light_reads_the_same_on_both_surfaces(client, world, create_case, login, post_form):
    case, code = create_case("handling")
    citizen = post_form(client, "/cases/query", {"number": case.number, "code": code}).get_data(as_text=True)
    login(client, "handler")
    staff = client.get(f"/staff/cases/{case.number}").get_data(as_text=True)
    for html in (citizen, staff):
        light = re.search(r'<span class="light light-(\w+)">.*?</span>([^<]+)</span>', html)
        assert light and light.group(2) == str(LIGHT_LABELS[light.group(1)])
    assert re.search(r'class="light light-(\w+)"', citizen).group(1) == re.search(
        r'class="light light-(\w+)"', staff).group(1)
