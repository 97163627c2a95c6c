"""Discovery: poll feeds, Search API queries, sitemaps, listings and NICE index data.

The runner reads every input's poll state in one short transaction, fetches through the
crawl with no transaction open (Search API pages and sitemap children take further
rounds), parses with the pure ``watchers``, and writes what each input revealed in one
short transaction per input. The first poll of an input only records a baseline; later
polls add newly listed documents matching the keywords as watched pages (``page_new``),
report watched pages that left a complete listing (``page_removed``) and turn NICE index
differences into ``guidance_changed`` events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import entry_times, settings
from monitor.config import Config
from monitor.crawl import Fetch
from monitor.db import Database
from monitor.errors import FetchError
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Source, WatchedPage
from monitor.models.source_state import PollState
from monitor.outbox import emit
from monitor.polling import Candidate, DiscoveryInput, PollReport, inputs_from_config, matches
from watchers import nhse
from watchers.feeds import parse_feed
from watchers.govuk_search import hits_since, next_page_url, parse_search, search_url
from watchers.nice_index import ProductStatus, diff_index, parse_index
from watchers.sitemap import parse_sitemap

__all__ = ["discover", "discovery_urls"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Before:
    """An input's poll state as read before fetching."""

    etag: str | None = None
    last_modified: str | None = None
    high_water: datetime | None = None
    seen: tuple[object, ...] = ()
    baseline: bool = True
    stamps: dict[str, str] = field(default_factory=dict)  # URL -> its entry time last seen


@dataclass
class _Poll:
    """One input's poll in progress: what came back, what it listed, what failed."""

    inp: DiscoveryInput
    before: _Before
    status: int | None = None
    validators: tuple[str | None, str | None] = (None, None)
    not_modified: bool = False
    error: str | None = None  # nothing usable came back: only the failure is recorded
    missing: list[str] = field(default_factory=list)  # parts of a listing not read
    found: list[Candidate] = field(default_factory=list)
    index: list[ProductStatus] | None = None
    search_start: int = 0
    search_pages: int = 0

    @property
    def since(self) -> datetime | None:
        return self.before.high_water


def _aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def discovery_urls(config: Config, source: str | None = None) -> list[str]:
    """Every URL discovery starts from (for the crawl's allowlist)."""
    sources = [config.source(source)] if source else config.sources
    return [i.target for s in sources for i in inputs_from_config(s)]


def _read(session: Session, inputs: list[DiscoveryInput]) -> list[_Poll]:
    keys = [i.key for i in inputs]
    states = {s.key: s for s in session.scalars(select(PollState).where(PollState.key.in_(keys)))}
    polls = []
    for inp in inputs:
        st = states.get(inp.key)
        before = (
            _Before()
            if st is None
            else _Before(
                st.etag,
                st.last_modified,
                _aware(st.high_water),
                tuple(st.seen or ()),
                st.polled_at is None,
                dict(st.stamps or {}),
            )
        )
        polls.append(_Poll(inp, before))
    return polls


def _first(poll: _Poll) -> FetchTarget:
    inp = poll.inp
    if inp.kind == "govuk_search":
        assert inp.query is not None
        url = search_url(inp.query, since=poll.since, base=inp.target)
        return FetchTarget(url=url, source=inp.source, kind="discovery")
    b = poll.before
    return FetchTarget(
        url=inp.target,
        source=inp.source,
        kind="discovery",
        etag=b.etag,
        last_modified=b.last_modified,
    )


def _failure(result: FetchResult) -> str:
    return f"{result.target.url}: {result.error or f'HTTP {result.status}'}"


def _take_sitemap_child(poll: _Poll, result: FetchResult) -> None:
    if not result.ok or result.body is None:
        poll.missing.append(_failure(result))
        return
    try:
        child = parse_sitemap(result.body)
    except FetchError as exc:
        poll.missing.append(f"{result.target.url}: {exc}")
        return
    if child.sitemaps:
        poll.missing.append(f"{result.target.url}: a nested sitemap index is not read")
    poll.found += [Candidate(u.loc) for u in child.urls]


def _take(poll: _Poll, result: FetchResult) -> list[FetchTarget]:
    """Read one fetched body into ``poll``; return what must be fetched next for it."""
    inp = poll.inp
    child = inp.kind == "sitemap" and result.target.url != inp.target
    if child:
        _take_sitemap_child(poll, result)
        return []
    poll.status = result.status or None
    if result.not_modified:
        poll.not_modified = True
        return []
    if not result.ok or result.body is None:
        poll.error = _failure(result)
        return []
    body, url = result.body, result.final_url or result.target.request_url
    if inp.kind != "govuk_search":
        poll.validators = (result.etag, result.last_modified)
    if inp.kind == "feed":
        feed = parse_feed(body, base_url=url, content_type=result.content_type)
        poll.found += [Candidate(e.url, e.title, e.updated, e.summary) for e in feed.entries]
    elif inp.kind == "listing":
        poll.found += [Candidate(i.url, i.title) for i in nhse.parse_listing(body, url)]
    elif inp.kind == "nice_index":
        poll.index = parse_index(body)
    elif inp.kind == "sitemap":
        sm = parse_sitemap(body)
        if sm.sitemaps:  # an index may stay the same while its children change
            poll.validators = (None, None)
        poll.found += [Candidate(u.loc) for u in sm.urls]
        children = sm.sitemaps[: settings.MAX_CHILD_SITEMAPS]
        if len(sm.sitemaps) > len(children):
            poll.missing.append(f"{inp.target}: only {len(children)} of {len(sm.sitemaps)} read")
        return [FetchTarget(url=c, source=inp.source, kind="discovery") for c in children]
    else:  # govuk_search
        assert inp.query is not None
        page = parse_search(body)
        hits, reached_older = hits_since(page, inp.query, poll.since)
        if poll.since is not None:  # times are to the second: the per-URL stamps decide
            hits += [
                h for h in page.hits if entry_times.same_second(h.public_timestamp, poll.since)
            ]
        poll.found += [Candidate(h.link, h.title, h.public_timestamp, h.description) for h in hits]
        poll.search_pages += 1
        limit = 1 if poll.since is None else settings.MAX_SEARCH_PAGES
        following = next_page_url(inp.query, page, poll.search_start, poll.since, base=inp.target)
        if following and not reached_older and poll.search_pages < limit:
            poll.search_start += len(page.hits)
            return [FetchTarget(url=following, source=inp.source, kind="discovery")]
    return []


def _advance(poll: _Poll, result: FetchResult) -> list[FetchTarget]:
    try:
        return _take(poll, result)
    except Exception as exc:  # one broken input (parse or bug) never stops the rest
        if not isinstance(exc, FetchError):
            log.exception("discovery input %s failed", poll.inp.key)
        poll.error = f"{result.target.url}: {exc}"
        return []


async def _fetch_round(fetch: Fetch, targets: list[FetchTarget]) -> list[FetchResult]:
    got: dict[int, FetchResult] = {}

    def sink(result: FetchResult) -> None:
        got[id(result.target)] = result

    await fetch(targets, sink)
    missing = "not fetched (filtered or dropped)"
    return [got.get(id(t)) or FetchResult(target=t, error=missing) for t in targets]


async def discover(
    fetch: Fetch,
    db: Database,
    config: Config,
    *,
    source: str | None = None,
    now: datetime | None = None,
) -> PollReport:
    """Poll every discovery input of the config (or of one source) once; errors are reported."""
    sources = [config.source(source)] if source else config.sources
    inputs = [i for s in sources for i in inputs_from_config(s)]
    report = PollReport()
    if not inputs:
        return report
    with db.session() as session:
        polls = _read(session, inputs)
    todo = [(poll, _first(poll)) for poll in polls]
    while todo:
        results = await _fetch_round(fetch, [t for _, t in todo])
        todo = [
            (poll, nxt)
            for (poll, _), result in zip(todo, results, strict=True)
            for nxt in _advance(poll, result)
        ]
    when = now or datetime.now(UTC)
    for poll in polls:
        try:
            with db.session() as session:
                _write(session, poll, report, when)
        except Exception as exc:  # a database problem with one input is reported, not raised
            log.exception("discovery input %s could not be recorded", poll.inp.key)
            report.errors.append(f"{_label(poll)}: {exc}")
    return report


def _label(poll: _Poll) -> str:
    return f"{poll.inp.source} {poll.inp.kind} {poll.inp.target}"


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


def _write(session: Session, poll: _Poll, report: PollReport, now: datetime) -> None:
    """Record one input's poll: its state, new pages and events, in the caller's transaction."""
    st = _state(session, poll.inp)
    if poll.status is not None:
        st.last_status = poll.status
    if poll.error is not None:
        report.errors.append(f"{_label(poll)}: {poll.error}")
        st.last_error = poll.error[:2000]
        st.consecutive_failures += 1
        return
    if poll.not_modified:
        report.not_modified += 1
    elif poll.index is not None:
        _record_index(session, poll, st, report)
    else:
        _record_listing(session, poll, st, report, now)
    if poll.missing:
        problem = "incomplete, nothing removed: " + "; ".join(poll.missing)
        report.errors.append(f"{_label(poll)}: {problem}")
        report.incomplete.append(poll.inp.target)
        st.last_error = problem[:2000]
        st.consecutive_failures += 1
        # No validators: the next poll reads the whole listing again instead of a 304.
        st.etag = st.last_modified = None
        if poll.before.baseline:
            return  # a baseline is only taken from a complete listing
    else:
        if not poll.not_modified:
            st.etag, st.last_modified = poll.validators
        st.last_error, st.consecutive_failures = None, 0
    st.polled_at = now


def _record_listing(
    session: Session, poll: _Poll, st: PollState, report: PollReport, now: datetime
) -> None:
    inp, before = poll.inp, poll.before
    found = [c for c in poll.found if inp.prefix is None or c.url.startswith(inp.prefix)]
    seen = {str(u) for u in before.seen}
    high_water = before.high_water
    listing = inp.kind in ("sitemap", "listing")
    stamps = dict(before.stamps)
    acted: set[str] = set()
    for c in found:
        fresh = c.url not in seen or entry_times.updated(
            c.url, c.updated, before.stamps, high_water
        )
        entry_times.remember(stamps, c.url, c.updated)
        if before.baseline or not fresh or c.url in acted:
            continue
        acted.add(c.url)
        if _watched(session, c.url):  # keywords pick new pages; a watched one is fetched
            report.updated.append(c.url)
        elif matches(inp.keywords, c.title, c.summary, c.url):
            _add_page(session, inp, c, report)
    current = list(dict.fromkeys(c.url for c in found))
    if listing and not before.baseline and not poll.missing:
        _unlisted(session, inp, sorted(seen - set(current)), report, now)
    times = [c.updated for c in found if c.updated] + ([high_water] if high_water else [])
    st.high_water = max(times) if times else high_water
    if listing and not poll.missing:
        st.seen = current
    else:  # feeds and searches remember recent URLs; a partial listing forgets none
        st.seen = list(dict.fromkeys([*current, *map(str, before.seen)]))[: settings.MAX_SEEN]
    kept = {str(u) for u in st.seen}
    st.stamps = {u: t for u, t in stamps.items() if u in kept} or None


def _record_index(session: Session, poll: _Poll, st: PollState, report: PollReport) -> None:
    inp = poll.inp
    current = poll.index or []
    rows: list[list[str | None]] = [list(r) for r in poll.before.seen if isinstance(r, list)]
    old = current if poll.before.baseline else [ProductStatus(*row) for row in rows]  # type: ignore[arg-type]
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


def _source_id(session: Session, inp: DiscoveryInput) -> int:
    src = session.scalar(select(Source).where(Source.name == inp.source))
    if src is None:
        src = Source(name=inp.source, kind=inp.source_kind)
        session.add(src)
        session.flush()
    return src.id


def _watched(session: Session, url: str) -> bool:
    return session.scalar(select(WatchedPage.id).where(WatchedPage.url == url)) is not None


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
