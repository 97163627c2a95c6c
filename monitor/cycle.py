"""One check cycle: fetch the pages, follow each through the chain, then publish events.

Per page: take its stored state (read a window of pages per query), follow it
(``monitor.chain.follow``: the CPU step in a process pool when there is one), and buffer the
result; buffered pages are written a batch per short transaction on a writer thread
(``monitor.batch``).
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
from functools import partial

from sqlalchemy.orm import Session

from monitor import batch as batch_writes
from monitor import metrics, outbox, settings, store
from monitor import snapshot as snapshots
from monitor.batch import Pending
from monitor.chain import PageOutcome, PageResult, follow, job_for
from monitor.config import Config
from monitor.crawl import Fetch, Stop
from monitor.db import Database
from monitor.errors import BodyRefused, DatabaseError, PageTooComplex
from monitor.evidence import Registry
from monitor.fetch import FetchResult, FetchTarget
from monitor.worker import PageWork, run_job

log = logging.getLogger(__name__)
OutcomeSink = Callable[[PageOutcome], None]
ATTACHMENT_ROUNDS = 2  # fetch rounds after the first, for files newly found on the pages
STATE_WINDOW = 500  # pages whose stored state is read in one query
SAVE_BATCH = 32  # pages written per transaction (each holds its body until then)
SAVE_AFTER_S = 0.5  # a batch not yet full is written this long after its first page
WRITES_IN_FLIGHT = 2  # batches with the writer thread before the crawl waits for one


@dataclass
class CycleReport:
    """The page outcomes of one cycle and the events it wrote."""

    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[PageOutcome] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.outcomes.append(outcome)


class StateWindow:
    """The stored states of a fetch round, read a window of pages at a time.

    Pages come back roughly in the order they were asked for, so one query per
    ``size`` pages replaces one per page, and at most a window or two is held in memory.
    """

    def __init__(self, db: Database, targets: list[FetchTarget], size: int = STATE_WINDOW):
        self.db = db
        self.targets = [t for t in targets if t.page_id]
        self.size = size
        self.next = 0
        self.states: dict[int, store.PageState] = {}

    def take(self, page_id: int) -> store.PageState | None:
        """The state of a page of this round (once), or None if the round does not have it."""
        while page_id not in self.states and self.next < len(self.targets):
            chunk = self.targets[self.next : self.next + self.size]
            self.next += len(chunk)
            self.states.update(
                self.db.retrying(partial(store.load_states, targets=chunk), readonly=True)
            )
        return self.states.pop(page_id, None)


class Cycle:
    """Records fetch results for one cycle; :meth:`finish` publishes its events.

    :meth:`record` saves one page in its own transaction. :meth:`take` (what
    :func:`run_cycle` uses) buffers followed pages and writes them ``SAVE_BATCH`` to a
    transaction, each page in its own savepoint, so one bad page still loses no other. A
    page's outcome is reported (``on_outcome``) only once its batch is committed.
    """

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
        on_outcome: OutcomeSink | None = None,
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
        self.on_outcome = on_outcome
        self.report = CycleReport()
        self.found: list[FetchTarget] = []  # attachments to fetch in a later round
        self.fatal: DatabaseError | None = None  # the database took no writes: stop the cycle
        self.window: StateWindow | None = None
        self.pending: list[Pending] = []
        self._timer: asyncio.TimerHandle | None = None
        self.writer = batch_writes.Writer(db, self.id, self._report)
        self.blobs = snapshots.BlobReader(db.engine)  # old bodies, on one kept connection

    def prepare(self, targets: list[FetchTarget]) -> None:
        """Read the states of this round's pages in windows, not one query a page."""
        self.window = StateWindow(self.db, targets)

    def record(self, result: FetchResult) -> PageOutcome:
        """Follow and save one result now, in its own transaction, doing the CPU work here."""

        def work(s: Session) -> tuple[PageResult, list[FetchTarget]]:
            state = store.load_state(s, result)
            found = self._follow(result, state, None)
            return found, store.save(s, self.id, state, found)

        try:  # once more on a new connection if the server dropped this one
            found, attachments = self.db.retrying(work)
            self.found.extend(attachments)
        except DatabaseError as exc:  # disk full, read-only: no later page could be saved
            self.fatal = self.fatal or exc
            return self._add(PageOutcome(result.target.url, "error", error=str(exc)))
        except Exception as exc:  # one bad page must not lose the others
            log.exception("failed to record %s", result.target.url)
            return self._add(
                PageOutcome(result.target.url, "error", error=f"internal error: {exc}")
            )
        return self._add(found.outcome)

    async def record_async(self, result: FetchResult) -> PageOutcome:
        """Follow and save one result, the CPU work in the pool while the crawl goes on."""
        await self.take(result)
        self.flush()
        url = result.target.url
        return next(o for o in reversed(self.report.outcomes) if o.url == url)

    async def take(self, result: FetchResult) -> None:
        """Follow one result (CPU work in the pool) and buffer it for the next batch write."""
        try:
            state = self._state(result)
            job = job_for(result, state)
            try:
                work = await run_job(self.pool, job) if job is not None else None
            except (PageTooComplex, BodyRefused):
                work = None  # refused within a bound; follow() records a failed check
        except Exception as exc:  # a body that crashes the normaliser is one page's error
            log.exception("failed to analyse %s", result.target.url)
            self._emit(PageOutcome(result.target.url, "error", error=f"analysis failed: {exc}"))
            return
        try:
            found = self._follow(result, state, work)
        except Exception as exc:
            log.exception("failed to record %s", result.target.url)
            self._emit(PageOutcome(result.target.url, "error", error=f"internal error: {exc}"))
            return
        self.pending.append(Pending(result, state, found))
        if len(self.pending) >= SAVE_BATCH:
            self.flush_soon()
            await self.writer.wait(WRITES_IN_FLIGHT)  # back-pressure: bodies wait in memory
        elif self._timer is None:  # a slow crawl still writes (and reports) within a moment
            self._timer = asyncio.get_running_loop().call_later(SAVE_AFTER_S, self.flush_soon)

    def _state(self, result: FetchResult) -> store.PageState:
        page_id = result.target.page_id
        state = self.window.take(page_id) if self.window and page_id else None
        if page_id and (
            self.writer.holds(page_id) or any(p.state.page_id == page_id for p in self.pending)
        ):
            self.flush()  # the same page twice in a round: read what the first one wrote
            state = None
        if state is not None and not store.needs_old_body(state, result):
            return state  # a 304, the same bytes, a failure or a first version: no query
        stored = state

        if stored is not None:
            return store.with_old_body(self.blobs, stored, result)
        return self.db.retrying(partial(store.load_state, result=result), readonly=True)

    def flush(self) -> list[PageOutcome]:
        """Write the buffered pages now, in one transaction, and report their outcomes.

        Batches still with the writer thread are waited for (and reported) first.
        """
        self.writer.drain()
        batch = self._take_batch()
        if not batch:
            return []
        written, fatal = batch_writes.write(self.db, self.id, batch)
        return self._report(batch, written, fatal)

    def flush_soon(self) -> None:
        """Hand the buffered pages to the writer thread; reported once committed."""
        batch = self._take_batch()
        if batch:
            self.writer.submit(batch)

    def close(self) -> None:
        """Write what is buffered, stop the writer thread and close the body reader."""
        self.flush()
        self.writer.stop()
        self.blobs.close()

    def _take_batch(self) -> list[Pending]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self.pending = self.pending, []
        return batch

    def _report(
        self, batch: list[Pending], written: batch_writes.Written, fatal: DatabaseError | None
    ) -> list[PageOutcome]:
        outcomes, found = written
        self.fatal = self.fatal or fatal
        self.found.extend(found)
        ordered = [outcomes[id(p)] for p in batch]
        for o in ordered:
            self._emit(o)
        return ordered

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

    def _add(self, outcome: PageOutcome) -> PageOutcome:
        self.report.add(outcome)
        return outcome

    def _emit(self, outcome: PageOutcome) -> None:
        metrics.observe_outcome(outcome.status, outcome.changes)
        self._add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def finish(self) -> CycleReport:
        """Write what is still buffered, decide what spans pages, write every event once."""
        self.close()
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

    def emit(outcome: PageOutcome) -> None:
        if cycle.fatal is not None and stop is not None:
            stop.request(str(cycle.fatal))  # no later page could be stored either
        if on_outcome is not None:
            on_outcome(outcome)

    cycle = Cycle(
        db,
        registry=registry,
        allowed_domains=[d for src in config.sources for d in src.allowed_domains],
        failures_before_removed=config.fetch.failures_before_removed,
        failures_before_error=config.fetch.failures_before_error,
        pool=pool,
        on_outcome=emit,
    )
    tasks: set[asyncio.Task[None]] = set()
    seen: set[str] = set()
    started = time.monotonic()

    def sink(result: FetchResult) -> asyncio.Task[None]:
        metrics.observe_fetch(result.status, result.error)
        seen.add(result.target.url)
        task = asyncio.ensure_future(cycle.take(result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    try:
        return await _rounds(cycle, fetch, targets, sink, tasks, seen, stop, started)
    finally:
        cycle.writer.stop()
        cycle.blobs.close()


async def _rounds(
    cycle: Cycle,
    fetch: Fetch,
    targets: list[FetchTarget],
    sink: Callable[[FetchResult], asyncio.Task[None]],
    tasks: set[asyncio.Task[None]],
    seen: set[str],
    stop: Stop | None,
    started: float,
) -> CycleReport:
    for _ in range(1 + ATTACHMENT_ROUNDS):
        if not targets:
            break
        seen.clear()
        cycle.prepare(targets)
        await fetch(targets, sink)
        stopped = stop is not None and stop.requested
        for target in targets:  # a request dropped without a callback is still an error
            if target.url not in seen and not stopped:
                sink(FetchResult(target=target, error="not fetched (filtered or dropped)"))
        while tasks:
            await asyncio.gather(*list(tasks))
        await cycle.writer.wait()
        cycle.flush()  # this round's attachments are known only once its pages are written
        if stopped:
            break
        targets, cycle.found = cycle.found, []
    if cycle.fatal is not None:
        raise cycle.fatal
    report = cycle.finish()
    metrics.observe_cycle(time.monotonic() - started, len(report.events))
    return report
