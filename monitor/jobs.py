"""Scheduled work as data: what the daemon (or a queue worker) runs, and how it runs it.

A :class:`Work` names one unit of work (poll a source's feeds, re-crawl its pages, deliver,
send a digest, check deadlines) and round-trips through JSON, so a queue can carry it.
:func:`perform` runs one inside a process that holds a :class:`Context` (a database, the
config, the crawl's ``fetch``). An :class:`Executor` decides where work runs; the embedded
default, :class:`InProcess`, runs it in this process, one at a time per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select

from monitor.chain import PageOutcome
from monitor.channels import deliver_configured
from monitor.config import Config
from monitor.crawl import Fetch, Stop
from monitor.cycle import CycleReport, run_cycle
from monitor.db import Database
from monitor.discover import discover, discovery_urls
from monitor.fetch import FetchTarget
from monitor.models import StagedEvent, WatchedPage
from monitor.outbox import publish
from monitor.watchlist import (
    allowed_domains,
    configured_normalisers,
    plan_targets,
    source_kinds,
    targets_for,
)

__all__ = ["KINDS", "Context", "Executor", "InProcess", "Work", "perform", "publish_leftovers"]

log = logging.getLogger(__name__)
KINDS = ("discover", "crawl", "deliver", "digest", "deadlines")
PERIODS = ("daily", "weekly")
Summary = dict[str, Any]


@dataclass(frozen=True)
class Work:
    """One unit of scheduled work, JSON-serialisable (a queue's payload)."""

    kind: str  # "discover" | "crawl" | "deliver" | "digest" | "deadlines"
    source: str | None = None  # config source name, for discover/crawl (None: every source)
    urls: tuple[str, ...] = ()  # explicit pages, for crawl (empty: the source's pages)
    period: str | None = None  # "daily" | "weekly", for digest
    since: str | None = None  # ISO date, for deadlines: passed ones that ended before are old

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of work {self.kind!r}; known: {', '.join(KINDS)}")
        if self.kind == "digest" and self.period not in PERIODS:
            raise ValueError(
                f"a digest needs a period ({' or '.join(PERIODS)}), not {self.period!r}"
            )
        if self.since is not None:
            date.fromisoformat(self.since)  # a ValueError names the bad date
        object.__setattr__(self, "urls", tuple(self.urls))

    def key(self) -> str:
        """Stable identity ("crawl:govuk"): one of each key runs at a time, queued at most once."""
        if self.kind == "digest":
            return f"digest:{self.period}"
        if self.kind in ("deliver", "deadlines"):
            return self.kind
        key = f"{self.kind}:{self.source or '*'}"
        if self.urls:
            digest = hashlib.sha256("\n".join(sorted(self.urls)).encode()).hexdigest()[:12]
            key += f":{digest}"
        return key

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.source is not None:
            out["source"] = self.source
        if self.urls:
            out["urls"] = list(self.urls)
        if self.period is not None:
            out["period"] = self.period
        if self.since is not None:
            out["since"] = self.since
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Work:
        unknown = set(data) - {"kind", "source", "urls", "period", "since"}
        if unknown:
            raise ValueError(f"unknown fields in work: {', '.join(sorted(unknown))}")
        return cls(
            kind=data["kind"],
            source=data.get("source"),
            urls=tuple(data.get("urls") or ()),
            period=data.get("period"),
            since=data.get("since"),
        )


@dataclass
class Context:
    """What running work needs; built once per process."""

    db: Database
    config: Config
    fetch: Fetch
    stop: Stop
    pool: futures.Executor | None = None  # CPU pool for the chain (``monitor.worker``)
    on_outcome: Callable[[PageOutcome], None] | None = None
    # the crawl settings ``fetch`` reads; its domain allowlist is widened to discovered pages
    crawl_settings: dict[str, Any] | None = None
    # where follow-up work goes (a delivery right after a cycle wrote events)
    follow_up: Callable[[Work], Awaitable[None]] | None = None


async def perform(work: Work, ctx: Context) -> Summary:
    """Run ``work`` to its end (or to a stop) and return a small JSON summary of it."""
    if ctx.stop.requested:
        return {"skipped": f"stopping ({ctx.stop.reason})"}
    if work.kind == "discover":
        return await _discover(work, ctx)
    if work.kind == "crawl":
        return await _crawl(work, ctx)
    if work.kind == "deliver":
        return await asyncio.to_thread(_deliver, ctx)
    if work.kind == "digest":
        return await asyncio.to_thread(_digest, ctx, work.period or "daily")
    summary = await asyncio.to_thread(_deadlines, ctx, work.since)
    if summary["events"]:
        await _then_deliver(ctx)
    return summary


async def _then_deliver(ctx: Context) -> None:
    if ctx.follow_up is not None and not ctx.stop.requested:
        await ctx.follow_up(Work("deliver"))


def _allow(ctx: Context, urls: Iterable[str]) -> None:
    """Widen the crawl's allowlist to the hosts of ``urls`` (it only ever grows)."""
    if ctx.crawl_settings is None:
        return
    configured = [d for src in ctx.config.sources for d in src.allowed_domains]
    now = ctx.crawl_settings.get("POLICY_MONITOR_ALLOWED_DOMAINS") or []
    ctx.crawl_settings["POLICY_MONITOR_ALLOWED_DOMAINS"] = allowed_domains(
        urls, [*now, *configured]
    )


def _cycle_summary(report: CycleReport, pages: int) -> Summary:
    return {"pages": pages, "counts": dict(report.counts), "events": len(report.events)}


async def _cycle(ctx: Context, targets: list[FetchTarget]) -> CycleReport:
    _allow(ctx, [t.url for t in targets])
    return await run_cycle(
        ctx.fetch, ctx.db, ctx.config, targets, ctx.on_outcome, pool=ctx.pool, stop=ctx.stop
    )


def _targets_for_urls(ctx: Context, urls: Iterable[str]) -> list[FetchTarget]:
    wanted = list(dict.fromkeys(urls))
    with ctx.db.session(readonly=True) as s:
        pages = list(
            s.scalars(
                select(WatchedPage)
                .where(WatchedPage.url.in_(wanted), WatchedPage.active.is_(True))
                .order_by(WatchedPage.id)
            )
        )
        return targets_for(pages, source_kinds(s), configured_normalisers(ctx.config))


def _own_schedule(config: Config, source: str | None) -> set[str]:
    """URLs of the pages that ``schedule:`` on their own (their source's crawl skips them)."""
    sources = [config.source(source)] if source else config.sources
    return {
        u
        for src in sources
        for p in src.pages
        if p.schedule is not None
        for u in (p.url, *p.chapter_urls)
    }


async def _crawl(work: Work, ctx: Context) -> Summary:
    # plan_targets registers the configured pages first: a page's own job may run first
    planned = plan_targets(ctx.db, ctx.config, None, work.source)
    if work.urls:
        wanted = set(work.urls)
        targets = [t for t in planned if t.url in wanted]
    else:  # the source's pages, but those with a schedule of their own
        own = _own_schedule(ctx.config, work.source)
        targets = [t for t in planned if t.url not in own]
    report = await _cycle(ctx, targets)
    if report.events:
        await _then_deliver(ctx)
    return _cycle_summary(report, len(targets))


async def _discover(work: Work, ctx: Context) -> Summary:
    """Poll the inputs, then fetch every page they revealed as new or updated, at once."""
    _allow(ctx, discovery_urls(ctx.config, work.source))
    found = await discover(ctx.fetch, ctx.db, ctx.config, source=work.source)
    for problem in found.errors:
        log.warning("discovery: %s", problem)
    summary: Summary = {
        "added": len(found.added),
        "updated": len(found.updated),
        "unlisted": len(found.unlisted),
        "errors": len(found.errors),
    }
    wrote = bool(found.added or found.unlisted or found.index_changes)
    fresh = list(dict.fromkeys([*found.added, *found.updated]))
    if fresh and not ctx.stop.requested:
        targets = _targets_for_urls(ctx, fresh)
        report = await _cycle(ctx, targets)
        summary |= _cycle_summary(report, len(targets))
        wrote = wrote or bool(report.events)
    if wrote:
        await _then_deliver(ctx)
    return summary


def _deliver(ctx: Context) -> Summary:
    d = deliver_configured(ctx.db, ctx.config)
    return {"routed": d.routed, "sent": d.sent, "retrying": d.retrying, "dead": d.dead}


def _digest(ctx: Context, period: str) -> Summary:
    from monitor.digest_job import run_digest  # it builds the email notifier on demand

    r = run_digest(ctx.db, ctx.config, period)
    return {"period": r.period.label, "sent": r.sent, "empty": r.empty, "already": r.already}


def _deadlines(ctx: Context, since: str | None) -> Summary:
    from monitor.tracking import check_deadlines

    today = datetime.now(UTC).date()
    start = min(date.fromisoformat(since), today) if since else today
    with ctx.db.session() as s:
        events = check_deadlines(s, today, passed_since=start)
    return {"events": len(events), "passed_since": start.isoformat()}


def publish_leftovers(db: Database) -> list[int]:
    """Publish the drafts every unfinished cycle left (a crash mid-cycle); the event ids.

    Only for a process that knows no cycle of its database is running: the daemon holding
    the scheduler lock, before its first job, when it runs the work itself.
    """
    with db.session() as s:
        cycles = list(s.scalars(select(StagedEvent.cycle).distinct().order_by(StagedEvent.cycle)))
        return [event for cycle in cycles for event in publish(s, cycle)]


class Executor(Protocol):
    """Where work runs: in this process, or a queue that workers take it from."""

    async def submit(self, work: Work) -> None: ...


@runtime_checkable
class Drains(Protocol):
    """An executor that can wait for the work it started (the daemon calls it on a stop)."""

    async def drain(self) -> None: ...


Done = Callable[[Work, Summary, float], None]


@dataclass
class InProcess:
    """Runs work here, on the crawl's event loop: one at a time per key.

    A submit while the same key runs asks for one more run after it (never more than one
    waits: repeated asks coalesce). Crawls and discovery of one source take turns, so a page
    is never followed twice at once. An error is logged and summarised; the daemon goes on.
    """

    ctx: Context
    on_done: Done | None = None
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _again: dict[str, Work] = field(default_factory=dict)
    _lanes: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def submit(self, work: Work) -> None:
        key = work.key()
        if key in self._tasks:
            self._again[key] = work
            return
        if self.ctx.stop.requested:
            return
        self._tasks[key] = asyncio.ensure_future(self._run(key, work))

    def running(self) -> list[str]:
        """Keys of the work in progress."""
        return sorted(self._tasks)

    async def drain(self) -> None:
        """Wait for the work in progress (and the reruns it asked for, unless stopping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _run(self, key: str, work: Work) -> None:
        try:
            while True:
                await self._once(work)
                nxt = self._again.pop(key, None)
                if nxt is None or self.ctx.stop.requested:
                    break
                work = nxt
        finally:
            self._tasks.pop(key, None)

    async def _once(self, work: Work) -> None:
        lane = self._lanes.setdefault(f"source:{work.source or '*'}", asyncio.Lock())
        started = time.monotonic()
        exclusive = work.kind in ("discover", "crawl")
        try:
            async with lane if exclusive else contextlib.nullcontext():
                summary = await perform(work, self.ctx)
        except Exception as exc:  # one failed run is reported; the next one is on schedule
            log.exception("%s failed", work.key())
            summary = {"error": f"{type(exc).__name__}: {exc}"}
        if self.on_done is not None:
            self.on_done(work, summary, time.monotonic() - started)
