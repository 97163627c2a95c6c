"""Watched pages the team adds and removes by hand, inside the configured allowlists.

A page added here belongs to a configured source whose ``allowed_domains`` cover its host,
so the next ``check`` (or daemon cycle) of that source crawls it like a configured page.
Pages written in the config file cannot be removed here: the next check would add them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor import watchlist
from monitor.config import Config, SourceConfig
from monitor.db import Database
from monitor.errors import MonitorError
from monitor.models import Source, WatchedPage


class PageError(MonitorError):
    """A page that cannot be added or removed (outside the allowlist, configured, unknown)."""


@dataclass(frozen=True)
class PageRow:
    id: int
    url: str
    title: str | None
    source: str
    configured: bool
    last_checked_at: datetime | None
    last_status: int | None


def _host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PageError(f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password:
        raise PageError("a page URL may not carry a user name or password")
    return parts.hostname.lower()


def _covers(src: SourceConfig, host: str) -> bool:
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in src.allowed_domains)


def source_for(config: Config, url: str, source: str | None = None) -> SourceConfig:
    """The configured source whose allowlist covers ``url`` (the named one, if given)."""
    host = _host(url)
    fits = [s for s in config.sources if s.allowed_domains and _covers(s, host)]
    if source is not None:
        fits = [s for s in fits if s.name == source]
    if not fits:
        domains = sorted({d for s in config.sources for d in s.allowed_domains})
        named = f" of source {source!r}" if source else " of any configured source"
        raise PageError(
            f"{host} is not in the allowed_domains{named} "
            f"(allowed: {', '.join(domains) or 'none configured'})"
        )
    return fits[0]


def _configured(config: Config) -> set[str]:
    return {u for s in config.sources for p in s.pages for u in (p.url, *p.chapter_urls)}


def add_page(
    db: Database, config: Config, url: str, *, source: str | None = None, title: str = ""
) -> PageRow:
    """Watch ``url`` (allowlist enforced); an inactive page of that URL is watched again."""
    url = url.strip()
    if len(url) > 2000:
        raise PageError("a page URL is at most 2000 characters")
    cfg = source_for(config, url, source)
    for attempt in (1, 2):  # two people adding the same URL at once: the second finds it
        try:
            with db.session() as s:
                src = s.scalar(select(Source).where(Source.name == cfg.name))
                if src is None:
                    watchlist.sync_source(s, cfg)
                    src = s.scalar(select(Source).where(Source.name == cfg.name))
                assert src is not None
                (page,) = watchlist.ensure_pages(s, src, [url])
                if title.strip():
                    page.title = title.strip()[:500]
                return _row(page, cfg.name, _configured(config))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def remove_page(db: Database, config: Config, page_id: int) -> str:
    """Stop watching a page added by hand (its history stays); returns its URL."""
    with db.session() as s:
        page = s.get(WatchedPage, page_id)
        if page is None or not page.active:
            raise PageError(f"no watched page {page_id}")
        if page.url in _configured(config):
            raise PageError(f"{page.url} is in the config file; remove it there")
        page.active = False
        return page.url


def list_pages(db: Database, config: Config) -> list[PageRow]:
    """Active pages of the configured sources, by source and URL."""
    names = [s.name for s in config.sources]
    configured = _configured(config)
    stmt = (
        select(WatchedPage, Source.name)
        .join(Source, Source.id == WatchedPage.source_id)
        .where(Source.name.in_(names), WatchedPage.active.is_(True))
        .order_by(Source.name, WatchedPage.url)
    )
    with db.session(readonly=True) as s:
        return [_row(p, name, configured) for p, name in s.execute(stmt)]


def _row(page: WatchedPage, source: str, configured: set[str]) -> PageRow:
    return PageRow(
        page.id, page.url, page.title, source, page.url in configured,
        page.last_checked_at, page.last_status,
    )  # fmt: skip
