"""Citizen attachments: checked by content, images re-encoded, stored under random names.

Only JPEG (and MPO, the multi-picture JPEG many phones write), PNG and PDF are accepted, judged
by their bytes, never by name or declared type. Images are decoded within a pixel and memory
budget, turned upright by their EXIF orientation and saved anew, which drops EXIF and GPS data.
PDFs are read with a real parser and refused when they could run, fetch or carry anything
(`pdfscan`).

Files are written under a temporary name (`<name>.part`), synced to disk, and moved to their
final name only once the transaction that records them has committed; a rolled-back
transaction deletes its files. `sweep` clears what a killed process left behind.
"""
from __future__ import annotations

import io
import logging
import math
import os
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..config import PRIVATE_FILE_MODE, private_folder
from ..domain.db import db
from ..domain.errors import PayloadTooLarge, ValidationFailed
from ..domain.models import Attachment
from ..domain.states import AttachmentPurpose
from . import pdfscan
from .pdfscan import Verdict
from .tx import on_commit, on_rollback

log = logging.getLogger(__name__)

# Most pixels an image may have once decoded: a 24-megapixel photo or a long phone screenshot.
MAX_PIXELS = 24_000_000
# Most bytes its decoded pixels may take (Pillow keeps RGB in 4 bytes a pixel).
MAX_DECODE_BYTES = 128 * 1024 * 1024
# A bigger JPEG is decoded at 1/2, 1/4 or 1/8 of its size (libjpeg does this cheaply); a bigger
# PNG is refused from its header, before a single pixel is decoded.
JPEG_SCALES = (2, 4, 8)
JPEG_QUALITY = 90  # re-encoded photos of letters and forms must stay legible
# The format Pillow reports → (stored type, suffix, format saved as). MPO is saved as its first frame.
IMAGE_FORMATS = {"JPEG": ("image/jpeg", ".jpg", "JPEG"), "MPO": ("image/jpeg", ".jpg", "JPEG"),
                 "PNG": ("image/png", ".png", "PNG")}
# Bytes a pixel takes in memory per mode (Pillow pads 3-band modes to 4).
MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 4, "PA": 4, "I;16": 2, "I;16B": 2, "I;16L": 2}
# What the temporary name of a file being stored ends with.
PART = ".part"


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


def _fit(img: Image.Image, upload: Upload) -> None:
    """Make `img` decode within the budget (a JPEG at a reduced scale), or refuse it, before loading."""
    if img.width * img.height > MAX_PIXELS and img.format in ("JPEG", "MPO"):
        for scale in JPEG_SCALES:
            if math.ceil(img.width / scale) * math.ceil(img.height / scale) <= MAX_PIXELS:
                img.draft(img.mode, (math.ceil(img.width / scale), math.ceil(img.height / scale)))
                break
    pixels = img.width * img.height
    if pixels > MAX_PIXELS or pixels * MODE_BYTES.get(img.mode, 4) > MAX_DECODE_BYTES:
        raise _too_big_image(upload)


def _check_image(upload: Upload) -> CheckedFile | None:
    """Re-encode an image upright and without metadata, or None if it is not an allowed image."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; treat the warning as the refusal it is.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as img:
                if img.format not in IMAGE_FORMATS:
                    return None
                content_type, suffix, fmt = IMAGE_FORMATS[img.format]
                _fit(img, upload)  # from the header, before a single pixel is decoded
                img.load()
                icc = img.info.get("icc_profile")  # colours, not personal data: kept
                # Turn the picture the way the phone meant it, then forget the EXIF that said so.
                ImageOps.exif_transpose(img, in_place=True)
                out = io.BytesIO()
                if fmt == "JPEG":
                    clean = img if img.mode in ("RGB", "L", "CMYK") else img.convert("RGB")
                    # Saving without exif= drops the metadata (GPS, device) the citizen's phone added.
                    clean.save(out, format="JPEG", quality=JPEG_QUALITY, icc_profile=icc)
                else:
                    # Without pnginfo= the text chunks go too.
                    img.save(out, format="PNG", icc_profile=icc)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big_image(upload) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return None
    return CheckedFile(upload.filename, out.getvalue(), content_type, suffix)


# A PDF starts with its version: 1.0 to 1.7, or 2.0, and ends with its end-of-file marker.
PDF_HEADER = re.compile(rb"\A%PDF-(?:1\.[0-7]|2\.0)\s")


def _check_pdf(upload: Upload) -> CheckedFile | None:
    """Accept a PDF that qpdf can read and that runs, fetches or carries nothing (see pdfscan)."""
    if not PDF_HEADER.match(upload.data) or b"%%EOF" not in upload.data[-1024:]:
        return None
    finding = pdfscan.inspect(upload.data)
    if finding.verdict is Verdict.ok:
        return CheckedFile(upload.filename, upload.data, "application/pdf", ".pdf")
    log.info("PDF upload refused: %s %s", finding.verdict, finding.reason)
    name = upload.filename
    if finding.verdict is Verdict.encrypted:
        msg = _("PDF 文件“%(name)s”设有打开密码，请去除密码后上传。", name=name)
    elif finding.verdict is Verdict.uncheckable:
        msg = _("无法检查 PDF 文件“%(name)s”的内容，请转换为图片后上传。", name=name)
    elif finding.verdict is Verdict.active:
        msg = _("PDF 文件“%(name)s”含有脚本、自动执行的操作、外部链接或内嵌文件，不能上传。请打印为新的 PDF 或转换为图片后上传。",
                name=name)
    else:
        msg = _("PDF 文件“%(name)s”已损坏或无法读取，请重新生成后上传，或转换为图片后上传。", name=name)
    raise ValidationFailed(msg, {"attachments": msg})


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
    """Write a checked file and return its (unsaved) Attachment row.

    The bytes go to `<random name>.part`, owner-only, and are synced to disk before the caller's
    transaction commits; the commit moves the file to its final name (`on_commit`), a rollback
    deletes it. Call inside `unit_of_work()`.
    """
    stored_name = secrets.token_hex(16) + checked.suffix
    final = upload_dir() / stored_name
    part = final.with_name(stored_name + PART)
    # Created owner-only (never through a umask-dependent default), and never over an existing file.
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(checked.data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    on_rollback(lambda: part.unlink(missing_ok=True))
    on_commit(lambda: move_into_place(part, final))
    safe_name = os.path.basename(checked.filename.replace("\\", "/"))[:200] or ("file" + checked.suffix)
    return Attachment(purpose=purpose, filename=safe_name, stored_name=stored_name,
                      content_type=checked.content_type, size=len(checked.data))


def move_into_place(part: Path, final: Path) -> None:
    """Give a stored file its final name, durably (the folder's entry is synced too)."""
    os.replace(part, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def path_of(attachment: Attachment) -> Path:
    """Where an attachment's bytes are on disk."""
    return upload_dir() / attachment.stored_name


# A file this module wrote: 32 hex digits, a suffix of IMAGE_FORMATS or .pdf, maybe ".part".
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|png|pdf)")


@dataclass(frozen=True)
class SweepResult:
    """What `sweep` did (or, in a dry run, would do), by stored file name."""

    completed: list[str]  # .part files of committed rows, moved to their final name
    removed: list[str]  # files no row refers to, deleted
    kept_recent: int  # files too recent to judge: their transaction may still be running


def sweep(*, older_than_minutes: int = 60, dry_run: bool = False, batch: int = 500) -> SweepResult:
    """Clear the upload folder of what interrupted transactions left behind.

    A `.part` file whose row was committed (the process died between the commit and the move) is
    moved into place; a file, final or `.part`, that no row refers to is deleted. Files changed in
    the last `older_than_minutes` minutes are left alone. Only names this module writes are
    touched; the folder is read once, the rows are looked up `batch` names at a time.
    """
    if older_than_minutes < 1:
        msg = _("只能清理至少 1 分钟未改动的文件：更新的文件可能属于尚未提交的办件。")
        raise ValidationFailed(msg, {"older_than": msg})
    folder = upload_dir()
    cutoff = time.time() - older_than_minutes * 60
    candidates: dict[str, Path] = {}
    recent = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name.removesuffix(PART)
            if not STORED_NAME.fullmatch(name) or not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                recent += 1
                continue
            candidates[entry.name] = Path(entry.path)
    names = sorted({n.removesuffix(PART) for n in candidates})
    known: set[str] = set()
    for i in range(0, len(names), batch):
        chunk = names[i:i + batch]
        known.update(db.session.scalars(select(Attachment.stored_name).where(Attachment.stored_name.in_(chunk))))
    completed, removed = [], []
    for file_name, path in sorted(candidates.items()):
        name = file_name.removesuffix(PART)
        final = folder / name
        if name in known and file_name != name and not final.exists():
            completed.append(name)
            if not dry_run:
                move_into_place(path, final)
        elif name not in known or file_name != name:
            # No row, or a leftover .part beside a file already in place.
            removed.append(file_name)
            if not dry_run:
                path.unlink(missing_ok=True)
    if completed or removed:
        log.info("attachment sweep%s: %d completed, %d removed", " (dry run)" if dry_run else "",
                 len(completed), len(removed))
    return SweepResult(completed, removed, recent)
