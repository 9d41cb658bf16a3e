"""What the public may see of a case (Art. 17): reviewed, masked copies only."""
from __future__ import annotations

import re

from .models import Case

# The masks are stored in the published copy, so they are data, not interface text.
PHONE_MASK = "[手机号]"  # i18n: data
EMAIL_MASK = "[电子邮箱]"  # i18n: data
ID_MASK = "[身份证号]"  # i18n: data

# Until the full personal-data detector lands, mask what plainly identifies the citizen:
# mobile numbers, e-mail addresses and 18-digit ID numbers.
_PATTERNS = [
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"), PHONE_MASK),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), EMAIL_MASK),
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"), ID_MASK),
]


def mask_name(name: str) -> str:
    """Keep the family name only: 张三 → 张*, 欧阳修 → 欧**."""
    name = (name or "").strip()
    if not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)


def scrub(text: str, case: Case) -> str:
    """Mask the citizen's own contact details and obvious personal numbers in `text`."""
    if not text:
        return text
    for literal, label in ((case.phone, PHONE_MASK), (case.email, EMAIL_MASK)):
        if literal and len(literal) >= 5:
            text = text.replace(literal, label)
    for pattern, label in _PATTERNS:
        text = pattern.sub(label, text)
    if case.name and len(case.name) >= 2:
        text = text.replace(case.name, mask_name(case.name))
    return text


def prepare_public_copy(case: Case) -> None:
    """Store the masked copy the public pages and API show; they never read the raw fields."""
    case.public_name = mask_name(case.name)
    case.public_title = scrub(case.title, case)
    case.public_content = scrub(case.content, case)
    case.public_reply = scrub(case.reply_text or "", case)


def clear_public_copy(case: Case) -> None:
    """Withdraw a case from publication."""
    case.published = False
    case.public_name = case.public_title = case.public_content = case.public_reply = None
