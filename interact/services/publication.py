"""What the public may see of a case (Art. 17): reviewed, masked copies only."""
from __future__ import annotations

from ..domain.db import db
from ..domain.models import Case
from ..domain.privacy import MASKS, is_mobile, mask_name
from . import masks


def _own_details(text: str, case: Case) -> str:
    """Hide the citizen's own phone, e-mail and name wherever they still appear verbatim."""
    # A safety net under the stored masks: the reviewer may lift a mask, never these.
    if not text:
        return text
    phone_mask = MASKS["mobile"] if case.phone and is_mobile(case.phone) else MASKS["landline"]
    for literal, label in ((case.phone, phone_mask), (case.email, MASKS["email"])):
        if literal and len(literal) >= 5:
            text = text.replace(literal, label)
    if case.name and len(case.name) >= 2:
        text = text.replace(case.name, mask_name(case.name))
    return text


def public_copy(case: Case, rows=None) -> dict[str, str]:
    """The masked name, title, content and reply the public would see, from the stored masks."""
    rows = masks.case_masks(case) if rows is None else rows
    texts = masks.field_texts(case)
    copy = {field: _own_details(masks.masked_text(case, field, texts[field], rows), case)
            for field in masks.FIELDS}
    copy["name"] = mask_name(case.name)
    return copy


def prepare_public_copy(case: Case) -> None:
    """Store the masked copy the public pages and API show; they never read the raw fields."""
    # The case is mid-approval (published, not yet replied): reading the masks must not flush it.
    with db.session.no_autoflush:
        copy = public_copy(case, masks.masks_for_publication(case))
    case.public_name = copy["name"]
    case.public_title = copy["title"]
    case.public_content = copy["content"]
    case.public_reply = copy["reply"]


def clear_public_copy(case: Case) -> None:
    """Withdraw a case from publication."""
    case.published = False
    case.public_name = case.public_title = case.public_content = case.public_reply = None
