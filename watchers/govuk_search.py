"""gov.uk Search API (``/api/search.json``): find documents published or updated since a poll.

The API answers 422 to unknown parameters, so URLs are built only from known names.
``public_timestamp`` moves on "major" updates only; minor edits are caught by
re-fetching watched pages through the Content API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

from monitor.errors import FetchError
from monitor.polling import SearchQuery

__all__ = [
    "FILTER_FIELDS",
    "SEARCH_URL",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "hits_since",
    "next_page_url",
    "parse_search",
    "parse_timestamp",
    "search_url",
]

SEARCH_URL = "https://www.gov.uk/api/search.json"
WWW = "https://www.gov.uk"
MAX_COUNT = 1000
# Fields the Search API accepts after filter_ / reject_ (a subset of its allowed list).
FILTER_FIELDS = frozenset(
    {
        "content_purpose_supergroup",
        "content_store_document_type",
        "document_type",
        "email_document_supertype",
        "format",
        "government_document_supertype",
        "is_withdrawn",
        "link",
        "mainstream_browse_pages",
        "organisations",
        "part_of_taxonomy_tree",
        "people",
        "public_timestamp",
        "roles",
        "taxons",
        "topical_events",
        "world_locations",
    }
)
ORDERS = frozenset({"public_timestamp", "-public_timestamp", "title", "-title"})


@dataclass(frozen=True)
class SearchHit:
    """One result: absolute www.gov.uk link, title, major-update time, format, organisations."""

    link: str
    title: str
    public_timestamp: datetime | None
    format: str
    organisations: tuple[str, ...] = ()
    description: str = ""


@dataclass
class SearchPage:
    hits: list[SearchHit]
    total: int
    start: int


def parse_timestamp(value: object) -> datetime | None:
    """Parse gov.uk ISO 8601 timestamps (``Z`` or offset); None when absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def search_url(
    query: SearchQuery, *, start: int = 0, since: datetime | None = None, base: str = SEARCH_URL
) -> str:
    """Build a Search API URL from known parameters only; raise ValueError otherwise."""
    if query.order not in ORDERS:
        raise ValueError(f"unsupported order {query.order!r}")
    if not 0 <= query.count <= MAX_COUNT:
        raise ValueError(f"count must be 0..{MAX_COUNT}")
    params: list[tuple[str, str]] = []
    if query.q:
        params.append(("q", query.q))
    for name, values in sorted(query.filters.items()):
        if name not in FILTER_FIELDS:
            raise ValueError(f"unknown Search API filter {name!r} (the API would answer 422)")
        params.extend((f"filter_{name}", v) for v in values)
    if since is not None and "public_timestamp" not in query.filters:
        params.append(("filter_public_timestamp", f"from:{since.date().isoformat()}"))
    params += [("order", query.order), ("count", str(query.count)), ("start", str(start))]
    params.append(("fields", ",".join(query.fields)))
    return f"{base}?{urlencode(params)}"


def _org_names(raw: Any) -> tuple[str, ...]:
    names: list[str] = []
    for org in raw or []:
        if isinstance(org, Mapping):
            name = org.get("acronym") or org.get("title") or org.get("slug")
            if name:
                names.append(str(name))
        elif isinstance(org, str):
            names.append(org)
    return tuple(names)


def parse_search(data: bytes | Mapping[str, Any]) -> SearchPage:
    """Parse a Search API response into hits with absolute links."""
    try:
        doc = json.loads(data) if isinstance(data, bytes) else data
    except ValueError as exc:
        raise FetchError(f"Search API response is not JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("results"), list):
        raise FetchError("Search API response has no 'results' list")
    hits = [
        SearchHit(
            link=urljoin(WWW, str(r.get("link", ""))),
            title=str(r.get("title", "")),
            public_timestamp=parse_timestamp(r.get("public_timestamp")),
            format=str(r.get("format") or r.get("content_store_document_type") or ""),
            organisations=_org_names(r.get("organisations")),
            description=str(r.get("description") or ""),
        )
        for r in doc["results"]
        if isinstance(r, Mapping) and r.get("link")
    ]
    return SearchPage(hits, int(doc.get("total") or 0), int(doc.get("start") or 0))


def hits_since(
    page: SearchPage, query: SearchQuery, since: datetime | None
) -> tuple[list[SearchHit], bool]:
    """The hits of one page published after ``since``, and whether older ones were reached.

    With the default newest-first order, the first hit at or before ``since`` means no
    later page can hold a newer one, so paging stops there.
    """
    found: list[SearchHit] = []
    for hit in page.hits:
        ts = hit.public_timestamp
        if since is not None and (ts is None or ts <= since):
            if query.order == "-public_timestamp" and ts is not None:
                return found, True
            continue
        found.append(hit)
    return found, False


def next_page_url(
    query: SearchQuery,
    page: SearchPage,
    start: int,
    since: datetime | None,
    *,
    base: str = SEARCH_URL,
) -> str | None:
    """The URL of the page after ``page`` (which began at ``start``); None after the last."""
    following = start + len(page.hits)
    if not page.hits or following >= page.total:
        return None
    return search_url(query, start=following, since=since, base=base)
