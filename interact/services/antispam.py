"""Anti-spam for the anonymous case forms: a honeypot field and an image CAPTCHA.

The honeypot is a field people never see or reach; software that fills every field fills it
too, and its submission is refused with a generic message. The CAPTCHA, which an
administrator switches on (settings.captcha_enabled), is drawn on the server with Pillow:
no outside service. Its answer is kept in the session only as an HMAC keyed with the secret
key (the session cookie is signed, not encrypted), expires after INTERACT_CAPTCHA_SECONDS,
and is spent by the first attempt. A one-time store (the rate-limit storage: memory, or Redis
across processes) also refuses a replayed old session cookie that carries a solved challenge.
The public API has no CAPTCHA: it is rate-limited instead.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
import unicodedata

from flask import current_app, session
from flask_babel import gettext as _
from limits.storage import Storage, storage_from_string
from PIL import Image, ImageDraw, ImageFont

from ..domain.errors import ValidationFailed
from . import settings

# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B) for people typing what they see.
ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
LENGTH = 5
SESSION_KEY = "captcha"
SIZE = (170, 60)
STORE = "interact_once"
_random = secrets.SystemRandom()


def honeypot_refusal() -> ValidationFailed:
    """The generic refusal a filled honeypot gets: it must not say why."""
    return ValidationFailed(_("提交未成功，请稍后重试。如多次失败，请拨打政务服务热线 12345。"))


def check_honeypot(value: str | None) -> None:
    """Refuse a submission whose hidden trap field was filled in."""
    if (value or "").strip():
        raise honeypot_refusal()


def captcha_required() -> bool:
    """Whether the administrator has switched the image CAPTCHA on."""
    return settings.captcha_enabled()


def new_answer() -> str:
    """A fresh random answer."""
    return "".join(_random.choice(ALPHABET) for _i in range(LENGTH))


def _digest(nonce: str, answer: str) -> str:
    """The keyed hash of an answer, bound to its challenge."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"captcha|{nonce}|{answer}".encode(), hashlib.sha256).hexdigest()


def _normal(answer: str) -> str:
    """What the citizen typed, as compared: full-width folded, upper case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", answer or "").upper().split())


def new_challenge() -> bytes:
    """Start a challenge in the session and return its PNG image."""
    answer, nonce = new_answer(), secrets.token_urlsafe(12)
    session[SESSION_KEY] = {"n": nonce, "h": _digest(nonce, answer),
                            "e": int(time.time()) + current_app.config["INTERACT_CAPTCHA_SECONDS"]}
    return render(answer)


def _store() -> Storage:
    """The one-time store shared by this app's processes (the rate-limit storage URL)."""
    store = current_app.extensions.get(STORE)
    if store is None:
        store = current_app.extensions[STORE] = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
    return store


def _first_use(nonce: str) -> bool:
    """Mark a challenge as spent; False if it already was."""
    key = f"{current_app.config.get('RATELIMIT_KEY_PREFIX', '')}/captcha/{nonce}"
    return _store().incr(key, current_app.config["INTERACT_CAPTCHA_SECONDS"]) == 1


def check_captcha(answer: str | None) -> None:
    """Check the answer to the session's challenge and spend it; ValidationFailed if wrong."""
    challenge = session.pop(SESSION_KEY, None)
    ok = (
        isinstance(challenge, dict)
        and int(challenge.get("e", 0)) >= time.time()
        and hmac.compare_digest(str(challenge.get("h", "")), _digest(str(challenge.get("n", "")), _normal(answer)))
        and _first_use(str(challenge["n"]))
    )
    if not ok:
        msg = _("验证码不正确或已过期，请输入新图片中的字符。")
        raise ValidationFailed(msg, {"captcha": msg})


def render(answer: str) -> bytes:
    """Draw `answer` as a distorted PNG: each character tilted and shifted, over noise lines."""
    width, height = SIZE
    image = Image.new("RGB", SIZE, (246, 248, 250))
    draw = ImageDraw.Draw(image)
    for _line in range(6):  # noise behind the text
        draw.line([(_random.randint(0, width), _random.randint(0, height)) for _point in range(2)],
                  fill=_colour(140, 200), width=1)
    font = ImageFont.load_default(size=34)
    step = (width - 20) // len(answer)
    for i, ch in enumerate(answer):
        glyph = Image.new("RGBA", (48, 52), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((8, 2), ch, font=font, fill=(*_colour(20, 110), 255))
        glyph = glyph.rotate(_random.uniform(-28, 28), resample=Image.Resampling.BICUBIC, expand=False)
        image.paste(glyph, (10 + i * step + _random.randint(-3, 3), _random.randint(0, 10)), glyph)
    for _line in range(4):  # lines across the text
        draw.line([(0, _random.randint(5, height - 5)), (width, _random.randint(5, height - 5))],
                  fill=_colour(60, 160), width=2)
    for _dot in range(180):
        draw.point((_random.randint(0, width - 1), _random.randint(0, height - 1)), fill=_colour(80, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _colour(low: int, high: int) -> tuple[int, int, int]:
    """A random colour with every channel between `low` and `high`."""
    return tuple(_random.randint(low, high) for _i in range(3))  # type: ignore[return-value]



def check_captcha_if_on(answer: str | None) -> None:
    """Check the CAPTCHA answer when an administrator has switched the CAPTCHA on."""
    if captcha_required():
        check_captcha(answer)
