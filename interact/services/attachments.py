"""Citizen attachments: checked by content, images re-encoded, stored under random names."""
from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from ..errors import ValidationFailed
from ..models import Attachment
from .tx import on_rollback

# Largest image we decode; bigger ones are refused as possible decompression bombs.
MAX_PIXELS = 40_000_000
IMAGE_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}


@dataclass(frozen=True)
class Upload:
    """A file as received by an adapter, before any check."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the content checks, ready to store."""

    filename: str
    data: bytes
    content_type: str
    suffix: str


def _check_image(upload: Upload) -> CheckedFile | None:
    """Re-encode an image (dropping EXIF/GPS metadata), or None if it is not an allowed image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as img:
                if img.format not in IMAGE_FORMATS:
                    return None
                if img.width * img.height > MAX_PIXELS:
                    raise ValidationFailed(_("图片尺寸过大。"), {"attachments": _("图片尺寸过大。")})
                img.load()
                fmt = img.format
                out = io.BytesIO()
                clean = img.convert("RGB") if fmt == "JPEG" else img
                # Saving without exif=/pnginfo= drops the metadata the citizen's phone added.
                clean.save(out, format=fmt)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    content_type, suffix = IMAGE_FORMATS[fmt]
    return CheckedFile(upload.filename, out.getvalue(), content_type, suffix)


def _check_pdf(upload: Upload) -> CheckedFile | None:
    """Accept a PDF by its signature and trailer, or None."""
    head, tail = upload.data[:1024], upload.data[-1024:]
    if head.startswith(b"%PDF-1.") or head.startswith(b"%PDF-2."):
        if b"%%EOF" in tail:
            return CheckedFile(upload.filename, upload.data, "application/pdf", ".pdf")
    return None


def check_uploads(uploads: list[Upload], *, images_only: bool = False) -> list[CheckedFile]:
    """Check every upload by content and size; raise ValidationFailed naming the first bad one."""
    limit = current_app.config["INTERACT_MAX_UPLOAD_BYTES"]
    count = current_app.config["INTERACT_MAX_ATTACHMENTS"]
    uploads = [u for u in uploads if u.data]
    if len(uploads) > count:
        raise ValidationFailed(_("最多上传%(n)d个附件。", n=count), {"attachments": _("最多上传%(n)d个附件。", n=count)})
    checked = []
    for upload in uploads:
        if len(upload.data) > limit:
            msg = _("文件“%(name)s”超过%(mb)d MB。", name=upload.filename, mb=limit // (1024 * 1024))
            raise ValidationFailed(msg, {"attachments": msg})
        result = _check_image(upload) or (None if images_only else _check_pdf(upload))
        if result is None:
            msg = (_("文件“%(name)s”不是 JPEG 或 PNG 图片。", name=upload.filename) if images_only
                   else _("文件“%(name)s”不是 JPEG、PNG 图片或 PDF 文件。", name=upload.filename))
            raise ValidationFailed(msg, {"attachments": msg})
        checked.append(result)
    return checked


def upload_dir() -> Path:
    """The folder holding stored attachments (outside static/)."""
    path = Path(current_app.config["INTERACT_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(checked: CheckedFile, purpose: str = "attachment") -> Attachment:
    """Write a checked file under a random name and return its (unsaved) Attachment row."""
    stored_name = secrets.token_hex(16) + checked.suffix
    path = upload_dir() / stored_name
    path.write_bytes(checked.data)
    # If the case is not committed, the file must not linger.
    on_rollback(lambda: path.unlink(missing_ok=True))
    safe_name = os.path.basename(checked.filename.replace("\\", "/"))[:200] or ("file" + checked.suffix)
    return Attachment(purpose=purpose, filename=safe_name, stored_name=stored_name,
                      content_type=checked.content_type, size=len(checked.data))


def path_of(attachment: Attachment) -> Path:
    """Where an attachment's bytes are on disk."""
    return upload_dir() / attachment.stored_name
