"""gov.uk Content API addresses: which API URL stands in for a page, and guide parts.

Pure URL and JSON logic shared by the page spider (``spiders.govuk``), the watch list
and the Content API parser (``watchers.govuk_content``). Sub-pages of guides and travel
advice (``/<base_path>/<slug>``) are answered by the API with a 303 to the parent item;
the watched part is then chosen by its slug.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "API_PREFIX",
    "GOVUK_HOSTS",
    "content_api_url",
    "fetch_url_for",
    "narrow_to_part",
    "page_url_for",
    "part_slug_for",
]

API_PREFIX = "/api/content"
GOVUK_HOSTS = ("www.gov.uk", "gov.uk")


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


def fetch_url_for(url: str, *, hosts: tuple[str, ...] = GOVUK_HOSTS) -> str | None:
    """The Content API URL standing in for a gov.uk page; None for other hosts and files."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in hosts:
        return None
    if parts.path.startswith(API_PREFIX + "/") or parts.path.startswith("/government/uploads/"):
        return None
    return content_api_url(url)


def part_slug_for(page_url: str, base_path: str) -> str | None:
    """The part slug a sub-page URL names below ``base_path`` (None for the item itself)."""
    path = urlsplit(page_url).path.removeprefix(API_PREFIX).rstrip("/")
    base = base_path.rstrip("/")
    if path == base or not path.startswith(base + "/"):
        return None
    return path[len(base) + 1 :].split("/")[0] or None


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
