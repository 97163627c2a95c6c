"""Turn raw fetched bytes into a :class:`~monitor.document.Document`.

A *source* normaliser (picked by URL host, file name, content type or sniffing, or named with
``kind``) extracts the main content as blocks; then its registered noise *steps* run in order.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import monitor.normalise.attachment
import monitor.normalise.binary
import monitor.normalise.govuk_api
import monitor.normalise.html
import monitor.normalise.steps
import monitor.normalise.text  # noqa: F401  (importing registers the sources and steps)
from monitor import settings
from monitor.document import Document, Ignored
from monitor.errors import PageTooComplex
from monitor.normalise.attachment import sniff as sniff_attachment
from monitor.normalise.binary import binary_document, binary_reason
from monitor.normalise.registry import SOURCES, STEPS, features, run_steps, source, step

__all__ = [
    "SOURCES",
    "STEPS",
    "binary_reason",
    "detect_format",
    "features",
    "looks_binary",
    "normalise",
    "pick_kind",
    "source",
    "step",
]

_HTML_BY_HOST = (
    ("gov.uk", "govuk-html"),
    ("england.nhs.uk", "nhs-england-html"),
    ("longtermplan.nhs.uk", "nhs-england-html"),
    ("nice.org.uk", "nice-html"),
)


def detect_format(body: bytes, content_type: str = "", filename: str = "") -> str:
    """Return "html", "json", "markdown", "yaml" or "text" for a body."""
    ct = content_type.lower()
    name = (filename or "").lower().split("?")[0]
    if name.endswith((".html", ".htm")) or "html" in ct:
        return "html"
    if name.endswith(".json") or "json" in ct:
        return "json"
    if name.endswith((".md", ".markdown")) or "markdown" in ct:
        return "markdown"
    if name.endswith((".yml", ".yaml")) or "yaml" in ct:
        return "yaml"
    if name.endswith(".txt") or ct.startswith("text/plain"):
        return "text"
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<div" in head:
        return "html"
    if head.startswith((b"{", b"[")):
        return "json"
    return "text"


def pick_kind(body: bytes, url: str = "", content_type: str = "", filename: str = "") -> str:
    """Choose the registered source normaliser for a body."""
    if sniff_attachment(body, content_type, url):
        return "attachment"
    if binary_reason(body, content_type):
        return "binary"
    fmt = detect_format(body, content_type, filename or urlsplit(url).path)
    host = (urlsplit(url).hostname or "").lower()
    if fmt == "html":
        for suffix, kind in _HTML_BY_HOST:
            if host == suffix or host.endswith("." + suffix):
                return kind
        head = body[:4096]
        if b"govuk-template" in head or b"govuk-frontend" in head:
            return "govuk-html"
        return "html"
    if fmt == "json":
        return "govuk-api" if b'"details"' in body and b'"base_path"' in body else "json"
    return fmt


def normalise(
    body: bytes,
    *,
    url: str = "",
    content_type: str = "",
    filename: str = "",
    kind: str | None = None,
    steps: tuple[str, ...] | list[str] | None = None,
) -> Document:
    """Normalise a page body; ``kind`` names a source normaliser, ``steps`` overrides its steps."""
    chosen = kind or pick_kind(body, url, content_type, filename)
    if chosen == "binary":
        return binary_document(body, binary_reason(body, content_type))
    tags = body.count(b"<")
    if tags > settings.MAX_TAGS:  # a million tiny elements: seconds of parsing, refused at once
        raise PageTooComplex(
            f"{tags:,} tags, more than the {settings.MAX_TAGS:,} a page may have: "
            "refused unread as too costly to parse"
        )
    try:
        src = SOURCES[chosen]
    except KeyError:
        raise ValueError(f"unknown normaliser {chosen!r}; known: {sorted(SOURCES)}") from None
    try:
        doc = src.fn(body, url)
    except PageTooComplex:
        raise
    except Exception as exc:  # any malformed body: one page's problem, never the cycle's
        if looks_binary(body):
            # Bytes that are not text (a broken PDF, an image behind a wrong type) would only
            # yield invented "changes"; keep the page, with nothing to compare.
            reason = f"unreadable {chosen} body ({type(exc).__name__}, {len(body)} bytes)"
            return Document(ignored=[Ignored(reason, "")], format="binary", source="binary")
        # A text body that does not parse as its declared format is still worth reading.
        doc = SOURCES["text"].fn(body, url)
        doc.ignored.append(Ignored(f"not valid {chosen} ({type(exc).__name__}); read as text", ""))
    if url:
        doc.meta.setdefault("url", url)  # extractors read the site from it
    return _without_nul(run_steps(doc, src.steps if steps is None else steps))


def looks_binary(body: bytes, content_type: str = "") -> bool:
    """True for bytes that are not text (see :mod:`monitor.normalise.binary`)."""
    return binary_reason(body, content_type) is not None


def _without_nul(doc: Document) -> Document:
    # NUL is legal in JSON strings and PDF text but not in a PostgreSQL text column.
    if any("\x00" in b.text or "\x00" in b.section for b in doc.blocks):
        doc.blocks = [
            replace(b, text=b.text.replace("\x00", ""), section=b.section.replace("\x00", ""))
            for b in doc.blocks
        ]
    return doc
