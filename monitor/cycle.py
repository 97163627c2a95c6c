"""One check cycle: pick the pages, crawl them, record every result, report outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from monitor import tracking
from monitor.config import Config
from monitor.crawl import Fetch
from monitor.db import Database
from monitor.fetch import FetchResult, FetchTarget
from monitor.pipeline import PageOutcome, Recorder
from monitor.watchlist import allowed_domains
from watchers.discovery import PollReport, inputs_from_config, poll
from watchers.http import Fetcher, policy_from_config

OutcomeSink = Callable[[PageOutcome], None]


@dataclass
class CycleReport:
    """Counts of page outcomes in one cycle."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[PageOutcome] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.outcomes.append(outcome)


def discover(db: Database, config: Config) -> PollReport:
    """Poll every source's feeds, searches, sitemaps and listings; new matches become watched."""
    inputs = [i for src in config.sources for i in inputs_from_config(src)]
    if not inputs:
        return PollReport()
    urls = [i.target for i in inputs] + [p.url for s in config.sources for p in s.pages]
    configured = [d for s in config.sources for d in s.allowed_domains]
    fetcher = Fetcher(policy_from_config(config.fetch, allowed_domains(urls, configured)))
    return poll(db, inputs, fetcher)


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
    finally:
        recorder.close()
    return report
