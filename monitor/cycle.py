"""One check cycle: pick the pages, crawl them, record every result, report outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import tracking
from monitor.change import Analysis
from monitor.config import Config
from monitor.crawl import Fetch
from monitor.db import Database
from monitor.event import emit
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Event, WatchedPage
from monitor.pipeline import PageOutcome, Recorder
from monitor.sitewide import SitewideChange, group_sitewide

OutcomeSink = Callable[[PageOutcome], None]
SITEWIDE_MIN_PAGES = 3


@dataclass
class CycleReport:
    """Counts of page outcomes in one cycle."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[PageOutcome] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.outcomes.append(outcome)


def fold_sitewide(
    session: Session, changed: list[tuple[int, int, Analysis]], min_pages: int = SITEWIDE_MIN_PAGES
) -> list[SitewideChange]:
    """Turn an edit seen on many pages of one site in this cycle into one site-wide event.

    The per-page ``page_changed`` events it covered are still pending (delivery comes after
    the cycle): those left with nothing else are suppressed, the others carry what remains.
    """
    if len(changed) < min_pages:
        return []
    pages = {p.id: p for p in session.scalars(select(WatchedPage).where(
        WatchedPage.id.in_([page_id for page_id, _, _ in changed])))}  # fmt: skip
    items = [
        (urlsplit(pages[pid].url).netloc, pages[pid].url, analysis) for pid, _, analysis in changed
    ]
    wide, per_page = group_sitewide(items, min_pages)
    if not wide:
        return []
    for s in wide:
        emit(
            session,
            "sitewide_change",
            f"sitewide_change:{s.site}:{s.fingerprint}:{min(cid for _, cid, _ in changed)}",
            {
                "site": s.site,
                "title": f"{s.site}: the same edit on {s.pages} pages",
                "summary": f"{s.change.kind} change on {s.pages} pages of {s.site}",
                "change": s.change.to_json() | {"section": s.change.section},
                "pages": s.pages,
                "urls": s.urls[:50],
            },
        )
    for (_, change_id, before), (_, _, after) in zip(changed, per_page, strict=True):
        if after is before:
            continue
        event = session.scalar(
            select(Event).where(Event.change_id == change_id, Event.kind == "page_changed")
        )
        if event is None or event.status != "pending":
            continue
        if not after.meaningful:
            event.status = "suppressed"
            event.last_error = "covered by a site-wide change"
        else:
            event.payload = {
                **event.payload,
                "summary": after.summary,
                "significance": after.significance,
                "changes": [c.to_json() | {"section": c.section} for c in after.changes],
            }
    session.flush()
    return wide


COMMITMENT_EVENTS = ("funding_changed", "deadline_changed", "target_changed", "status_suggested")


def one_commitment_alert_per_edit(session: Session, change_ids: list[int]) -> None:
    """The same edit to the same commitment seen on several pages is one alert, not one each."""
    stmt = (
        select(Event)
        .where(
            Event.change_id.in_(change_ids),
            Event.kind.in_(COMMITMENT_EVENTS),
            Event.status == "pending",
        )
        .order_by(Event.id)
    )
    first: dict[tuple[object, ...], Event] = {}
    for event in session.scalars(stmt):
        p = event.payload
        key = (event.kind, p.get("commitment_id"), p.get("before"), p.get("after"))
        if key not in first:
            first[key] = event
            continue
        event.status = "suppressed"
        event.last_error = f"same edit as event {first[key].id}"
        also = [*first[key].payload.get("also_on", []), p.get("page_url")]
        first[key].payload = {**first[key].payload, "also_on": also}


async def run_cycle(
    fetch: Fetch,
    db: Database,
    config: Config,
    targets: list[FetchTarget],
    on_outcome: OutcomeSink | None = None,
    *,
    pool: Executor | None = None,
) -> CycleReport:
    """Fetch ``targets`` and record the results; every target yields exactly one outcome.

    Fetching and database writes stay on this thread; normalising and diffing go to a pool
    of processes when one is given (see :func:`monitor.worker.make_pool`), else inline.
    """
    configured = [d for src in config.sources for d in src.allowed_domains]
    recorder = Recorder(
        db,
        failures_before_removed=config.fetch.failures_before_removed,
        allowed_domains=configured,
        on_change=tracking.cycle_hook(),
    )
    report = CycleReport()
    seen: set[str] = set()
    tasks: set[asyncio.Task[None]] = set()

    async def record(result: FetchResult) -> None:
        outcome = await recorder.record_async(result, pool)
        report.add(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def sink(result: FetchResult) -> asyncio.Task[None]:
        seen.add(result.target.url)
        task = asyncio.ensure_future(record(result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    try:
        await fetch(targets, sink)
        for target in targets:  # a request dropped without a callback is still an error
            if target.url not in seen:
                sink(FetchResult(target=target, error="not fetched (filtered or dropped)"))
        while tasks:
            await asyncio.gather(*list(tasks))
        fold_sitewide(recorder.session, recorder.changed)
        one_commitment_alert_per_edit(recorder.session, [cid for _, cid, _ in recorder.changed])
    finally:
        recorder.close()
    return report
