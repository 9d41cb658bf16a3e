"""Finding and masking personal data in free text (Art. 17): nothing personal is published.

The detector recognises, after normalising full-width characters (NFKC, one character at a
time so that every offset still points into the original string):

* ``id_number``: mainland resident ID numbers, 18 characters (GB 11643: valid province code,
  a real birth date from 1900 up to today, ISO 7064 MOD 11-2 check character, ``X`` or ``x``),
  also grouped 6-8-4 with spaces, and the 15-digit legacy form (birth date 19YYMMDD);
* ``id_number_unverified``: the same shape (province, real birth date, sequence) with a wrong
  check character. A mistyped ID is still the citizen's ID, so it is masked all the same; the
  label tells the reviewer that no check confirmed it;
* ``mobile``: 1[3-9] and nine more digits, optionally after +86 / 86 / (+86), optionally grouped
  3-4-4 with spaces or hyphens;
* ``landline``: an area code (010, 02x or 0xxx; or without the 0 after +86) and a 7–8 digit
  local number (not starting with 0), with an optional extension;
* ``email``: e-mail addresses;
* ``bank_card``: 13–19 digits (optionally grouped in fours by spaces or hyphens) with a card
  issuer's leading digits (3, 4, 5, 6, 9, or 2221–2720) that pass the Luhn check;
* ``bank_card_unverified``: 16–19 digits with a typical issuer prefix (UnionPay 62, 60, 65,
  Visa 4, Mastercard 51–55 / 2221–2720, JCB 35, domestic 95) that fail Luhn: masked, flagged;
* ``qq``: 5–11 digits after QQ / qq / 扣扣 (号, 号码, 是, 为 and a colon may come between);
* ``wechat``: a WeChat ID (6–20 letters, digits, ``_`` or ``-``, starting with a letter) after
  微信 / 微信号 or, followed by a separator, wx / vx / wechat / weixin;
* ``plate``: a licence plate, province character + letter + 5 characters (6 for new-energy
  vehicles) holding at least three digits, with or without 车牌 / 车牌号 before it;
* ``passport``: after 护照 / 护照号 / 护照号码, one or two letters and 7–8 digits (E12345678,
  EA1234567) or 8–9 digits;
* ``address``: a street-number / building / unit / room sequence (``100号3栋2单元501室``,
  ``5号楼1单元302``, ``7栋1203室``) that reaches a building or house number AND a unit or room.
  Only the numbered part is masked: the district, road or estate name before it stays.

A number is always judged as a whole: it is never taken out of a longer run of digits, so order
numbers, timestamps, case numbers (2026112700042), amounts and dates are left alone, and so is
anything that is not even shaped like personal data (an impossible birth date or province, a
card-length number without an issuer prefix, an 11-digit number not starting with 1[3-9]). A
number that has the shape but fails its checksum is masked anyway, as ``…_unverified``: for
publication, a missed ID costs more than a masked order number, and the reviewer can lift it.
The keyword-anchored kinds (QQ, WeChat, passport) mask only the value, not the keyword.

Mask format: each match is replaced, as a whole, by a fixed bracketed label naming what was
there — ``[身份证号]``, ``[手机号]``, ``[固定电话]``, ``[电子邮箱]``, ``[银行卡号]``, ``[QQ号]``,
``[微信号]``, ``[车牌号]``, ``[护照号]``, ``[详细地址]`` and, for a stretch a reviewer masked by hand,
``[个人信息]``; an unverified finding gets the same mask as a verified one. None of a match's
characters survive, and the text around it is left byte for byte as it was.

`KINDS` is the one registry of labels: each one's mask, the reason the reviewer reads, and
whether a check confirmed it. This module is pure: no request, no database (the reasons are
lazy strings, translated where they are shown). Stored masks are the job of
interact/services/masks.py.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    """One label: the mask written into the public copy, the reviewer's reason, whether a check confirmed it."""

    mask: str
    title: str
    confident: bool = True


# The masks are written into the published copy, so they are data, not interface text.
KINDS = {
    "id_number": Kind("[身份证号]", _l("身份证号")),  # i18n: data
    "id_number_unverified": Kind("[身份证号]", _l("疑似身份证号（校验位不符，仍按身份证号遮盖）"), False),  # i18n: data
    "mobile": Kind("[手机号]", _l("手机号")),  # i18n: data
    "landline": Kind("[固定电话]", _l("固定电话")),  # i18n: data
    "email": Kind("[电子邮箱]", _l("电子邮箱")),  # i18n: data
    "bank_card": Kind("[银行卡号]", _l("银行卡号")),  # i18n: data
    "bank_card_unverified": Kind("[银行卡号]", _l("疑似银行卡号（未通过卡号校验，仍按银行卡号遮盖）"), False),  # i18n: data
    "qq": Kind("[QQ号]", _l("QQ号")),  # i18n: data
    "wechat": Kind("[微信号]", _l("微信号")),  # i18n: data
    "plate": Kind("[车牌号]", _l("车牌号")),  # i18n: data
    "passport": Kind("[护照号]", _l("护照号")),  # i18n: data
    "address": Kind("[详细地址]", _l("详细地址")),  # i18n: data
    "manual": Kind("[个人信息]", _l("人工遮盖")),  # i18n: data
}
MASKS = {label: kind.mask for label, kind in KINDS.items()}
LABELS = tuple(KINDS)
# Labels no checksum confirmed: masked all the same, and pointed out to the reviewer.
UNVERIFIED = frozenset(label for label, kind in KINDS.items() if not kind.confident)

# GB/T 2260 province-level codes: the first two digits of every resident ID number.
PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
})
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Match:
    """One piece of personal data: its span in the original text, its kind and the text itself."""

    start: int
    end: int
    label: str
    text: str

    @property
    def confident(self) -> bool:
        """Whether a check confirmed the finding (False: masked on its shape alone)."""
        return self.label not in UNVERIFIED


# --- normalisation ----------------------------------------------------------------------------

def normalise(text: str) -> str:
    """NFKC per character where it yields one character, so offsets match the original string."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _digits(text: str) -> str:
    """Only the ASCII digits of `text`."""
    return re.sub(r"[^0-9]", "", text)


# --- checks -----------------------------------------------------------------------------------

def id_check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def _real_date(year: int, month: int, day: int, today: date) -> bool:
    """Whether Y-M-D is a calendar date from 1900 up to `today`."""
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today


def id_shaped(value: str, today: date | None = None) -> bool:
    """Whether 18 characters (no spaces) have an ID's shape: province, real birth date, sequence, check place."""
    today = today or date.today()
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return False
    return int(value[:2]) in PROVINCES and _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]), today)


def valid_id_number(value: str, today: date | None = None) -> bool:
    """Whether `value` (18 or 15 characters, no spaces) is a plausible resident ID number."""
    today = today or date.today()
    value = value.upper()
    if len(value) == 18:
        return id_shaped(value, today) and id_check_char(value[:17]) == value[17]
    if len(value) == 15 and value.isdigit():
        return int(value[:2]) in PROVINCES and _real_date(
            1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]), today)
    return False


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def valid_bank_card(digits: str) -> bool:
    """Whether 13–19 digits look like a payment card: an issuer's leading digits and Luhn."""
    if not 13 <= len(digits) <= 19:
        return False
    # Without an issuer prefix, dates, timestamps and case numbers would pass Luhn one time in ten.
    issuer = digits[0] in "34569" or (len(digits) == 16 and 2221 <= int(digits[:4]) <= 2720)
    return issuer and luhn_ok(digits)


def card_shaped(digits: str) -> bool:
    """Whether 16–19 digits start like a card of an issuer common in China, whatever Luhn says."""
    if not 16 <= len(digits) <= 19:
        return False
    # Narrower than valid_bank_card's prefixes: without Luhn, the prefix is all that tells a card
    # from an order or transaction number.
    head = int(digits[:2])
    return (digits[0] == "4" or 51 <= head <= 55 or head in (35, 60, 62, 65, 95)
            or (len(digits) == 16 and 2221 <= int(digits[:4]) <= 2720))


def is_mobile(value: str) -> bool:
    """Whether `value` is, as a whole, a mobile number (with or without +86 and separators)."""
    norm = normalise(value.strip())
    return bool(_MOBILE.fullmatch(norm))


# --- published contacts (never masked) --------------------------------------------------------

# Labels whose text is a phone number; published contacts are compared by their digits.
PHONE_LABELS = frozenset({"mobile", "landline"})
# Longest extension after a published number that is still that number's switchboard.
MAX_EXTENSION_DIGITS = 6


def _phone_digits(text: str) -> str:
    """A phone number's digits without the +86 / 0086 country code."""
    digits = _digits(normalise(text))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (10, 11):
            return digits[len(prefix):]
    return digits


def contact_key(text: str) -> str | None:
    """The form a published contact (a department's phone or e-mail) is recognised by, or None.

    An e-mail address by its lower-case form, a phone number by its digits (without +86), so that
    "0571-8700 1234" in a reply is the listed "(0571)87001234". A landline is compared with its
    area code: the same local number in another city is somebody else's.
    """
    norm = normalise(text).strip()
    if "@" in norm:
        return norm.lower() if _EMAIL.fullmatch(norm) else None
    if not re.fullmatch(r"[0-9+() -]+", norm):
        return None
    digits = _phone_digits(norm)
    return digits if 3 <= len(digits) <= 12 else None


def is_published_contact(match: Match, keys: frozenset[str]) -> bool:
    """Whether a finding is one of the published contacts in `keys` (or its extension)."""
    if match.label == "email":
        return normalise(match.text).lower() in keys
    if match.label not in PHONE_LABELS:
        return False
    digits = _phone_digits(match.text)
    # "0571-87001234转8001" is the published switchboard with an extension.
    return digits in keys or any(
        len(key) >= 7 and digits.startswith(key) and len(digits) - len(key) <= MAX_EXTENSION_DIGITS
        for key in keys)


# --- patterns (on the normalised text) ---------------------------------------------------------

_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9])"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_ID18 = re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{6}( ?)[0-9]{8}\1[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_ID15 = re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{15}" + _NOT_DIGIT_AFTER)
_CARD = re.compile(
    _NOT_DIGIT_BEFORE
    + r"(?:[0-9]{13,19}|[0-9]{4}(?:([ -])[0-9]{4}){2,3}(?:\1[0-9]{1,4})?|[0-9]{6}([ -])[0-9]{10,13})"
    + _NOT_DIGIT_AFTER
)
_MOBILE_PREFIX = r"(?:(?:\(\+?86\)|\+?86)[ -]?)?"
_MOBILE = re.compile(_NOT_DIGIT_BEFORE + _MOBILE_PREFIX + r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}" + _NOT_DIGIT_AFTER)
_LOCAL = r"(?:[1-9][0-9]{6,7}|[1-9][0-9]{2,3}[ -][0-9]{4})"
_EXTENSION = r"(?:(?:-|转|分机|(?:ext|EXT|Ext)\.? ?)[0-9]{1,6})?"  # i18n: data
_LANDLINE = re.compile(
    r"(?:"
    + _NOT_DIGIT_BEFORE + r"0(?:10|2[0-9]|[3-9][0-9]{2})[ -]?"
    + r"|\(0(?:10|2[0-9]|[3-9][0-9]{2})\) ?"
    + r"|(?:\(\+?86\)|(?<![0-9])\+?86)[ -]?\(?0?(?:10|2[0-9]|[3-9][0-9]{2})\)?[ -]?"
    + r")" + _LOCAL + _EXTENSION + _NOT_DIGIT_AFTER
)

# Addresses: numbered parts after a road, estate or building name, e.g. 100号 3栋 2单元 501室.
_NUM = r"(?:[0-9]{1,5}|[A-Za-z]|[一二三四五六七八九十两〇零]{1,3})"  # i18n: data
_BUILDING_MARKS = ("号院", "号楼", "号", "栋", "幢", "座")  # i18n: data
_UNIT_OR_ROOM_MARKS = ("单元", "号房", "室", "户", "房")  # i18n: data
_OTHER_MARKS = ("弄", "层", "楼")  # i18n: data
# A bare number right after one of these is the room: 1单元302, 7栋1203, 12层1201.
_BARE_ROOM_AFTER = ("单元", "栋", "幢", "号楼", "座", "层", "楼")  # i18n: data
_MARKS = sorted(_BUILDING_MARKS + _UNIT_OR_ROOM_MARKS + _OTHER_MARKS, key=len, reverse=True)
_ADDRESS_PART = re.compile(
    r"(?:" + _NUM + r"|[0-9]{1,5}-[0-9]{1,5}(?=" + "|".join(_UNIT_OR_ROOM_MARKS) + r"))"
    r"(?P<mark>" + "|".join(_MARKS) + r")"
)
_BARE_ROOM = re.compile(r"[0-9]{2,5}(?![0-9])")

# After a keyword: only the value (group "v") is masked. The text is normalised, so a full-width
# colon is ":" here.
_KEYWORD_TAIL = r"(?:是|为)?[ :]*"  # i18n: data
_QQ = re.compile(r"(?<![A-Za-z])(?:[Qq]{2}|扣扣)(?:号码|号)?" + _KEYWORD_TAIL  # i18n: data
                 + r"(?P<v>[1-9][0-9]{4,10})(?![0-9])")
_WECHAT = re.compile(
    r"(?:微信(?:号|ID|id)?" + _KEYWORD_TAIL  # i18n: data
    # A Latin keyword needs a separator after it, or "wxWidgets" would be an ID.
    + r"|(?<![A-Za-z0-9])(?i:wx|vx|wechat|weixin)(?:(?:号|ID|id)?(?:是|为)?[ :]+|(?:号|是|为)[ :]*))"  # i18n: data
    r"(?P<v>[A-Za-z][A-Za-z0-9_-]{5,19})(?![A-Za-z0-9_-])"
)
_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"  # i18n: data
_PLATE = re.compile(
    r"(?P<v>[" + _PROVINCE_CHARS + r"][A-HJ-NP-Za-hj-np-z][·• -]?"
    r"(?:[A-HJ-NP-Za-hj-np-z0-9]{6}|[A-HJ-NP-Za-hj-np-z0-9]{5}[挂学警港澳]?))(?![A-Za-z0-9])"  # i18n: data
)
_PASSPORT = re.compile(r"护照(?:号码|号)?" + _KEYWORD_TAIL  # i18n: data
                       + r"(?P<v>[A-Za-z]{1,2}[0-9]{7,8}|[0-9]{8,9})(?![A-Za-z0-9])")


# --- detection --------------------------------------------------------------------------------

def _emails(norm: str) -> Iterable[Match]:
    """E-mail addresses."""
    for m in _EMAIL.finditer(norm):
        yield Match(m.start(), m.end(), "email", "")


def _id_numbers(norm: str, today: date) -> Iterable[Match]:
    """Resident ID numbers, 18-character and legacy 15-digit; an 18-character one with a wrong check character too."""
    for m in _ID18.finditer(norm):
        value = m.group().replace(" ", "")
        if valid_id_number(value, today):
            yield Match(m.start(), m.end(), "id_number", "")
        elif id_shaped(value, today):
            yield Match(m.start(), m.end(), "id_number_unverified", "")
    for m in _ID15.finditer(norm):
        if valid_id_number(m.group(), today):
            yield Match(m.start(), m.end(), "id_number", "")


def _bank_cards(norm: str) -> Iterable[Match]:
    """Payment card numbers: passing the issuer and Luhn checks, or card-shaped and failing Luhn."""
    for m in _CARD.finditer(norm):
        digits = _digits(m.group())
        if valid_bank_card(digits):
            yield Match(m.start(), m.end(), "bank_card", "")
        elif card_shaped(digits):
            yield Match(m.start(), m.end(), "bank_card_unverified", "")


def _values(pattern: re.Pattern, label: str, norm: str) -> Iterable[Match]:
    """The value group of every match of a keyword pattern."""
    for m in pattern.finditer(norm):
        yield Match(m.start("v"), m.end("v"), label, "")


def _plates(norm: str) -> Iterable[Match]:
    """Licence plates; at least three digits, so that words in Latin letters after a province name are not plates."""
    for m in _PLATE.finditer(norm):
        if sum(ch.isdigit() for ch in m.group("v")) >= 3:
            yield Match(m.start("v"), m.end("v"), "plate", "")


def _mobiles(norm: str) -> Iterable[Match]:
    """Mobile numbers."""
    for m in _MOBILE.finditer(norm):
        yield Match(m.start(), m.end(), "mobile", "")


def _landlines(norm: str) -> Iterable[Match]:
    """Landline numbers with an area code."""
    for m in _LANDLINE.finditer(norm):
        yield Match(m.start(), m.end(), "landline", "")


def _addresses(norm: str) -> Iterable[Match]:
    """Detailed addresses: a chain of numbered parts reaching a house or building and a unit or room."""
    parts = [p for p in _ADDRESS_PART.finditer(norm)
             if p.start() == 0 or not (norm[p.start() - 1].isascii() and norm[p.start() - 1].isalnum())]
    i = 0
    while i < len(parts):
        chain = [parts[i]]
        i += 1
        # Parts belong together when they touch or are one space apart.
        while i < len(parts) and norm[chain[-1].end():parts[i].start()] in ("", " "):
            chain.append(parts[i])
            i += 1
        marks = [p.group("mark") for p in chain]
        end = chain[-1].end()
        has_room = any(mark in _UNIT_OR_ROOM_MARKS for mark in marks)
        if marks[-1] in _BARE_ROOM_AFTER:
            bare = _BARE_ROOM.match(norm, end)
            if bare:
                end, has_room = bare.end(), True
        if has_room and any(mark in _BUILDING_MARKS for mark in marks):
            yield Match(chain[0].start(), end, "address", "")


# Earlier kinds win an overlap: an e-mail holding digits is an e-mail, an ID number (even with a
# wrong check character) is never also read as a card, so its 17 digits do not go as a card and
# leave the X behind; a card is never also read as a phone.
_PRIORITY = ("email", "id_number", "id_number_unverified", "bank_card", "bank_card_unverified", "mobile",
             "landline", "qq", "wechat", "passport", "plate", "address")


def find(text: str, today: date | None = None) -> list[Match]:
    """Every piece of personal data in `text`: non-overlapping, sorted, with original offsets."""
    if not text:
        return []
    today = today or date.today()
    norm = normalise(text)
    found = [*_emails(norm), *_id_numbers(norm, today), *_bank_cards(norm), *_mobiles(norm),
             *_landlines(norm), *_values(_QQ, "qq", norm), *_values(_WECHAT, "wechat", norm),
             *_values(_PASSPORT, "passport", norm), *_plates(norm), *_addresses(norm)]
    found.sort(key=lambda m: (_PRIORITY.index(m.label), m.start, -(m.end - m.start)))
    chosen: list[Match] = []
    for m in found:
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(Match(m.start, m.end, m.label, text[m.start:m.end]))
    return sorted(chosen, key=lambda m: m.start)


# --- masking ----------------------------------------------------------------------------------

def merge(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sort spans and join overlapping ones; a joined span keeps the first span's label."""
    merged: list[tuple[int, int, str]] = []
    for start, end, label in sorted(spans):
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2])
        else:
            merged.append((start, end, label))
    return merged


def mask(text: str, matches: Iterable[Match] | None = None) -> str:
    """`text` with every match replaced by its label's mask; everything else unchanged."""
    if matches is None:
        matches = find(text)
    spans = merge((m.start, m.end, m.label) for m in matches)
    out, pos = [], 0
    for start, end, label in spans:
        out.append(text[pos:start])
        out.append(MASKS.get(label, MASKS["manual"]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_name(name: str) -> str:
    """Keep the family name only: 张三 → 张*, 欧阳修 → 欧**."""
    name = (name or "").strip()
    if not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)
