"""Scale-out on PostgreSQL: work goes through procrastinate, a task queue kept in our database.

The scheduler (``run``) submits :class:`~monitor.jobs.Work` to a :class:`QueueExecutor`;
any number of ``policy-monitor worker`` processes take it and run ``jobs.perform``.

- A crawl of a source is split into tasks of ``QUEUE_BATCH_PAGES`` pages, by page id
  (page ``i`` is always in bucket ``i // batch``), so a page belongs to one lock forever.
- Each task has a ``queueing_lock`` (a second submit while one waits is dropped: the waiting
  one will do it) and a ``lock`` of the same name (two runs of it never overlap).
- A task that raises is retried with backoff (``QUEUE_MAX_ATTEMPTS``). A worker that dies
  (SIGKILL, a lost machine) stops its heartbeat; after ``QUEUE_STALLED_S`` another worker
  puts its task back in the queue. The rerun is safe: a page's version is stored once, an
  event once (its dedup key), a notification once (its delivery row). Drafts the dead run
  staged are published by the rerun.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ProcrastinateException, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from monitor import outbox, settings
from monitor.config import Config
from monitor.db import Database
from monitor.jobs import Context, Done, Summary, Work, perform
from monitor.models import Source, StagedEvent, WatchedPage
from monitor.queue_schema import ensure_queue_schema
from monitor.watchlist import plan_targets

__all__ = ["QueueExecutor", "QueueRunner", "WorkerOptions", "conninfo", "make_app", "run_worker"]

log = logging.getLogger(__name__)
TASK = "policy_monitor.perform"
RECOVERY_LOCK = 7_302_912  # pg_try_advisory_lock key: one worker re-queues stalled tasks
PRIORITY = {"deliver": 20, "digest": 10, "deadlines": 10, "discover": 5, "crawl": 0}


def conninfo(url: str) -> str:
    """The libpq URL for a SQLAlchemy one (``postgresql+psycopg://`` loses its driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(url: str, *, pool_size: int = 4) -> App:
    """A procrastinate app on this database, with our task registered; open it to use it."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=pool_size))
    retry = RetryStrategy(max_attempts=settings.QUEUE_MAX_ATTEMPTS, exponential_wait=2)
    app.task(name=TASK, queue=settings.QUEUE_NAME, pass_context=True, retry=retry)(_run_task)
    app.periodic(cron="17 * * * *", periodic_id="prune")(
        app.task(name="policy_monitor.prune_jobs", queue=settings.QUEUE_NAME, pass_context=True)(
            _prune_jobs
        )
    )
    return app


async def _run_task(jc: JobContext, work: dict[str, Any]) -> Summary:
    """One queued unit of work, run with this worker process's context."""
    ctx: Context = jc.additional_context["monitor"]
    job = Work.from_json(work)
    attempts = jc.job.attempts
    log.info("task %s started: %s (attempt %d)", jc.job.id, job.key(), attempts + 1)
    leftover = 0
    if job.kind == "crawl":  # a dead run of these pages (this task or one it superseded)
        leftover = await asyncio.to_thread(publish_batch_leftovers, ctx.db, job)
    started = time.monotonic()
    summary = await perform(job, ctx)
    if ctx.stop.requested:  # a cut-short run must not count as done: it is run again
        raise RuntimeError(f"stopped before the end ({ctx.stop.reason})")
    if leftover:
        summary["leftover_events"] = leftover
        if ctx.follow_up is not None:
            await ctx.follow_up(Work("deliver"))
    log.info("task %s done: %s %s", jc.job.id, job.key(), summary)
    on_done: Done | None = jc.additional_context.get("on_done")
    if on_done is not None:
        on_done(job, summary, time.monotonic() - started)
    return summary


async def _prune_jobs(jc: JobContext, timestamp: int) -> None:
    """Forget finished tasks older than ``QUEUE_KEEP_JOBS_HOURS`` (hourly, on one worker)."""
    await jc.app.job_manager.delete_old_jobs(
        nb_hours=settings.QUEUE_KEEP_JOBS_HOURS,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


def publish_batch_leftovers(db: Database, work: Work) -> int:
    """Publish the drafts a dead run of this crawl's pages staged; the number of events.

    The task's lock means no live crawl holds drafts for these pages (a discovery that
    follows one of them at this moment may see its drafts go out early: still once each).
    """
    pages = select(WatchedPage.id)
    if work.urls:
        pages = pages.where(WatchedPage.url.in_(list(work.urls)))
    elif work.source:
        pages = pages.join(Source, Source.id == WatchedPage.source_id).where(
            Source.name == work.source
        )
    written = 0
    with db.session() as s:
        cycles = s.scalars(
            select(StagedEvent.cycle).where(StagedEvent.page_id.in_(pages)).distinct()
        ).all()
        for cycle in cycles:
            written += len(outbox.publish(s, cycle))
    if written:
        log.warning("published %d event(s) a dead run had staged", written)
    return written


@dataclass
class QueueExecutor:
    """``Executor.submit`` onto the queue; the app must be open (``async with app.open_async()``)."""

    app: App
    db: Database
    config: Config
    batch: int = settings.QUEUE_BATCH_PAGES
    deferred: int = 0  # tasks queued by this executor
    skipped: int = 0  # submits dropped because the same task was already waiting

    async def submit(self, work: Work) -> None:
        if work.kind == "crawl" and not work.urls:
            for lock, part in await asyncio.to_thread(self._batches, work.source):
                await self._defer(part, lock)
        else:
            await self._defer(work, work.key())

    def _batches(self, source: str | None) -> list[tuple[str, Work]]:
        """The source's pages (every source's, for None) in tasks of ``batch`` page ids."""
        out = []
        for name in [source] if source else [s.name for s in self.config.sources]:
            buckets: dict[int, list[str]] = {}
            for t in plan_targets(self.db, self.config, None, name):
                buckets.setdefault((t.page_id or 0) // self.batch, []).append(t.url)
            if len(buckets) == 1:  # one task crawls the whole source (its key: crawl:NAME)
                out.append((f"crawl:{name}:{next(iter(buckets))}", Work("crawl", source=name)))
                continue
            out += [
                (f"crawl:{name}:{b}", Work("crawl", source=name, urls=tuple(urls)))
                for b, urls in sorted(buckets.items())
            ]
        return out

    async def _defer(self, work: Work, lock: str) -> None:
        deferrer = self.app.configure_task(
            TASK, lock=lock, queueing_lock=lock, priority=PRIORITY.get(work.kind, 0)
        )
        try:
            await deferrer.defer_async(work=work.to_json())
        except AlreadyEnqueued:
            self.skipped += 1
            log.debug("%s is already waiting in the queue", lock)
            return
        self.deferred += 1


@dataclass
class WorkerOptions:
    """How a worker process takes tasks."""

    concurrency: int = 1  # tasks at once
    heartbeat_s: float = settings.QUEUE_HEARTBEAT_S
    stalled_s: float = settings.QUEUE_STALLED_S
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


async def run_worker(
    app: App,
    ctx: Context,
    options: WorkerOptions,
    stop: asyncio.Event,
    on_done: Done | None = None,
) -> None:
    """Take and run tasks until ``stop`` is set; the tasks in flight are finished first.

    The app must be open. Every heartbeat, the tasks of workers that went silent are put
    back in the queue (by one worker at a time).
    """
    worker = asyncio.ensure_future(
        app.run_worker_async(
            queues=[settings.QUEUE_NAME],
            name=options.name,
            concurrency=options.concurrency,
            install_signal_handlers=False,  # ours (monitor.terminal) decide
            additional_context={"monitor": ctx, "on_done": on_done},
            update_heartbeat_interval=options.heartbeat_s,
            stalled_worker_timeout=options.stalled_s,
            fetch_job_polling_interval=max(options.heartbeat_s, 1.0),
        )
    )
    recovery = asyncio.ensure_future(_recover_forever(app, ctx.db, options))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        recovery.cancel()
        worker.cancel()  # procrastinate then waits for the tasks in flight
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recovery


class QueueRunner:
    """``policy-monitor run``'s executor on PostgreSQL: work goes to the queue.

    With ``concurrency`` > 0 this process is also a worker that runs that many tasks at
    once (0: schedule only, the workers run elsewhere). Create it on the running loop;
    :meth:`drain` (the daemon calls it when stopping) finishes the tasks in flight.
    """

    def __init__(self, ctx: Context, *, concurrency: int = 1, on_done: Done | None = None) -> None:
        ensure_queue_schema(ctx.db.engine)
        self.ctx = ctx
        self.on_done = on_done
        self.app = make_app(ctx.db.url, pool_size=concurrency + 3)
        self.executor = QueueExecutor(self.app, ctx.db, ctx.config)
        self.options = WorkerOptions(concurrency=max(concurrency, 1))
        self.concurrency = concurrency
        self._stop = asyncio.Event()
        self._worker: asyncio.Future[None] | None = None
        self._ready = asyncio.ensure_future(self._open())

    async def _open(self) -> None:
        await self.app.open_async()
        if self.concurrency:
            self._worker = asyncio.ensure_future(
                run_worker(self.app, self.ctx, self.options, self._stop, self.on_done)
            )

    async def submit(self, work: Work) -> None:
        await self._ready
        await self.executor.submit(work)

    async def drain(self) -> None:
        self._stop.set()
        await self._ready
        if self._worker is not None:
            await self._worker
        await self.app.close_async()


async def _recover_forever(app: App, db: Database, options: WorkerOptions) -> None:
    while True:
        await asyncio.sleep(options.heartbeat_s)
        try:
            await recover_stalled(app, db, options.stalled_s)
        except Exception:  # the next round tries again
            log.exception("re-queueing stalled tasks failed")


async def recover_stalled(app: App, db: Database, stalled_s: float) -> int:
    """Put the tasks of silent workers back in the queue; the number re-queued.

    One worker at a time does it (an advisory lock), so a task is never re-queued twice,
    which could let two workers run it at once.
    """
    # autocommit: the session-level lock is held across awaits, a transaction is not
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RECOVERY_LOCK})
        if not got.scalar():
            return 0
        try:
            jobs = await app.job_manager.get_stalled_jobs(
                queue=settings.QUEUE_NAME, seconds_since_heartbeat=stalled_s
            )
            n = 0
            for job in jobs:
                try:
                    await app.job_manager.retry_job(job)
                except UniqueViolation:  # the same task waits already: it does the work
                    await app.job_manager.finish_job(job, Status.ABORTED, delete_job=False)
                    log.warning("task %s of a silent worker is superseded by a waiting one", job.id)
                    continue
                except ProcrastinateException:  # finished or moved meanwhile
                    continue
                n += 1
                log.warning("task %s of a silent worker is queued again", job.id)
            if n:
                await app.job_manager.prune_stalled_workers(stalled_s)
            return n
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RECOVERY_LOCK})
