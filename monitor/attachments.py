"""Attachments linked from watched pages: which links are files to watch as pages of their own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.normalise.attachment import ATTACHMENT_TYPES
from monitor.politeness import domain_allowed

__all__ = ["ATTACHMENT_HOSTS", "attachment_urls", "is_attachment"]

# Where gov.uk serves attachments (allowlist these alongside www.gov.uk).
ATTACHMENT_HOSTS = ("assets.publishing.service.gov.uk",)
_EXTENSIONS = (".pdf", ".docx", ".odt")


def is_attachment(url: str, content_type: str = "") -> bool:
    """True for PDF, DOCX and ODT files, by content type or extension."""
    if content_type.split(";")[0].strip().lower() in ATTACHMENT_TYPES:
        return True
    return urlsplit(url).path.lower().endswith(_EXTENSIONS)


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
        if is_attachment(url, str(a.get("content_type") or "")) and domain_allowed(url, allowed):
            urls.append(url)
    return list(dict.fromkeys(urls))
