"""Attachments (PDF, DOCX, ODT): text extraction into sections, and attachment-list changes.

Extraction is bounded in size (and in time for PDFs) and returns a :class:`Document`, so
attachments are diffed section by section like pages. Garbage, encrypted or oversized
files raise :class:`AttachmentError` with a message saying which.
"""

from __future__ import annotations

import io
import logging
import re
import time
import zipfile
from collections.abc import Iterable

from lxml import etree

from monitor.document import Block, Document, Ignored
from monitor.errors import MonitorError
from monitor.normalise.registry import source
from monitor.normalise.text import TEXT_STEPS, clean_line

__all__ = [
    "ATTACHMENT_TYPES",
    "AttachmentError",
    "attachment_document",
    "docx_document",
    "odt_document",
    "pdf_document",
    "sniff",
]

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 1000
PDF_TIMEOUT_S = 60.0
ATTACHMENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
}
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_ODT_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
# "1. Introduction", "2.3 Funding", "Annex A: ...", "Section 4 - ..." start a section.
_NUMBERED_HEADING = re.compile(
    r"^((\d+(\.\d+)*\.?)|(annex|appendix|section|chapter|part)\s+[A-Z0-9]+[.:]?)\s+\S.{0,100}$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]?$")

logging.getLogger("pypdf").setLevel(logging.ERROR)


class AttachmentError(MonitorError):
    """The attachment cannot be read (not the declared type, encrypted, too large, too slow)."""


def sniff(body: bytes, content_type: str = "", url: str = "") -> str | None:
    """ "pdf", "docx" or "odt" from magic bytes, then content type, then extension."""
    if body[:5] == b"%PDF-":
        return "pdf"
    if body[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                names = set(z.namelist())
                if "word/document.xml" in names:
                    return "docx"
                if "content.xml" in names:
                    return "odt"
        except zipfile.BadZipFile:
            return None
    ct = content_type.split(";")[0].strip().lower()
    if ct in ATTACHMENT_TYPES:
        return ATTACHMENT_TYPES[ct]
    ext = url.lower().split("?")[0].rsplit(".", 1)[-1]
    return ext if ext in ("pdf", "docx", "odt") else None


def _paragraphs(lines: Iterable[str]) -> list[tuple[str, bool]]:
    """Re-join PDF text lines into paragraphs; a numbered line is a heading (text, is_heading)."""
    out: list[tuple[str, bool]] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append((clean_line(" ".join(buf)), False))
            buf.clear()

    for raw in lines:
        line = clean_line(raw)
        if not line:
            flush()
            continue
        if _NUMBERED_HEADING.match(line) and not _SENTENCE_END.search(line):
            flush()
            out.append((line, True))
            continue
        buf.append(line)
        if _SENTENCE_END.search(line) and len(line) < 60:
            flush()
    flush()
    return out


def pdf_document(
    body: bytes, *, max_pages: int = MAX_PAGES, timeout_s: float = PDF_TIMEOUT_S
) -> Document:
    """Text of a PDF as blocks under its numbered headings; page count in ``meta``."""
    _check_size(body)
    if body[:5] != b"%PDF-":
        raise AttachmentError("not a PDF (no %PDF- header)")
    from pypdf import PdfReader  # imported for the first PDF, not at every start
    from pypdf.errors import PdfReadError, PyPdfError

    started = time.monotonic()
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise AttachmentError("encrypted PDF: text cannot be extracted without a password")
        pages = reader.pages
        count = len(pages)
        info = reader.metadata
        title = clean_line(str(info.title)) if info and info.title else ""
        lines: list[str] = []
        ignored: list[Ignored] = []
        for n, page in enumerate(pages):
            if n >= max_pages or time.monotonic() - started > timeout_s:
                ignored.append(Ignored("attachment limit", f"pages {n + 1}-{count} not read"))
                break
            lines += [*(page.extract_text() or "").splitlines(), ""]
    except AttachmentError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise AttachmentError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    doc = _document(_paragraphs(lines), "pdf", title)
    doc.meta["pages"] = count
    doc.ignored += ignored
    return doc


def _document(paras: list[tuple[str, bool]], fmt: str, title: str = "") -> Document:
    blocks: list[Block] = []
    section = ""
    for text, heading in paras:
        if heading:
            section = text
            blocks.append(Block(text, section, "h"))
        else:
            blocks.append(Block(text, section, "p"))
    if not title:
        title = next((b.text for b in blocks if b.kind == "h"), blocks[0].text if blocks else "")
    return Document(blocks=blocks, meta={"title": title[:300]}, format=fmt)


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BYTES:
        raise AttachmentError(f"attachment larger than {MAX_BYTES} bytes")


def _zip_member(body: bytes, name: str) -> etree._Element:
    _check_size(body)
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            info = z.getinfo(name)
            if info.file_size > MAX_BYTES:  # guards against zip bombs
                raise AttachmentError(f"{name} expands to {info.file_size} bytes")
            data = z.read(name)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise AttachmentError(f"not a readable document archive: {exc}") from exc
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AttachmentError(f"{name} is not valid XML: {exc}") from exc


def docx_document(body: bytes) -> Document:
    """Paragraphs and table rows of a Word document; "Heading N" styles start sections."""
    root = _zip_member(body, "word/document.xml")
    paras: list[tuple[str, bool]] = []
    for el in root.iter(_W + "p", _W + "tr"):
        if el.tag == _W + "p" and any(a.tag == _W + "tr" for a in el.iterancestors()):
            continue
        if el.tag == _W + "tr":
            cells = [clean_line("".join(c.itertext())) for c in el.iter(_W + "tc")]
            text = " | ".join(c for c in cells if c)
            heading = False
        else:
            text = clean_line("".join(t.text or "" for t in el.iter(_W + "t")))
            style = el.find(f"{_W}pPr/{_W}pStyle")
            val = style.get(_W + "val", "") if style is not None else ""
            heading = val.lower().startswith(("heading", "title"))
        if text:
            paras.append((text, heading))
    return _document(paras, "docx")


def odt_document(body: bytes) -> Document:
    """Headings, paragraphs and list items of an OpenDocument text file."""
    root = _zip_member(body, "content.xml")
    paras: list[tuple[str, bool]] = []
    for el in root.iter(_ODT_TEXT + "h", _ODT_TEXT + "p"):
        if el.tag == _ODT_TEXT + "p" and any(
            a.tag in (_ODT_TEXT + "h", _ODT_TEXT + "p") for a in el.iterancestors()
        ):
            continue
        text = clean_line("".join(el.itertext()))
        if text:
            paras.append((text, el.tag == _ODT_TEXT + "h"))
    return _document(paras, "odt")


def attachment_document(body: bytes, *, content_type: str = "", url: str = "") -> Document:
    """Extract any supported attachment; raise AttachmentError for anything else."""
    kind = sniff(body, content_type, url)
    if kind == "pdf":
        doc = pdf_document(body)
    elif kind == "docx":
        doc = docx_document(body)
    elif kind == "odt":
        doc = odt_document(body)
    else:
        raise AttachmentError(f"unsupported attachment type {content_type or 'unknown'} ({url})")
    doc.meta["url"] = url
    return doc


@source("attachment", TEXT_STEPS)
def attachment_source(body: bytes, url: str) -> Document:
    """PDF, DOCX or ODT attachment: text by section (numbered or styled headings)."""
    try:
        return attachment_document(body, url=url)
    except AttachmentError as exc:
        raise ValueError(str(exc)) from exc
