"""Discovery: poll feeds, Search API queries, sitemaps, listings and NICE index data.

Each input remembers what it saw (``poll_state``). The first poll of an input only sets
that baseline; later polls add newly listed documents matching the keywords as watched
pages (``page_new``), report watched pages that vanished from a listing (``page_removed``)
and turn NICE index differences into ``guidance_changed`` events.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.errors import FetchError
from monitor.outbox import emit
from monitor.models import Source, WatchedPage
from monitor.models.source_state import PollState
from watchers import nhse
from watchers.feeds import parse_feed
from watchers.govuk_search import SEARCH_URL, SearchQuery, hits_since
from watchers.http import Fetcher, FetchResult
from watchers.nice_index import (
    ProductStatus,
    diff_index,
    parse_indev_projects,
    parse_products_lite,
    parse_search_listing,
)
from watchers.sitemap import parse_sitemap

__all__ = ["Candidate", "DiscoveryInput", "PollReport", "inputs_from_config", "poll"]

log = logging.getLogger(__name__)
Kind = Literal["feed", "govuk_search", "sitemap", "listing", "nice_index"]
MAX_SEEN = 5000
MAX_CHILD_SITEMAPS = 20


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
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    index_changes: int = 0
    not_modified: int = 0
    errors: list[str] = field(default_factory=list)


def inputs_from_config(source: Any, *, search_base: str | None = None) -> list[DiscoveryInput]:
    """Discovery inputs of a :class:`monitor.config.SourceConfig` (feeds, searches, sitemaps)."""
    search_base = search_base or getattr(source, "search_api", None) or SEARCH_URL
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
                search_base,
                tuple(s.keywords),
                query,
                source_kind=source.kind,
            )
        )
    prefix = getattr(source, "sitemap_prefix", None)
    out += [
        DiscoveryInput(source.name, "sitemap", url, kw, prefix=prefix, source_kind=source.kind)
        for url in source.sitemaps
    ]
    out += [
        DiscoveryInput(source.name, "listing", url, kw, source_kind=source.kind)
        for url in getattr(source, "listings", [])
    ]
    out += [
        DiscoveryInput(source.name, "nice_index", url, kw, source_kind=source.kind)
        for url in getattr(source, "index_feeds", [])
    ]
    return out


def matches(keywords: Sequence[str], *texts: str) -> bool:
    """True when any keyword occurs (case-insensitively) in the texts; no keywords = all."""
    if not keywords:
        return True
    hay = " ".join(texts).lower().replace("-", " ")
    return any(k.lower().replace("-", " ") in hay for k in keywords)


def _aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _state(session: Session, inp: DiscoveryInput) -> PollState:
    st = session.scalar(select(PollState).where(PollState.key == inp.key))
    if st is None:
        st = PollState(
            key=inp.key,
            source=inp.source,
            kind=inp.kind,
            target=inp.target[:2000],
            seen=[],
            consecutive_failures=0,
        )
        session.add(st)
        session.flush()
    return st


def _source_id(session: Session, inp: DiscoveryInput) -> int:
    src = session.scalar(select(Source).where(Source.name == inp.source))
    if src is None:
        src = Source(name=inp.source, kind=inp.source_kind)
        session.add(src)
        session.flush()
    return src.id


def _fetch(fetcher: Fetcher, st: PollState, url: str) -> FetchResult:
    res = fetcher.get(url, etag=st.etag, last_modified=st.last_modified)
    if not res.ok and not res.not_modified:
        raise FetchError(f"{url}: HTTP {res.status}")
    return res


def _sitemap_urls(fetcher: Fetcher, body: bytes, prefix: str | None) -> list[Candidate]:
    sm = parse_sitemap(body)
    urls = [u.loc for u in sm.urls]
    for child in sm.sitemaps[:MAX_CHILD_SITEMAPS]:
        res = fetcher.get(child)
        if res.ok:
            urls += [u.loc for u in parse_sitemap(res.body).urls]
    return [Candidate(u) for u in urls if prefix is None or u.startswith(prefix)]


def _index(body: bytes) -> list[ProductStatus]:
    if b'"Products"' in body[:4096] or b"product-list-lite" in body[:4096]:
        return list(parse_products_lite(body).values())
    if b'"documents"' in body:
        return parse_search_listing(body)
    return parse_indev_projects(body)


def _add_page(session: Session, inp: DiscoveryInput, c: Candidate, report: PollReport) -> None:
    existing = session.scalar(select(WatchedPage).where(WatchedPage.url == c.url))
    if existing is not None:
        report.updated.append(c.url)
        return
    page = WatchedPage(
        url=c.url,
        title=(c.title or None) and c.title[:500],
        source_id=_source_id(session, inp),
        active=True,
        consecutive_failures=0,
    )
    session.add(page)
    session.flush()
    payload = {
        "url": c.url,
        "title": c.title,
        "source": inp.source,
        "via": inp.kind,
        "updated": c.updated.isoformat() if c.updated else None,
    }
    emit(session, "page_new", f"page_new:{c.url}", payload, page_id=page.id)
    report.added.append(c.url)


def _unlisted(
    session: Session, inp: DiscoveryInput, urls: Iterable[str], report: PollReport, now: datetime
) -> None:
    for url in urls:
        page = session.scalar(select(WatchedPage).where(WatchedPage.url == url))
        if page is None:
            continue
        payload = {
            "url": url,
            "source": inp.source,
            "via": inp.kind,
            "listing": inp.target,
            "reason": "no longer listed",
            "at": now.isoformat(),
        }
        emit(session, "page_removed", f"unlisted:{inp.key}:{url}", payload, page_id=page.id)
        report.unlisted.append(url)


def _poll_index(
    session: Session,
    inp: DiscoveryInput,
    st: PollState,
    body: bytes,
    report: PollReport,
    baseline: bool,
) -> None:
    current = _index(body)
    old = [ProductStatus(*row) for row in st.seen] if not baseline else current
    for ch in diff_index(old, current):
        if ch.kind == "new":
            prod = next(p for p in current if p.id == ch.id)
            if matches(inp.keywords, prod.title, prod.id):
                _add_page(session, inp, Candidate(prod.url, prod.title), report)
        payload = {
            "product": ch.id,
            "change": ch.kind,
            "old": ch.old,
            "new": ch.new,
            "title": ch.title,
            "source": inp.source,
            "index": inp.target,
        }
        emit(session, "guidance_changed", f"nice:{ch.id}:{ch.kind}:{ch.old}->{ch.new}", payload)
        report.index_changes += 1
    st.seen = [list(p.__dict__.values()) for p in current]


def _candidates(
    fetcher: Fetcher, inp: DiscoveryInput, st: PollState, res: FetchResult | None
) -> list[Candidate]:
    if inp.kind == "govuk_search":
        assert inp.query is not None
        since = _aware(st.high_water)
        hits = hits_since(
            fetcher, inp.query, since, base=inp.target, max_pages=1 if since is None else 5
        )
        return [Candidate(h.link, h.title, h.public_timestamp, h.description) for h in hits]
    assert res is not None
    if inp.kind == "feed":
        feed = parse_feed(res.body, base_url=res.final_url, content_type=res.content_type)
        return [Candidate(e.url, e.title, e.updated, e.summary) for e in feed.entries]
    if inp.kind == "sitemap":
        return _sitemap_urls(fetcher, res.body, inp.prefix)
    items = nhse.parse_listing(res.body, res.final_url)
    return [
        Candidate(i.url, i.title)
        for i in items
        if inp.prefix is None or i.url.startswith(inp.prefix)
    ]


def _poll_one(
    session: Session, fetcher: Fetcher, inp: DiscoveryInput, report: PollReport, now: datetime
) -> None:
    st = _state(session, inp)
    baseline = st.polled_at is None
    res = None
    if inp.kind != "govuk_search":
        res = _fetch(fetcher, st, inp.target)
        st.last_status = res.status
        if res.not_modified:
            report.not_modified += 1
            return
        st.etag, st.last_modified = res.etag, res.last_modified
    if inp.kind == "nice_index":
        assert res is not None
        _poll_index(session, inp, st, res.body, report, baseline)
        return
    found = _candidates(fetcher, inp, st, res)
    seen = set(st.seen)
    high_water = _aware(st.high_water)
    listing = inp.kind in ("sitemap", "listing")
    for c in found:
        newer = c.updated is not None and high_water is not None and c.updated > high_water
        if baseline or not (c.url not in seen or newer):
            continue
        if matches(inp.keywords, c.title, c.summary, c.url):
            _add_page(session, inp, c, report)
    current = [c.url for c in found]
    if listing and not baseline:
        _unlisted(session, inp, seen - set(current), report, now)
    stamps = [c.updated for c in found if c.updated] + ([high_water] if high_water else [])
    st.high_water = max(stamps) if stamps else high_water
    st.seen = current if listing else list(dict.fromkeys(current + list(st.seen)))[:MAX_SEEN]


def poll(
    db: Database, inputs: Sequence[DiscoveryInput], fetcher: Fetcher, *, now: datetime | None = None
) -> PollReport:
    """Poll every input once, each in its own transaction; errors are reported, not raised."""
    now = now or datetime.now(UTC)
    report = PollReport()
    for inp in inputs:
        try:
            with db.session() as session:
                _poll_one(session, fetcher, inp, report, now)
                st = _state(session, inp)
                st.polled_at, st.last_error, st.consecutive_failures = now, None, 0
        except Exception as exc:  # one broken input (fetch, parse, database) never stops the rest
            if not isinstance(exc, FetchError):
                log.exception("discovery input %s failed", inp.key)
            report.errors.append(f"{inp.source} {inp.kind} {inp.target}: {exc}")
            with db.session() as session:
                st = _state(session, inp)
                st.last_error = str(exc)[:2000]
                st.consecutive_failures += 1
    return report
