"""gov.uk Content API (``/api/content/<path>``): typed content items for watched pages.

The API addresses (which URL stands in for a page, guide parts) are in :mod:`monitor.govuk`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.errors import FetchError
from watchers.govuk_search import parse_timestamp

__all__ = ["Attachment", "ChangeNote", "ContentItem", "Part", "parse_content_item"]

ATTACHMENT_EXTENSIONS = (".pdf", ".odt", ".docx", ".ods", ".xlsx", ".csv")
_HREF = re.compile(r"""href=["']([^"']+)["']""")


@dataclass(frozen=True)
class Attachment:
    title: str
    url: str
    content_type: str = ""


@dataclass(frozen=True)
class ChangeNote:
    at: datetime | None
    note: str


@dataclass(frozen=True)
class Part:
    slug: str
    title: str
    body: str


@dataclass
class ContentItem:
    """The fields of a content item that matter for change monitoring."""

    base_path: str
    title: str
    description: str
    document_type: str
    schema_name: str
    public_updated_at: datetime | None
    body: str = ""
    parts: list[Part] = field(default_factory=list)
    change_history: list[ChangeNote] = field(default_factory=list)
    withdrawn_notice: str | None = None
    withdrawn_at: datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    taxons: list[str] = field(default_factory=list)

    def part(self, slug: str | None) -> Part | None:
        """The part with ``slug``; the first part when slug is None."""
        if not self.parts:
            return None
        if slug is None:
            return self.parts[0]
        return next((p for p in self.parts if p.slug == slug), None)


def _html(value: Any) -> str:
    """Bodies are HTML strings, or lists of {content_type, content} alternatives."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for alt in value:
            if isinstance(alt, Mapping) and alt.get("content_type") == "text/html":
                return str(alt.get("content", ""))
    return ""


def _titles(links: Mapping[str, Any], key: str) -> list[str]:
    return [
        str(x["title"]) for x in links.get(key) or [] if isinstance(x, Mapping) and x.get("title")
    ]


def _attachments(details: Mapping[str, Any], body_html: str, base: str) -> list[Attachment]:
    found: dict[str, Attachment] = {}
    raw = list(details.get("attachments") or [])
    if isinstance(details.get("document"), Mapping):
        raw.append(details["document"])
    for a in raw:
        if isinstance(a, Mapping) and a.get("url"):
            url = urljoin(base, str(a["url"]))
            found.setdefault(
                url, Attachment(str(a.get("title") or ""), url, str(a.get("content_type") or ""))
            )
    for href in _HREF.findall(body_html):
        url = urljoin(base, href)
        if urlsplit(url).path.lower().endswith(ATTACHMENT_EXTENSIONS):
            found.setdefault(url, Attachment("", url, ""))
    return list(found.values())


def parse_content_item(
    data: bytes | Mapping[str, Any], *, base: str = "https://www.gov.uk"
) -> ContentItem:
    """Parse Content API JSON into a :class:`ContentItem`; raise FetchError if not one."""
    try:
        doc = json.loads(data) if isinstance(data, bytes) else data
    except ValueError as exc:
        raise FetchError(f"Content API response is not JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or "base_path" not in doc:
        raise FetchError("Content API response has no base_path: not a content item")
    details: Mapping[str, Any] = doc.get("details") or {}
    links: Mapping[str, Any] = doc.get("links") or {}
    parts = [
        Part(str(p.get("slug", "")), str(p.get("title", "")), _html(p.get("body")))
        for p in details.get("parts") or []
        if isinstance(p, Mapping)
    ]
    body = _html(details.get("body"))
    history = [
        ChangeNote(parse_timestamp(c.get("public_timestamp")), str(c.get("note", "")).strip())
        for c in details.get("change_history") or []
        if isinstance(c, Mapping)
    ]
    withdrawn: Mapping[str, Any] = doc.get("withdrawn_notice") or {}
    all_html = body + "".join(p.body for p in parts)
    return ContentItem(
        base_path=str(doc["base_path"]),
        title=str(doc.get("title") or ""),
        description=str(doc.get("description") or ""),
        document_type=str(doc.get("document_type") or ""),
        schema_name=str(doc.get("schema_name") or ""),
        public_updated_at=parse_timestamp(doc.get("public_updated_at")),
        body=body,
        parts=parts,
        change_history=history,
        withdrawn_notice=str(withdrawn.get("explanation") or "") or None,
        withdrawn_at=parse_timestamp(withdrawn.get("withdrawn_at")),
        attachments=_attachments(details, all_html, base),
        organisations=_titles(links, "organisations"),
        taxons=_titles(links, "taxons"),
    )
