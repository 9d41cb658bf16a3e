"""Citizen attachments: checked by content, images re-encoded, stored under random names.

Only JPEG, PNG and PDF are accepted, judged by their bytes, never by name or declared type.
Images are decoded (after a pixel-count guard against decompression bombs) and saved anew,
which drops EXIF and GPS data. PDFs must carry a version header and trailer, and are refused
when they contain JavaScript, launch actions or embedded files, also inside object streams.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from ..config import PRIVATE_FILE_MODE, private_folder
from ..domain.errors import PayloadTooLarge, ValidationFailed
from ..domain.models import Attachment
from ..domain.states import AttachmentPurpose
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


def _too_big_image(upload: Upload) -> ValidationFailed:
    """The refusal of an image whose pixel count could exhaust memory when decoded."""
    msg = _("图片“%(name)s”的尺寸过大，请缩小后再上传。", name=upload.filename)
    return ValidationFailed(msg, {"attachments": msg})


def _check_image(upload: Upload) -> CheckedFile | None:
    """Re-encode an image (dropping EXIF/GPS metadata), or None if it is not an allowed image."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; treat the warning as the refusal it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as img:
                if img.format not in IMAGE_FORMATS:
                    return None
                # Checked from the header, before a single pixel is decoded.
                if img.width * img.height > MAX_PIXELS:
                    raise _too_big_image(upload)
                img.load()
                fmt = img.format
                out = io.BytesIO()
                clean = img.convert("RGB") if fmt == "JPEG" else img
                # Saving without exif=/pnginfo= drops the metadata the citizen's phone added.
                clean.save(out, format=fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big_image(upload) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    content_type, suffix = IMAGE_FORMATS[fmt]
    return CheckedFile(upload.filename, out.getvalue(), content_type, suffix)


# A PDF starts with its version: 1.0 to 1.7, or 2.0.
PDF_HEADER = re.compile(rb"\A%PDF-(?:1\.[0-7]|2\.0)\s")
# PDF names: a slash, then regular characters; "#xx" escapes any byte, e.g. /J#61vaScript.
PDF_NAME = re.compile(rb"/((?:[^\s/<>\[\]()%{}#]|#[0-9A-Fa-f]{2})+)")
PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
# Names that run code or carry other files when the PDF is opened.
PDF_ACTIVE = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia"}
PDF_STREAM = re.compile(rb"stream\r?\n")
# How much decompressed stream data one PDF may make us read: more is refused, not trusted.
PDF_INFLATE_BUDGET = 64 * 1024 * 1024


def _pdf_names(data: bytes) -> set[bytes]:
    """Every name in `data`, with #xx escapes decoded."""
    return {PDF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), n) for n in PDF_NAME.findall(data)}


def _pdf_streams(data: bytes) -> list[bytes] | None:
    """The inflated content of every compressed non-image stream, or None if that is too much."""
    out, budget, pos = [], PDF_INFLATE_BUDGET, 0
    while (match := PDF_STREAM.search(data, pos)) is not None:
        end = data.find(b"endstream", match.end())
        end = len(data) if end < 0 else end
        # The stream's dictionary sits between the object header and the "stream" keyword.
        head = data[max(data.rfind(b"obj", 0, match.start()), 0):match.start()]
        pos = end + len(b"endstream")
        if b"Image" in _pdf_names(head):
            continue  # pixels cannot hide an action, and they are the bulk of a scanned PDF
        try:
            inflater = zlib.decompressobj()
            chunk = inflater.decompress(data[match.end():end], budget + 1)
        except zlib.error:
            continue  # not Flate-compressed: its bytes were already scanned as they are
        budget -= len(chunk)
        if budget < 0:
            return None
        out.append(chunk)
    return out


def _check_pdf(upload: Upload) -> CheckedFile | None:
    """Accept a PDF by its version header and trailer, refusing any with scripts or launch actions."""
    if not PDF_HEADER.match(upload.data) or b"%%EOF" not in upload.data[-1024:]:
        return None
    streams = _pdf_streams(upload.data)
    if streams is None:
        msg = _("无法检查 PDF 文件“%(name)s”的内容，请转换为图片后上传。", name=upload.filename)
        raise ValidationFailed(msg, {"attachments": msg})
    # Object streams (PDF 1.5+) hide dictionaries inside compressed data, so scan those too.
    for part in (upload.data, *streams):
        if _pdf_names(part) & PDF_ACTIVE:
            msg = _("PDF 文件“%(name)s”含有脚本、自动执行的操作或内嵌文件，不能上传。", name=upload.filename)
            raise ValidationFailed(msg, {"attachments": msg})
    return CheckedFile(upload.filename, upload.data, "application/pdf", ".pdf")


def check_uploads(uploads: list[Upload], *, images_only: bool = False,
                  field: str = "attachments") -> list[CheckedFile]:
    """Check every upload by content and size; raise naming the first bad one under `field`.

    A file over the size limit raises PayloadTooLarge (413); anything else ValidationFailed (400).
    """
    limit = current_app.config["INTERACT_MAX_UPLOAD_BYTES"]
    count = current_app.config["INTERACT_MAX_ATTACHMENTS"]
    uploads = [u for u in uploads if u.data]
    if len(uploads) > count:
        raise ValidationFailed(_("最多上传%(n)d个附件。", n=count), {field: _("最多上传%(n)d个附件。", n=count)})
    checked = []
    for upload in uploads:
        if len(upload.data) > limit:
            msg = _("文件“%(name)s”超过%(mb)d MB，请压缩后再上传。", name=upload.filename, mb=limit // (1024 * 1024))
            raise PayloadTooLarge(msg, {field: msg})
        try:
            result = _check_image(upload) or (None if images_only else _check_pdf(upload))
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, {field: exc.message}) from None
        if result is None:
            msg = (_("文件“%(name)s”不是 JPEG 或 PNG 图片。", name=upload.filename) if images_only
                   else _("文件“%(name)s”不是 JPEG、PNG 图片或 PDF 文件。", name=upload.filename))
            raise ValidationFailed(msg, {field: msg})
        checked.append(result)
    return checked


def upload_dir() -> Path:
    """The folder holding stored attachments (outside static/)."""
    # Owner-only: citizens' letters and photos are personal data.
    return private_folder(current_app.config["INTERACT_UPLOAD_DIR"])


def store(checked: CheckedFile, purpose: str = AttachmentPurpose.attachment) -> Attachment:
    """Write a checked file under a random name and return its (unsaved) Attachment row."""
    stored_name = secrets.token_hex(16) + checked.suffix
    path = upload_dir() / stored_name
    # Created owner-only (never through a umask-dependent default), and never over an existing file.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE), "wb") as fh:
        fh.write(checked.data)
    # If the case is not committed, the file must not linger.
    on_rollback(lambda: path.unlink(missing_ok=True))
    safe_name = os.path.basename(checked.filename.replace("\\", "/"))[:200] or ("file" + checked.suffix)
    return Attachment(purpose=purpose, filename=safe_name, stored_name=stored_name,
                      content_type=checked.content_type, size=len(checked.data))


def path_of(attachment: Attachment) -> Path:
    """Where an attachment's bytes are on disk."""
    return upload_dir() / attachment.stored_name
