"""What a PDF would do when it is opened, found by reading it with a real parser (qpdf, through
pikepdf), never by matching its bytes against patterns.

A citizen's PDF is a letter, a scan or a certificate. Nothing in it may run or fetch anything
when a handler opens it, so `inspect` refuses a file that holds:

- JavaScript anywhere (`/JS`, the `/JavaScript` name tree, JavaScript actions) and XFA forms;
- actions that start programs, send data or open other files: Launch, SubmitForm, ImportData,
  GoToR, GoToE, and the multimedia ones (Rendition, Movie, Sound, RichMediaExecute, 3D);
- embedded or attached files and multimedia annotations (RichMedia, 3D, Movie, Sound, Screen);
- any automatic action (the document's `/OpenAction`, any `/AA` trigger) other than going to a
  page of the same document, e.g. opening a web address or submitting a form on open;
- links whose address is not http, https or mailto (`file:`, `javascript:`, `smb:` …).

Plain links a reader must click stay allowed: they are how a PDF printed from a web page looks.

Every object is read as qpdf reads it, so names with `#xx` escapes and objects packed in object
streams under any chain of standard filters are seen decoded. Each object stream is also
decoded explicitly, within a budget, and its text searched for the names above: a stream qpdf
could not decode, or one that is not listed in the cross-reference table, must not hide what
another reader would find. Decoding is bounded per stream by qpdf's own limits (set here, once,
at import) and in total by `TOTAL_DECODE_BYTES`; LZW, the one standard filter qpdf cannot
bound, is refused outright (it has been obsolete since PDF 1.2).
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream, StreamDecodeLevel

log = logging.getLogger(__name__)

# Largest decoded size of one stream (qpdf's own per-filter limits), and of all object streams.
STREAM_DECODE_BYTES = 32 * 1024 * 1024
TOTAL_DECODE_BYTES = 64 * 1024 * 1024
# Process-wide: nothing else in the platform uses pikepdf, and this runs at start-up, before threads.
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=STREAM_DECODE_BYTES, run_length_max_memory=STREAM_DECODE_BYTES,
    png_max_memory=STREAM_DECODE_BYTES, tiff_max_memory=STREAM_DECODE_BYTES,
    max_stream_filters=8, parser_max_nesting=64)

ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/XFA", "/EmbeddedFiles", "/EmbeddedFile", "/EF",
                         "/RichMediaContent", "/RichMediaSettings"})
ACTIVE_TYPES = frozenset({"/EmbeddedFile", "/FileAttachment", "/RichMedia", "/3D", "/Movie", "/Sound",
                          "/Screen"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE",
                            "/RichMediaExecute", "/Rendition", "/Movie", "/Sound", "/GoTo3DView"})
# What may happen by itself when the document or a page opens: going to one of its own pages.
AUTOMATIC_ACTIONS = frozenset({"/GoTo"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# In decoded object-stream text: a name, "#xx" escapes decoded (the same rules as qpdf's).
NAME = re.compile(rb"/((?:[^\s/<>\[\]()%{}#]|#[0-9A-Fa-f]{2})+)")
NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
LZW = re.compile(rb"/(?:L|#4[cC])(?:Z|#5[aA])(?:W|#57)(?:D|#44)")


class Verdict(StrEnum):
    """What `inspect` concluded."""

    ok = "ok"
    unreadable = "unreadable"  # not a PDF qpdf can read
    encrypted = "encrypted"  # needs a password to open
    uncheckable = "uncheckable"  # too big to decode within the budget, or LZW
    active = "active"  # holds something from the module's list


@dataclass(frozen=True)
class Finding:
    """The verdict, and for the log and the tests what caused it (a PDF name, never content)."""

    verdict: Verdict
    reason: str = ""


OK = Finding(Verdict.ok)


def inspect(data: bytes) -> Finding:
    """Open `data` with qpdf and say whether it is safe to keep and hand to staff."""
    if LZW.search(data):
        return Finding(Verdict.uncheckable, "LZWDecode")
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        return Finding(Verdict.encrypted)
    except Exception as exc:  # any failure of the C++ parser on hostile input means "unreadable"
        log.info("PDF refused as unreadable: %s", type(exc).__name__)
        return Finding(Verdict.unreadable, type(exc).__name__)
    try:
        with pdf:
            return _object_streams(pdf) or _objects(pdf) or OK
    except pikepdf.DataDecodingError:
        return Finding(Verdict.uncheckable, "decoding")
    except Exception as exc:  # as above: a file qpdf fails on is not accepted
        log.info("PDF refused while reading its objects: %s", type(exc).__name__)
        return Finding(Verdict.unreadable, type(exc).__name__)


def names_in(text: bytes) -> set[bytes]:
    """Every PDF name written in `text`, with its #xx escapes decoded."""
    return {NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), n) for n in NAME.findall(text)}


_ACTIVE_NAMES = {n.encode()[1:] for n in ACTIVE_KEYS | ACTIVE_TYPES | ACTIVE_ACTIONS}


def _object_streams(pdf: pikepdf.Pdf) -> Finding | None:
    """Decode every object stream within the budget and search its text for active names."""
    table = pdf.get_xref_table()
    packed_in = {entry.obj_stream_number for entry in table.values() if entry.type == 2}
    budget = TOTAL_DECODE_BYTES
    for objgen, entry in table.items():
        if entry.type != 1:
            continue
        obj = pdf.get_object(objgen)
        if not isinstance(obj, Stream):
            continue
        if objgen[0] not in packed_in and obj.get("/Type") != Name.ObjStm:
            continue
        text = obj.read_bytes(StreamDecodeLevel.specialized)
        budget -= len(text)
        if budget < 0:
            return Finding(Verdict.uncheckable, "budget")
        if found := names_in(text) & _ACTIVE_NAMES:
            return Finding(Verdict.active, "/" + min(found).decode("latin-1"))
    return None


def _objects(pdf: pikepdf.Pdf) -> Finding | None:
    """Look at every dictionary of the document (each object and what it holds directly)."""
    for top in (pdf.trailer, *pdf.objects):
        stack = [top]
        while stack:
            obj = stack.pop()
            if isinstance(obj, (Dictionary, Stream)):
                if finding := _dictionary(obj):
                    return finding
                children = list(obj.values())
            elif isinstance(obj, Array):
                children = list(obj)
            else:
                continue
            # Containers held directly; indirect objects are visited on their own, as members of
            # pdf.objects. (Numbers and booleans come back as Python values.)
            stack.extend(child for child in children
                         if isinstance(child, (Dictionary, Array)) and not child.is_indirect)
    return None


def _name(obj) -> str | None:
    """The name `obj` is, as "/Name", or None when it is not a name."""
    return str(obj) if isinstance(obj, Name) else None


def _dictionary(d) -> Finding | None:
    """What in this one dictionary (or stream dictionary) makes the document unsafe."""
    if found := set(d.keys()) & ACTIVE_KEYS:
        return Finding(Verdict.active, min(found))
    for key in ("/Type", "/Subtype"):
        if (kind := _name(d.get(key))) in ACTIVE_TYPES:
            return Finding(Verdict.active, kind)
    action = _name(d.get("/S"))
    if action in ACTIVE_ACTIONS:
        return Finding(Verdict.active, action)
    if action == "/URI" and not _safe_link(d.get("/URI")):
        return Finding(Verdict.active, "/URI")
    triggers = [d.get("/OpenAction")]
    if isinstance(aa := d.get("/AA"), Dictionary):
        triggers.extend(aa.values())
    for trigger in triggers:
        if (kind := _automatic(trigger)) is not None:
            return Finding(Verdict.active, "automatic " + kind)
    return None


def _safe_link(uri) -> bool:
    """Whether a link's address is a web page or a mail address."""
    try:
        return urlsplit(str(uri).strip()).scheme.lower() in LINK_SCHEMES
    except ValueError:
        return False


def _automatic(trigger) -> str | None:
    """The first action of an automatic chain (`/Next` followed) that is not a plain GoTo.

    An `/OpenAction` array is a destination (a page of this document); a `/Next` array is a
    list of further actions.
    """
    pending, seen = [trigger], 0
    while pending and seen < 1000:  # a long chain, or a loop of /Next references, is cut off
        action = pending.pop()
        seen += 1
        if not isinstance(action, Dictionary):
            continue
        kind = _name(action.get("/S"))
        if kind not in AUTOMATIC_ACTIONS:
            return kind or "action"
        nxt = action.get("/Next")
        pending.extend(nxt if isinstance(nxt, Array) else [nxt])
    return None
