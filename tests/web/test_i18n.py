"""Every user-facing string goes through Flask-Babel: no Chinese text outside a gettext call."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
GETTEXT_NAMES = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "pgettext"}
# Jinja: drop {# comments #}, then every _("…") / _('…') / gettext(…) call's string argument.
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
JINJA_GETTEXT = re.compile(r"""\b(?:_|gettext|ngettext)\(\s*(?:"[^"]*"|'[^']*')""")
JINJA_TRANS = re.compile(r"\{%\s*trans\b.*?\{%\s*endtrans\s*%\}", re.S)
# Python literals that are data rather than interface text carry this marker on their line.
DATA_MARKER = "i18n: data"


def python_strings_outside_gettext(path: Path) -> list[str]:
    """Chinese string literals in a module that are not gettext arguments or docstrings."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.NL, tokenize.COMMENT)]
    bad = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.STRING or not CJK.search(tok.string):
            continue
        prev = tokens[i - 1] if i else None
        prev2 = tokens[i - 2] if i > 1 else None
        # A docstring or bare string statement stands alone on its logical line.
        if prev is None or prev.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if prev.string == "(" and prev2 is not None and prev2.string in GETTEXT_NAMES:
            continue
        if DATA_MARKER in lines[tok.start[0] - 1]:
            continue
        bad.append(f"{path.relative_to(ROOT)}:{tok.start[0]}: {tok.string[:40]}")
    return bad


def template_text_outside_gettext(path: Path) -> list[str]:
    """Chinese text in a template that is not inside a gettext call or trans block."""
    text = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
    text = JINJA_TRANS.sub("", text)
    text = JINJA_GETTEXT.sub("", text)
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:60]}"
            for n, line in enumerate(text.splitlines(), 1) if CJK.search(line)]


@pytest.mark.parametrize("path", sorted((ROOT / "interact").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_strings_go_through_babel(path):
    assert python_strings_outside_gettext(path) == []


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.*")), ids=lambda p: str(p.relative_to(ROOT)))
def test_template_strings_go_through_babel(path):
    assert template_text_outside_gettext(path) == []


def test_the_checker_catches_a_bare_string(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from flask_babel import gettext as _\nA = _("好")\nB = "坏"\n', encoding="utf-8")
    (tmp_path / "t.html").write_text('<p>{{ _("好") }}</p>\n<p>坏</p>\n', encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert [line.split(": ")[0] for line in python_strings_outside_gettext(module)] == ["m.py:3"]
        assert [line.split(": ")[0] for line in template_text_outside_gettext(tmp_path / "t.html")] == ["t.html:2"]
    finally:
        ROOT = saved
