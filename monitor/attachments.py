"""Attachments linked from watched pages: which files to watch as pages of their own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.normalise.attachment import ATTACHMENT_TYPES

__all__ = ["ATTACHMENT_HOSTS", "attachment_urls", "is_attachment"]

# Where gov.uk serves attachments (allowlist these alongside www.gov.uk).
ATTACHMENT_HOSTS = ("assets.publishing.service.gov.uk",)
_EXTENSIONS = (".pdf", ".docx", ".odt")


def is_attachment(url: str, content_type: str = "") -> bool:
    """True for PDF, DOCX and ODT files, by content type or extension."""
    if content_type.split(";")[0].strip().lower() in ATTACHMENT_TYPES:
        return True
    return urlsplit(url).path.lower().endswith(_EXTENSIONS)


def _allowed(url: str, domains: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in (x.lower() for x in domains))


def attachment_urls(
    meta: Mapping[str, Any], page_url: str, allowed_domains: Iterable[str]
) -> list[str]:
    """Absolute URLs of a page's extractable attachments (``Document.meta["attachments"]``)."""
    allowed = list(allowed_domains)
    urls = []
    for a in meta.get("attachments") or []:
        if not isinstance(a, Mapping) or not a.get("url"):
            continue
        url = urljoin(page_url, str(a["url"]))
        if is_attachment(url, str(a.get("content_type") or "")) and _allowed(url, allowed):
            urls.append(url)
    return list(dict.fromkeys(urls))
