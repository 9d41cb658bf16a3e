"""Content rules (Art. 17): flag links outside the government domains and sensitive words.

Citizen text (title and content) is checked when a case is submitted, and a reply or decline
draft when it is written. What is found becomes a `CaseFlag` that the reviewer sees on the
case page and in the staff API. Flags only inform: nothing is deleted, masked or changed.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, select

from ..domain.db import db
from ..domain.models import Case, CaseFlag
from ..domain.states import FlagKind, TextField
from . import settings

EXTERNAL_LINK = FlagKind.external_link
SENSITIVE_WORD = FlagKind.sensitive_word

# A link with a scheme, or one starting with "www.". The host part is ASCII up to the first
# character a browser ends it with; a backslash counts, since browsers read it as a slash.
LINK_RE = re.compile(
    # Case-insensitive only here: with a global (?i) the non-ASCII range below would also
    # exclude "i", "k" and "s" (which fold to/from U+0130, U+212A and U+017F).
    r"(?:(?i:https?|ftp)://|(?<![A-Za-z0-9.-])(?i:www)\.)"
    r"(?P<netloc>[A-Za-z0-9._~%$&*+=:@\[\]-]*)[^\s<>\"'\\\u0080-\U0010ffff]*"
)
_PORT_RE = re.compile(r":\d*$")
MAX_MATCH = 512


def _normal(text: str) -> str:
    """Text as compared: NFKC (full-width to ASCII) and case-folded."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def _squeezed(text: str) -> str:
    """Text without spaces or invisible characters, so "敏 感 词" still matches "敏感词"."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def host_of(link: str, netloc: str) -> str:
    """The host a browser would contact for `link` (netloc after any user info, without port)."""
    if link.lower().startswith("www."):
        netloc = "www." + netloc
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):  # an IPv6 literal is never a government domain name
        return host
    return _PORT_RE.sub("", host).rstrip(".").lower()


def is_government(host: str, domains: list[str]) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


def external_links(text: str, domains: list[str]) -> list[str]:
    """The links in `text` that point outside `domains`, in order, without repeats."""
    found: list[str] = []
    for match in LINK_RE.finditer(unicodedata.normalize("NFKC", text or "")):
        link = match.group(0).rstrip(".,;:!?)]")
        host = host_of(link, match.group("netloc"))
        if (not host or not is_government(host, domains)) and link not in found:
            found.append(link)
    return found


def sensitive_words_in(text: str, words: list[str]) -> list[str]:
    """The words of `words` that occur in `text` (ignoring width, case and spacing)."""
    plain = _normal(text)
    squeezed = _squeezed(plain)
    return [w for w in words if (needle := _normal(w)) and (needle in plain or _squeezed(needle) in squeezed)]


def findings(fields: dict[str, str]) -> list[tuple[str, str, str]]:
    """(kind, field, match) for every rule the given texts break, under the current settings."""
    domains, words = settings.gov_domains(), settings.sensitive_words()
    out = []
    for name, text in fields.items():
        out += [(EXTERNAL_LINK, name, link[:MAX_MATCH]) for link in external_links(text, domains)]
        out += [(SENSITIVE_WORD, name, word[:MAX_MATCH]) for word in sensitive_words_in(text, words)]
    return out


def _replace(case: Case, fields: dict[str, str]) -> list[CaseFlag]:
    """Store the flags of `fields`, replacing the flags of the earlier text of those fields."""
    db.session.flush()  # the case needs its id
    db.session.execute(delete(CaseFlag).where(CaseFlag.case_id == case.id, CaseFlag.field.in_(list(fields))))
    flags = [CaseFlag(case_id=case.id, kind=kind, field=name, match=match)
             for kind, name, match in findings(fields)]
    db.session.add_all(flags)
    db.session.flush()
    return flags


def flag_case(case: Case) -> list[CaseFlag]:
    """Flag a submitted case's title and content."""
    return _replace(case, {TextField.title: case.title or "", TextField.content: case.content or ""})


def flag_draft(case: Case) -> list[CaseFlag]:
    """Flag the draft a handler just wrote (a reply, or a decline's explanation)."""
    return _replace(case, {TextField.reply: case.draft_text or ""})


def flags_for(case: Case) -> list[CaseFlag]:
    """The flags of a case, oldest first."""
    return list(db.session.scalars(select(CaseFlag).where(CaseFlag.case_id == case.id).order_by(CaseFlag.id)))
