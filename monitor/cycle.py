"""One check cycle: fetch the pages, follow each through the chain, then publish events.

Per page: load its state (a short transaction), follow it (``monitor.chain.follow``: the CPU
step in a process pool when there is one), save the result (another short transaction).
Files linked from the pages are fetched in a further round of the same cycle, so their
first version is the baseline. When every page is in, what spans pages is decided and
every event is written once (``monitor.outbox.publish``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor import metrics, outbox, settings, store
from monitor.chain import PageOutcome, PageResult, follow, job_for
from monitor.config import Config
from monitor.crawl import Fetch, Stop
from monitor.db import Database
from monitor.errors import DatabaseError, PageTooComplex
from monitor.evidence import Registry
from monitor.fetch import FetchResult, FetchTarget
from monitor.worker import PageWork, run_job

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
OutcomeSink = Callable[[PageOutcome], None]
ATTACHMENT_ROUNDS = 2  # fetch rounds after the first, for files newly found on the pages


@dataclass
class CycleReport:
    """The page outcomes of one cycle and the events it wrote."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[PageOutcome] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.outcomes.append(outcome)


class Cycle:
    """Records fetch results for one cycle; :meth:`finish` publishes its events."""

    def __init__(
        self,
        db: Database,
        *,
        registry: Registry | None = None,
        allowed_domains: list[str] | tuple[str, ...] = (),
        failures_before_removed: int = settings.FAILURES_BEFORE_REMOVED,
        failures_before_error: int = settings.FAILURES_BEFORE_ERROR,
        pool: Executor | None = None,
        load_registry: bool = True,
    ) -> None:
        self.db = db
        self.id = uuid.uuid4().hex
        self.pool = pool
        self.allowed_domains = tuple(allowed_domains)
        self.failures_before_removed = failures_before_removed
        self.failures_before_error = failures_before_error
        if registry is None and load_registry:
            with db.session() as s:
                registry = store.load_registry(s)
        self.registry = registry
        self.report = CycleReport()
        self.found: list[FetchTarget] = []  # attachments to fetch in a later round
        self.fatal: DatabaseError | None = None  # the database took no writes: stop the cycle

    def record(self, result: FetchResult) -> PageOutcome:
        """Follow and save one result, doing the CPU work here."""
        return self._save(result, lambda state: self._follow(result, state, None))

    async def record_async(self, result: FetchResult) -> PageOutcome:
        """Follow and save one result, the CPU work in the pool while the crawl goes on."""
        try:
            state = self.db.retrying(lambda s: store.load_state(s, result))
            job = job_for(result, state)
            try:
                work = await run_job(self.pool, job) if job is not None else None
            except PageTooComplex:
                work = None  # refused within a bound; follow() records a failed check
        except Exception as exc:  # a body that crashes the normaliser is one page's error
            log.exception("failed to analyse %s", result.target.url)
            return self._add(
                PageOutcome(result.target.url, "error", error=f"analysis failed: {exc}")
            )
        return self._save(result, lambda st: self._follow(result, st, work), state)

    def _follow(
        self, result: FetchResult, state: store.PageState, work: PageWork | None
    ) -> PageResult:
        return follow(
            result,
            state,
            self.registry,
            now=datetime.now(UTC),
            work=work,
            allowed_domains=self.allowed_domains,
            failures_before_removed=self.failures_before_removed,
            failures_before_error=self.failures_before_error,
        )

    def _save(
        self,
        result: FetchResult,
        run: Callable[[store.PageState], PageResult],
        state: store.PageState | None = None,
    ) -> PageOutcome:
        def work(s: Session) -> tuple[PageResult, list[FetchTarget]]:
            st = state or store.load_state(s, result)
            found = run(st)
            return found, store.save(s, self.id, st, found)

        try:  # once more on a new connection if the server dropped this one
            found, attachments = self.db.retrying(work)
        except DatabaseError as exc:  # disk full, read-only: no later page could be saved
            self.fatal = self.fatal or exc
            return self._add(PageOutcome(result.target.url, "error", error=str(exc)))
        except Exception as exc:  # one bad page must not lose the others
            log.exception("failed to record %s", result.target.url)
            return self._add(
                PageOutcome(result.target.url, "error", error=f"internal error: {exc}")
            )
        self.found.extend(attachments)
        return self._add(found.outcome)

    def _add(self, outcome: PageOutcome) -> PageOutcome:
        self.report.add(outcome)
        return outcome

    def finish(self) -> CycleReport:
        """Decide what spans pages and write every event of the cycle, once."""
        with self.db.session() as s:
            self.report.events = outbox.publish(s, self.id)
        return self.report


async def run_cycle(
    fetch: Fetch,
    db: Database,
    config: Config,
    targets: list[FetchTarget],
    on_outcome: OutcomeSink | None = None,
    *,
    pool: Executor | None = None,
    registry: Registry | None = None,
    stop: Stop | None = None,
) -> CycleReport:
    """Fetch ``targets`` and record the results; every target yields exactly one outcome.

    After a ``stop`` (Ctrl-C, a closed pipe) the pages already fetched are recorded and the
    cycle's events published; the pages never fetched get no outcome at all.
    """
    cycle = Cycle(
        db,
        registry=registry,
        allowed_domains=[d for src in config.sources for d in src.allowed_domains],
        failures_before_removed=config.fetch.failures_before_removed,
        failures_before_error=config.fetch.failures_before_error,
        pool=pool,
    )
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()

    async def record(result: FetchResult) -> None:
        outcome = await cycle.record_async(result)
        metrics.observe_outcome(outcome.status, outcome.changes)
        if cycle.fatal is not None and stop is not None:
            stop.request(str(cycle.fatal))
        if on_outcome is not None:
            on_outcome(outcome)

    seen: set[str] = set()

    def sink(result: FetchResult) -> asyncio.Task[None]:
        metrics.observe_fetch(result.status, result.error)
        seen.add(result.target.url)
        task = asyncio.ensure_future(record(result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    for _ in range(1 + ATTACHMENT_ROUNDS):
        if not targets:
            break
        seen.clear()
        await fetch(targets, sink)
        stopped = stop is not None and stop.requested
        for target in targets:  # a request dropped without a callback is still an error
            if target.url not in seen and not stopped:
                sink(FetchResult(target=target, error="not fetched (filtered or dropped)"))
        while tasks:
            await asyncio.gather(*list(tasks))
        if stopped:
            break
        targets, cycle.found = cycle.found, []
    if cycle.fatal is not None:
        raise cycle.fatal
    report = cycle.finish()
    metrics.observe_cycle(time.monotonic() - started, len(report.events))
    return report
