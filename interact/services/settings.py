"""Administrator settings kept in the `settings` table: the CAPTCHA switch, the government
domains links may point to, the sensitive words that flag a case, and the platform's own
published contacts, which the personal-data detector leaves unmasked (Art. 17).

Each setting has a default, is validated before it is stored as JSON, and every change is
audited ("settings.change") in the same transaction as the change itself.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain import privacy
from ..domain.errors import Forbidden, ValidationFailed
from ..domain.db import db
from ..domain.models import Role, Setting, User
from ..domain.timeutil import utcnow
from . import audit

CAPTCHA = "captcha_enabled"
GOV_DOMAINS = "gov_domains"
SENSITIVE_WORDS = "sensitive_words"
PLATFORM_CONTACTS = "platform_contacts"

MAX_DOMAINS = 500
MAX_WORDS = 2000
MAX_WORD_LENGTH = 50
MAX_CONTACTS = 50
# A host name: dot-separated labels of letters, digits and inner hyphens (after IDNA encoding).
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class Spec:
    """One setting: its label and default."""

    label: object
    default: object


SPECS: dict[str, Spec] = {
    CAPTCHA: Spec(_l("公众表单图片验证码"), False),
    # Every *.gov.cn site is a government site; the admin adds others the city links to.
    GOV_DOMAINS: Spec(_l("政府网站域名"), ["gov.cn"]),
    SENSITIVE_WORDS: Spec(_l("敏感词"), []),
    # e.g. the 12345 hotline's landline and the platform's mailbox, quoted in many replies.
    PLATFORM_CONTACTS: Spec(_l("平台公开联系方式"), []),
}


def get(key: str):
    """The stored value of setting `key`, or its default."""
    spec = SPECS[key]
    row = db.session.get(Setting, key)
    if row is None:
        return spec.default
    try:
        return json.loads(row.value)
    except ValueError:
        return spec.default


def captcha_enabled() -> bool:
    """Whether the public case forms require the image CAPTCHA."""
    return bool(get(CAPTCHA))


def gov_domains() -> list[str]:
    """The government domains (a link to one of them or a subdomain is not flagged)."""
    return list(get(GOV_DOMAINS))


def sensitive_words() -> list[str]:
    """The words that flag a case or a reply for the reviewer."""
    return list(get(SENSITIVE_WORDS))


def platform_contacts() -> list[str]:
    """The platform's published phone numbers and e-mail addresses (never masked)."""
    return list(get(PLATFORM_CONTACTS))


def split_lines(text: str) -> list[str]:
    """One entry per line (commas and the Chinese enumeration comma also separate), blanks dropped."""
    return [part.strip() for part in re.split(r"[\r\n,，、;；]+", text or "") if part.strip()]


def clean_domains(values: list[str]) -> list[str]:
    """Normalise and check government domains; raise ValidationFailed naming the bad ones."""
    cleaned, bad = [], []
    for raw in values:
        value = unicodedata.normalize("NFKC", raw).strip().lower().rstrip(".")
        value = re.sub(r"^(?:https?://)?(?:\*\.)?", "", value).split("/", 1)[0]
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            bad.append(raw)
            continue
        if not DOMAIN_RE.match(value):
            bad.append(raw)
        elif value not in cleaned:
            cleaned.append(value)
    if bad:
        msg = _("以下域名格式不正确：%(items)s", items="、".join(bad[:10]))
        raise ValidationFailed(msg, {GOV_DOMAINS: msg})
    if len(cleaned) > MAX_DOMAINS:
        msg = _("域名不能超过%(n)d个。", n=MAX_DOMAINS)
        raise ValidationFailed(msg, {GOV_DOMAINS: msg})
    return cleaned


def clean_words(values: list[str]) -> list[str]:
    """Normalise and check sensitive words; raise ValidationFailed when one is too long."""
    cleaned = []
    for raw in values:
        value = unicodedata.normalize("NFKC", raw).strip()
        if len(value) > MAX_WORD_LENGTH:
            msg = _("敏感词不能超过%(n)d字：%(word)s", n=MAX_WORD_LENGTH, word=value[:20])
            raise ValidationFailed(msg, {SENSITIVE_WORDS: msg})
        if value and value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_WORDS:
        msg = _("敏感词不能超过%(n)d个。", n=MAX_WORDS)
        raise ValidationFailed(msg, {SENSITIVE_WORDS: msg})
    return cleaned


def clean_contacts(values: list[str], field: str = PLATFORM_CONTACTS) -> list[str]:
    """Check published contacts (phone numbers, e-mail addresses); raise naming the bad ones under `field`."""
    cleaned, bad = [], []
    for raw in values:
        value = unicodedata.normalize("NFKC", raw).strip()
        if privacy.contact_key(value) is None:
            bad.append(raw)
        elif value not in cleaned:
            cleaned.append(value)
    if bad:
        msg = _("以下不是电话号码或电子邮箱：%(items)s", items="、".join(bad[:10]))
        raise ValidationFailed(msg, {field: msg})
    if len(cleaned) > MAX_CONTACTS:
        msg = _("公开联系方式不能超过%(n)d个。", n=MAX_CONTACTS)
        raise ValidationFailed(msg, {field: msg})
    return cleaned


CLEANERS = {CAPTCHA: bool, GOV_DOMAINS: clean_domains, SENSITIVE_WORDS: clean_words,
            PLATFORM_CONTACTS: clean_contacts}


def _details(key: str, old, new) -> dict:
    """What changed, for the audit trail: the switch's old and new state, or the list's edits."""
    if isinstance(new, list):
        return {"setting": key, "old_count": len(old), "new_count": len(new),
                "added": [v for v in new if v not in old], "removed": [v for v in old if v not in new]}
    return {"setting": key, "old": old, "new": new}


def update(actor: User, **values) -> list[str]:
    """Validate and store the given settings; audit each one that changed; return their keys."""
    if not actor.has_role(Role.admin):
        raise Forbidden(_("只有系统管理员可以修改安全设置。"))
    cleaned = {}
    errors: dict[str, str] = {}
    for key, value in values.items():
        if key not in SPECS:
            raise ValidationFailed(_("未知的设置项。"), {key: _("未知的设置项。")})
        try:
            cleaned[key] = CLEANERS[key](value)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_("设置有误，请检查后重新保存。"), errors)
    changed = []
    now = utcnow()
    for key, value in cleaned.items():
        old = get(key)
        if old == value:
            continue
        row = db.session.get(Setting, key) or Setting(key=key)
        row.value = json.dumps(value, ensure_ascii=False)
        row.updated_at, row.updated_by_id = now, actor.id
        db.session.add(row)
        audit.record("settings.change", user=actor, object_type="setting", object_id=key,
                     details=_details(key, old, value))
        changed.append(key)
    db.session.flush()
    return changed
