"""gov.uk Content API (``/api/content/<path>``): typed content items for watched pages.

Sub-pages of guides and travel advice (``/<base_path>/<slug>``) are answered with a
303 to the parent item; the watched part is then chosen by its slug.
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

__all__ = [
    "API_PREFIX",
    "Attachment",
    "ChangeNote",
    "ContentItem",
    "Part",
    "content_api_url",
    "narrow_to_part",
    "page_url_for",
    "parse_content_item",
    "part_slug_for",
]

API_PREFIX = "/api/content"
GOVUK_HOSTS = ("www.gov.uk", "gov.uk")
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


def content_api_url(page_url: str) -> str:
    """Map ``https://www.gov.uk/<path>`` to ``https://www.gov.uk/api/content/<path>``."""
    parts = urlsplit(page_url)
    path = parts.path.rstrip("/") or ""
    if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
        return f"{parts.scheme}://{parts.netloc}{path}"
    return f"{parts.scheme}://{parts.netloc}{API_PREFIX}{path or '/'}"


def page_url_for(api_url: str) -> str:
    """The public page for a Content API URL (inverse of :func:`content_api_url`)."""
    parts = urlsplit(api_url)
    path = parts.path.removeprefix(API_PREFIX) or "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def part_slug_for(page_url: str, base_path: str) -> str | None:
    """The part slug a sub-page URL names below ``base_path`` (None for the item itself)."""
    path = urlsplit(page_url).path.removeprefix(API_PREFIX).rstrip("/")
    base = base_path.rstrip("/")
    if path == base or not path.startswith(base + "/"):
        return None
    return path[len(base) + 1 :].split("/")[0] or None


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


def narrow_to_part(data: Mapping[str, Any], slug: str | None) -> dict[str, Any]:
    """A copy of a content item keeping only the part named ``slug`` (all parts when None).

    A watched sub-page (``/guide/<slug>``) then diffs only its own part; an unknown slug
    keeps no part, so a removed part shows up as removed text.
    """
    out = dict(data)
    details = dict(out.get("details") or {})
    parts = details.get("parts")
    if slug is not None and isinstance(parts, list):
        details["parts"] = [p for p in parts if isinstance(p, Mapping) and p.get("slug") == slug]
        out["details"] = details
    return out
