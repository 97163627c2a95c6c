"""What discovery polls and what a poll found: inputs, candidates, reports (plain data).

Each configured feed, Search API query, sitemap, listing and NICE index is one
:class:`DiscoveryInput`; ``monitor.discover`` polls them and ``watchers`` parse the bodies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "Candidate",
    "DiscoveryInput",
    "Kind",
    "PollReport",
    "SearchQuery",
    "inputs_from_config",
    "matches",
]

Kind = Literal["feed", "govuk_search", "sitemap", "listing", "nice_index"]
SEARCH_FIELDS = (
    "title",
    "link",
    "description",
    "public_timestamp",
    "format",
    "content_store_document_type",
    "organisations",
)


@dataclass(frozen=True)
class SearchQuery:
    """A configured gov.uk Search API query: free text and ``filter_*`` values."""

    q: str | None = None
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    count: int = 100
    order: str = "-public_timestamp"
    fields: tuple[str, ...] = SEARCH_FIELDS


@dataclass(frozen=True)
class DiscoveryInput:
    """One thing to poll for a source; ``target`` is a URL (the API root for searches)."""

    source: str
    kind: Kind
    target: str
    keywords: tuple[str, ...] = ()
    query: SearchQuery | None = None
    prefix: str | None = None
    source_kind: str = "generic"

    @property
    def key(self) -> str:
        extra = repr(self.query) if self.query else ""
        digest = hashlib.sha256(f"{self.kind}|{self.target}|{extra}".encode()).hexdigest()[:24]
        return f"{self.source}:{self.kind}:{digest}"


@dataclass(frozen=True)
class Candidate:
    """A document a listing shows: where, what, and when it last changed (if known)."""

    url: str
    title: str = ""
    updated: datetime | None = None
    summary: str = ""


@dataclass
class PollReport:
    """What one round of discovery did; ``incomplete`` lists inputs read only in part."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    index_changes: int = 0
    not_modified: int = 0
    errors: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)


def inputs_from_config(source: Any) -> list[DiscoveryInput]:
    """Discovery inputs of a :class:`monitor.config.SourceConfig`, in a stable order."""
    kw = tuple(source.keywords)
    out = [
        DiscoveryInput(source.name, "feed", url, kw, source_kind=source.kind)
        for url in source.feeds
    ]
    for s in source.searches:
        query = SearchQuery(q=s.q, filters={k: tuple(v) for k, v in s.filters.items()})
        out.append(
            DiscoveryInput(
                source.name,
                "govuk_search",
                source.search_api,
                tuple(s.keywords),
                query,
                source_kind=source.kind,
            )
        )
    out += [
        DiscoveryInput(
            source.name, "sitemap", url, kw, prefix=source.sitemap_prefix, source_kind=source.kind
        )
        for url in source.sitemaps
    ]
    out += [
        DiscoveryInput(source.name, "listing", url, kw, source_kind=source.kind)
        for url in source.listings
    ]
    out += [
        DiscoveryInput(source.name, "nice_index", url, kw, source_kind=source.kind)
        for url in source.index_feeds
    ]
    return out


def matches(keywords: Sequence[str], *texts: str) -> bool:
    """True when any keyword occurs (case-insensitively) in the texts; no keywords = all."""
    if not keywords:
        return True
    hay = " ".join(texts).lower().replace("-", " ")
    return any(k.lower().replace("-", " ") in hay for k in keywords)
