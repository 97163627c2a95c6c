"""Atom and RSS feeds read with feedparser: gov.uk finder feeds, NHS England WordPress feeds."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import FetchError

__all__ = ["Feed", "FeedEntry", "FeedError", "entries_since", "parse_feed"]


class FeedError(FetchError):
    """The bytes are not a feed, or are so malformed that no entry could be read."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: its link, title, last update, summary and stable id."""

    url: str
    title: str
    updated: datetime | None
    summary: str
    id: str


@dataclass
class Feed:
    """A parsed feed; ``problem`` describes recoverable malformation (feedparser's bozo)."""

    title: str
    entries: list[FeedEntry] = field(default_factory=list)
    problem: str | None = None


def _when(entry: Any) -> datetime | None:
    for key in ("updated_parsed", "published_parsed", "created_parsed"):
        # dict.get skips feedparser's deprecated updated->published fallback (and its warning)
        value: time.struct_time | None = dict.get(entry, key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _entry(raw: Any, base_url: str) -> FeedEntry | None:
    link = raw.get("link") or ""
    if not link:
        for candidate in raw.get("links", []):
            if candidate.get("href"):
                link = candidate["href"]
                break
    if not link:
        return None
    url = urljoin(base_url, link) if base_url else link
    return FeedEntry(
        url=url,
        title=str(raw.get("title", "")).strip(),
        updated=_when(raw),
        summary=str(raw.get("summary", "")).strip(),
        id=str(raw.get("id") or url),
    )


def _declares_entities(data: bytes) -> bool:
    """True when the document type declares its own entities (feeds never need them)."""
    start = data.find(b"<!DOCTYPE", 0, 65_536)
    if start < 0:
        return False
    end = data.find(b"]>", start)
    return b"<!ENTITY" in data[start : end if end >= 0 else None]


def parse_feed(data: bytes, *, base_url: str = "", content_type: str = "") -> Feed:
    """Parse Atom or RSS bytes; raise FeedError when nothing usable can be read.

    ``content_type`` is the served Content-Type (feeds served as text/html still parse).
    A feed that declares entities is refused before parsing: expat caps their expansion,
    but only after megabytes of text, which cost feedparser seconds (billion laughs).
    External entities and DTDs are never fetched (expat's default).
    """
    if _declares_entities(data):
        raise FeedError(
            f"{base_url or 'feed'}: refused: its DOCTYPE declares entities "
            "(an entity-expansion attack, or a feed no reader needs)"
        )
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(data, response_headers=headers)
    problem = None
    if parsed.bozo:
        problem = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    entries = [e for e in (_entry(raw, base_url) for raw in parsed.entries) if e is not None]
    if problem and not entries:
        raise FeedError(f"{base_url or 'feed'}: not a readable feed ({problem})")
    if not parsed.get("version") and not entries:
        raise FeedError(f"{base_url or 'feed'}: not an Atom or RSS document")
    return Feed(title=str(parsed.feed.get("title", "")), entries=entries, problem=problem)


def entries_since(feed: Feed, since: datetime | None) -> list[FeedEntry]:
    """Entries updated after ``since`` (all entries when ``since`` is None), newest first."""
    chosen = [e for e in feed.entries if since is None or (e.updated and e.updated > since)]
    return sorted(chosen, key=lambda e: e.updated or datetime.min.replace(tzinfo=UTC), reverse=True)
