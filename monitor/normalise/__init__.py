"""Turn raw fetched bytes into a :class:`~monitor.document.Document`.

The format is chosen from the content type, the file name or by sniffing the body.
"""

from __future__ import annotations

import json

from monitor.document import Document
from monitor.normalise.html import html_to_document
from monitor.normalise.text import decode, text_to_document

__all__ = ["detect_format", "normalise"]


def detect_format(body: bytes, content_type: str = "", filename: str = "") -> str:
    """Return "html", "json" or "text" for a body."""
    ct = content_type.lower()
    name = filename.lower()
    if "html" in ct or name.endswith((".html", ".htm")):
        return "html"
    if "json" in ct or name.endswith(".json"):
        return "json"
    if name.endswith((".md", ".txt", ".yml", ".yaml")) or ct.startswith("text/plain"):
        return "text"
    head = body[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if head.startswith(b"{"):
        return "json"
    return "text"


def normalise(
    body: bytes, *, url: str = "", content_type: str = "", filename: str = ""
) -> Document:
    """Normalise a page body of any supported format."""
    fmt = detect_format(body, content_type, filename)
    if fmt == "html":
        return html_to_document(body, url=url)
    if fmt == "json":
        try:
            data = json.loads(decode(body))
        except ValueError:
            return text_to_document(decode(body))
        return text_to_document(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False))
    return text_to_document(decode(body))
