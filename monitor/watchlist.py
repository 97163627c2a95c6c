"""The watch list: sources and pages from the config or a URL file, kept in the database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from monitor import govuk
from monitor.addresses import url_problem
from monitor.attachments import is_attachment
from monitor.config import Config, SourceConfig
from monitor.db import Database
from monitor.errors import InputError
from monitor.fetch import FetchTarget
from monitor.govuk import GOVUK_HOSTS
from monitor.models import Source, WatchedPage

ADHOC_SOURCE = "adhoc"
CHUNK = 500  # URLs per IN (...) query when a URL list is registered and planned


class PageColumns(Protocol):
    """What a fetch target needs of a page: a ``WatchedPage`` or a row of these columns."""

    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def source_id(self) -> int | None: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


_TARGET_COLUMNS = (
    WatchedPage.id,
    WatchedPage.url,
    WatchedPage.source_id,
    WatchedPage.etag,
    WatchedPage.last_modified,
)


def read_url_file(path: str | Path) -> list[str]:
    """Read one URL per line; blank lines and ``#`` comments are skipped."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read URL list: {exc}") from exc
    urls = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(("http://", "https://")):
            raise InputError(f"{p}:{n}: not an http(s) URL: {line[:100]!r}")
        problem = url_problem(line)
        if problem:
            raise InputError(f"{p}:{n}: cannot fetch {line[:100]!r}: {problem}")
        urls.append(line)
    return urls


def _source(session: Session, name: str, kind: str = "generic") -> Source:
    src = session.scalar(select(Source).where(Source.name == name))
    if src is None:
        src = Source(name=name, kind=kind)
        session.add(src)
        session.flush()
    elif src.kind != kind:
        src.kind = kind
    return src


def ensure_pages(session: Session, source: Source, urls: Iterable[str]) -> list[WatchedPage]:
    """Upsert pages by URL (in bulk: one query for the existing ones)."""
    wanted = list(dict.fromkeys(urls))
    existing = (
        {p.url: p for p in session.scalars(select(WatchedPage).where(WatchedPage.url.in_(wanted)))}
        if len(wanted) <= 5000
        else {p.url: p for p in session.scalars(select(WatchedPage))}
    )
    pages = []
    for url in wanted:
        page = existing.get(url)
        if page is None:
            page = WatchedPage(url=url, source_id=source.id, active=True, consecutive_failures=0)
            session.add(page)
        elif not page.active:
            page.active = True
        pages.append(page)
    session.flush()
    return pages


def sync_source(session: Session, cfg: SourceConfig) -> list[WatchedPage]:
    """Make the database hold this source and its configured pages."""
    src = _source(session, cfg.name, cfg.kind)
    urls = [u for p in cfg.pages for u in (p.url, *p.chapter_urls)]
    pages = ensure_pages(session, src, urls)
    titles = {p.url: p.title for p in cfg.pages if p.title}
    for page in pages:
        if page.url in titles:
            page.title = titles[page.url]
    return pages


def sync_config(session: Session, config: Config) -> None:
    for src in config.sources:
        sync_source(session, src)


def adhoc_pages(session: Session, urls: list[str]) -> list[WatchedPage]:
    """Pages given on the command line belong to a source named after the list."""
    return ensure_pages(session, _source(session, ADHOC_SOURCE), urls)


def _content_api_url(url: str) -> str | None:
    """Pages of a gov.uk source are read through the Content API of the host they are on."""
    if is_attachment(url):
        return None
    host = (urlsplit(url).hostname or "").lower()
    return govuk.fetch_url_for(url, hosts=(*GOVUK_HOSTS, host))


def configured_normalisers(config: Config) -> dict[str, str]:
    """Page URL -> normaliser named in the config (a page's own, else its source's)."""
    out: dict[str, str] = {}
    for src in config.sources:
        for page in src.pages:
            name = page.normaliser or src.normaliser
            if name:
                out.update(dict.fromkeys([page.url, *page.chapter_urls], name))
    return out


def targets_for(
    pages: Iterable[PageColumns],
    kinds: dict[int, str] | None = None,
    normalisers: dict[str, str] | None = None,
) -> list[FetchTarget]:
    """Fetch targets carrying each page's validators for conditional requests."""
    kinds = kinds or {}
    normalisers = normalisers or {}
    targets = []
    for p in pages:
        kind = kinds.get(p.source_id or 0, "generic")
        targets.append(
            FetchTarget(
                url=p.url,
                page_id=p.id,
                kind=kind,
                fetch_url=_content_api_url(p.url) if kind == "govuk" else None,
                etag=p.etag,
                last_modified=p.last_modified,
                normaliser=normalisers.get(p.url),
            )
        )
    return targets


def source_kinds(session: Session) -> dict[int, str]:
    return {s.id: s.kind for s in session.scalars(select(Source))}


def allowed_domains(urls: Iterable[str], configured: Iterable[str] = ()) -> list[str]:
    """The crawl allowlist: configured domains plus the hosts of the pages we were given."""
    hosts = {urlsplit(u).hostname or "" for u in urls}
    return sorted({*configured, *(h for h in hosts if h)})


def plan_targets(
    db: Database, config: Config, urls_file: str | None, source: str | None
) -> list[FetchTarget]:
    """Register the pages to check and return their fetch targets.

    Pages are read as the few columns a target needs, never as ORM objects, so memory grows
    by one small target a page and not by a loaded ``WatchedPage`` (measured in
    ``docs/benchmarks.md``).
    """
    with db.session() as s:
        if urls_file:
            urls = list(dict.fromkeys(read_url_file(urls_file)))
            register_urls(s, _source(s, ADHOC_SOURCE), urls)
            pages: Iterable[PageColumns] = _rows_in_order(s, urls)
        else:
            sync_config(s, config)
            wanted = [config.source(source)] if source else config.sources
            names = [w.name for w in wanted]
            stmt = (
                select(*_TARGET_COLUMNS)
                .join(Source, Source.id == WatchedPage.source_id)
                .where(Source.name.in_(names), WatchedPage.active.is_(True))
                .order_by(WatchedPage.id)
            )
            pages = s.execute(stmt)
        return targets_for(pages, source_kinds(s), configured_normalisers(config))


def register_urls(session: Session, source: Source, urls: Sequence[str]) -> None:
    """Add the URLs not yet watched (to ``source``) and reactivate inactive ones, in chunks.

    The same outcome as :func:`ensure_pages` without loading a ``WatchedPage`` object.
    """
    for chunk in _chunks(urls):
        stmt = select(WatchedPage.url, WatchedPage.active).where(WatchedPage.url.in_(chunk))
        known = {url: active for url, active in session.execute(stmt)}
        fresh = [
            {"url": u, "source_id": source.id, "active": True, "consecutive_failures": 0}
            for u in chunk
            if u not in known
        ]
        if fresh:
            session.execute(insert(WatchedPage), fresh)
        idle = [u for u, active in known.items() if not active]
        if idle:
            session.execute(
                update(WatchedPage)
                .where(WatchedPage.url.in_(idle))
                .values(active=True)
                .execution_options(synchronize_session=False)
            )


def _rows_in_order(session: Session, urls: Sequence[str]) -> Iterator[PageColumns]:
    """The target columns of these pages, in the order of ``urls``, a chunk at a time."""
    for chunk in _chunks(urls):
        rows = session.execute(select(*_TARGET_COLUMNS).where(WatchedPage.url.in_(chunk)))
        found = {r.url: r for r in rows}
        yield from (found[u] for u in chunk)


def last_checked(db: Database, names: Iterable[str]) -> dict[str, datetime | None]:
    """When each source's pages were last checked (the latest of them), by source name."""
    wanted = list(names)
    with db.session(readonly=True) as s:
        rows = s.execute(
            select(Source.name, func.max(WatchedPage.last_checked_at))
            .join(WatchedPage, WatchedPage.source_id == Source.id)
            .where(Source.name.in_(wanted))
            .group_by(Source.name)
        ).all()
    found = {name: when for name, when in rows}
    return {name: found.get(name) for name in wanted}
