"""gov.uk in the page spider: fetch the Content API, fall back to HTML, select guide parts.

The Content API answers watched sub-pages of guides and travel advice
(``/<base_path>/<slug>``) with a 303 to the parent item; that is not a moved page, and
the part is selected by its slug. A path with no content item (404) is fetched as HTML.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from monitor.fetch import FetchResult, FetchTarget
from monitor.govuk import API_PREFIX, narrow_to_part, part_slug_for

__all__ = ["fallback_target", "is_part_redirect", "needs_body", "prepare_body"]


def _is_api(target: FetchTarget) -> bool:
    return bool(target.fetch_url) and API_PREFIX + "/" in urlsplit(target.fetch_url or "").path


def needs_body(target: FetchTarget) -> bool:
    """True when the spider reads the body itself (a Content API answer, narrowed to a part)."""
    return target.kind == "govuk" and _is_api(target)


def fallback_target(result: FetchResult) -> FetchTarget | None:
    """For a Content API 404 (no content item at that path), the same page fetched as HTML."""
    target = result.target
    if _is_api(target) and result.status == 404:
        return replace(target, fetch_url=None)
    return None


def is_part_redirect(target: FetchTarget, final_url: str | None) -> bool:
    """True when a Content API request was redirected to the item that holds the page's part."""
    if not final_url or not _is_api(target) or final_url == target.request_url:
        return False
    base_path = urlsplit(final_url).path.removeprefix(API_PREFIX) or "/"
    return part_slug_for(target.url, base_path) is not None


def prepare_body(target: FetchTarget, body: bytes) -> bytes:
    """Content API JSON reduced to the watched part, for sub-page URLs; other bodies unchanged."""
    if not _is_api(target) or not body.lstrip().startswith(b"{"):
        return body
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "base_path" not in data:
        return body
    slug = part_slug_for(target.url, str(data["base_path"]))
    if slug is None:
        return body
    return json.dumps(narrow_to_part(data, slug), ensure_ascii=False).encode()
