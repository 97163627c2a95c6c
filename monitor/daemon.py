"""The daemon: APScheduler 3.x on the crawl's asyncio loop, firing :class:`~monitor.jobs.Work`.

Jobs live in a persistent ``SQLAlchemyJobStore`` in the monitor's own database (table
``apscheduler_jobs``), one per ``Work.key()``: discovery polls, re-crawls per source
``schedule:``, daily deadline checks, digests at their times and delivery on a short
interval. A job only *submits* its work to an executor (so it pickles: a module-level
function and the work as JSON); the executor runs it. Misfires coalesce into one run.

On start the stored jobs are reconciled with the config: a job whose schedule is unchanged
keeps its stored next run time (so a restart does not reset the clock, and work missed while
stopped runs once), a changed one is replaced, one no longer configured is removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import settings
from monitor.config import Config, ScheduleConfig
from monitor.jobs import Context, Drains, Executor, Summary, Work, publish_leftovers
from monitor.runlock import RunLock
from monitor.schedule import TIMEZONE

log = logging.getLogger(__name__)
JOBSTORE_TABLE = "apscheduler_jobs"
LOST_LOCK = "lost the scheduler lock"  # the stop reason when another scheduler may run
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
_running: list[Daemon] = []  # the daemon of this process, for jobs loaded from the store


@dataclass
class RunOptions:
    """Intervals of ``policy-monitor run`` (defaults in ``monitor.settings``)."""

    poll_s: float = settings.DISCOVERY_EVERY_S
    crawl_s: float | None = None  # one interval for every source, instead of its schedule:
    deliver_s: float = settings.DELIVER_EVERY_S
    jitter_s: float = settings.CRAWL_JITTER_S
    deadlines_at: str = settings.DEADLINES_AT


@dataclass(frozen=True)
class Planned:
    """A job the config asks for: its work, its trigger, and the schedule as words."""

    work: Work
    trigger: BaseTrigger
    schedule: str  # compared with the stored job's name: a change replaces the job
    start_now: bool = True  # a new job runs at once (else at its trigger's first time)


def _every(seconds: float, jitter: float = 0.0) -> tuple[BaseTrigger, str]:
    jit = min(jitter, seconds / 10)
    trigger = IntervalTrigger(seconds=seconds, jitter=jit or None, timezone=UTC)
    return trigger, f"every {seconds:g}s" + (f" jitter {jit:g}s" if jit else "")


def _crawl_trigger(schedule: ScheduleConfig, options: RunOptions) -> tuple[BaseTrigger, str]:
    if options.crawl_s is not None:
        return _every(options.crawl_s, options.jitter_s)
    if schedule.cron:
        trigger = CronTrigger.from_crontab(schedule.cron, timezone=TIMEZONE)
        trigger.jitter = int(options.jitter_s) or None
        return trigger, f"cron {schedule.cron!r} {TIMEZONE} jitter {options.jitter_s:g}s"
    return _every(schedule.every_minutes * 60.0, options.jitter_s)


def _at(hhmm: str) -> tuple[int, int]:
    hh, mm = hhmm.split(":")
    return int(hh), int(mm)


def plan(config: Config, options: RunOptions) -> list[Planned]:
    """Every job the config asks for, in a stable order."""
    out: list[Planned] = []
    for src in config.sources:
        if src.has_discovery:
            trigger, words = _every(options.poll_s)
            out.append(Planned(Work("discover", source=src.name), trigger, words))
        trigger, words = _crawl_trigger(src.schedule, options)
        out.append(Planned(Work("crawl", source=src.name), trigger, words))
        for page in src.pages:  # a page with its own schedule is re-crawled on that one
            if page.schedule is not None:
                urls = (page.url, *page.chapter_urls)
                trigger, words = _crawl_trigger(page.schedule, options)
                out.append(Planned(Work("crawl", source=src.name, urls=urls), trigger, words))
    trigger, words = _every(options.deliver_s)
    out.append(Planned(Work("deliver"), trigger, words))
    hh, mm = _at(options.deadlines_at)
    daily = CronTrigger(hour=hh, minute=mm, timezone=TIMEZONE)
    out.append(Planned(Work("deadlines"), daily, f"daily {options.deadlines_at} {TIMEZONE}"))
    if config.notify.email is not None:  # digests go by email only
        d = config.notify.digest
        hh, mm = _at(d.daily_at)
        out.append(
            Planned(
                Work("digest", period="daily"),
                CronTrigger(hour=hh, minute=mm, timezone=d.timezone),
                f"daily {d.daily_at} {d.timezone}",
                start_now=False,
            )
        )
        weekly = CronTrigger(day_of_week=d.weekly_day[:3], hour=hh, minute=mm, timezone=d.timezone)
        out.append(
            Planned(
                Work("digest", period="weekly"),
                weekly,
                f"{d.weekly_day} {d.daily_at} {d.timezone}",
                start_now=False,
            )
        )
    return out


def current() -> Daemon | None:
    """The daemon running in this process, if any (for health endpoints)."""
    return _running[-1] if _running else None


async def fire(data: dict[str, Any]) -> None:
    """The one job function: hand the stored work to this process's daemon."""
    if not _running:
        log.warning("no daemon to run %s", data)
        return
    await _running[-1].submit(Work.from_json(data))


async def _check_lock() -> None:
    if _running:
        _running[-1].check_lock()


Reporter = Callable[[Work, Summary, float], None]


@dataclass
class Daemon:
    """The scheduler of one process, holding the database's scheduler lock."""

    ctx: Context
    lock: RunLock
    options: RunOptions = field(default_factory=RunOptions)
    executor: Executor | None = None
    started_at: datetime | None = None
    finished: dict[str, tuple[datetime, Summary]] = field(default_factory=dict)
    fired: dict[str, datetime] = field(default_factory=dict)
    lost_lock: bool = False
    recover: bool = False  # publish drafts a killed cycle left, before the first job
    say: Callable[[str], None] = log.info  # start-up and stop messages
    _scheduler: Any = None
    _stopped: asyncio.Event | None = None

    # -- what an ops endpoint reads ---------------------------------------------------------
    def alive(self) -> bool:
        """The scheduler runs, holds its lock and is not stopping."""
        s = self._scheduler
        return bool(s is not None and s.running and not self.ctx.stop.requested
                    and not self.lost_lock)  # fmt: skip

    def next_runs(self) -> dict[str, datetime | None]:
        """Each stored job's next run time (UTC), by work key."""
        if self._scheduler is None or not self._scheduler.running:
            return {}
        jobs = self._scheduler.get_jobs(jobstore="default")
        return {j.id: j.next_run_time.astimezone(UTC) if j.next_run_time else None for j in jobs}

    def last_poll(self) -> datetime | None:
        """When a discovery poll last finished here (or was last handed to a queue)."""
        done = [at for key, (at, _) in self.finished.items() if key.startswith("discover:")]
        if done:
            return max(done)
        sent = [at for key, at in self.fired.items() if key.startswith("discover:")]
        return max(sent) if sent else None

    # -- running ----------------------------------------------------------------------------
    def record(self, work: Work, summary: Summary, _seconds: float) -> None:
        """Remember how ``work`` ended (an :class:`~monitor.jobs.InProcess` ``on_done``)."""
        self.finished[work.key()] = (datetime.now(UTC), summary)

    async def submit(self, work: Work) -> None:
        if self.ctx.stop.requested or self.executor is None:
            return
        self.fired[work.key()] = datetime.now(UTC)
        await self.executor.submit(work)

    def check_lock(self) -> None:
        if not self.lock.healthy() and not self.lost_lock:
            self.lost_lock = True
            log.error("lost the scheduler lock (%s): stopping", self.lock.what)
            self.ctx.stop.request(LOST_LOCK)

    def _build_scheduler(self) -> Any:
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        stores = {
            "default": SQLAlchemyJobStore(engine=self.ctx.db.engine, tablename=JOBSTORE_TABLE),
            "local": MemoryJobStore(),  # housekeeping of this process only
        }
        return AsyncIOScheduler(
            jobstores=stores,
            job_defaults=JOB_DEFAULTS,
            timezone=UTC,
            event_loop=asyncio.get_running_loop(),
        )

    def reconcile(self, scheduler: Any) -> dict[str, str]:
        """Make the stored jobs match the config; returns what happened to each key."""
        stored: dict[str, Job] = {j.id: j for j in scheduler.get_jobs(jobstore="default")}
        now = datetime.now(UTC)
        done: dict[str, str] = {}
        for p in plan(self.ctx.config, self.options):
            key = p.work.key()
            old = stored.pop(key, None)
            work = p.work
            if key == "deadlines":  # the first run's date is kept for good
                first = Work.from_json(old.args[0]).since if old is not None else None
                work = Work("deadlines", since=first or now.date().isoformat())
            if old is not None and old.name == p.schedule and old.args == (work.to_json(),):
                done[key] = "kept"
                continue
            start = now if p.start_now and old is None else None
            kwargs: dict[str, Any] = {"next_run_time": start} if start else {}
            scheduler.add_job(fire, p.trigger, args=[work.to_json()], id=key, name=p.schedule,
                              jobstore="default", replace_existing=True, **kwargs)  # fmt: skip
            done[key] = "replaced" if old is not None else "added"
        for key in stored:
            scheduler.remove_job(key, jobstore="default")
            done[key] = "removed"
        return done

    async def run(self) -> dict[str, str]:
        """Schedule until a stop is requested, then finish the work in hand.

        Returns what reconciling the stored jobs did, by key ("kept", "added", ...).
        """
        loop = asyncio.get_running_loop()
        self._stopped = stopped = asyncio.Event()
        self.ctx.stop.hooks.append(lambda: loop.call_soon_threadsafe(stopped.set))
        if self.ctx.stop.requested:
            return {}
        changes: dict[str, str] = {}
        scheduler = self._scheduler = self._build_scheduler()
        _running.append(self)
        try:
            scheduler.start(paused=True)
            changes = self.reconcile(scheduler)
            scheduler.add_job(_check_lock, "interval", seconds=settings.LOCK_CHECK_S,
                              id="lock", jobstore="local")  # fmt: skip
            self.started_at = datetime.now(UTC)
            self._say_started(changes)
            if self.recover:
                await self._recover()
            await self._resume_digests()
            scheduler.resume()
            await stopped.wait()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # the shutdown runs on the loop
            if isinstance(self.executor, Drains):
                busy = getattr(self.executor, "running", list)()
                if busy and self.ctx.stop.requested:
                    self.say(f"{self.ctx.stop.reason}: finishing {', '.join(busy)}")
                await self.executor.drain()
            _running.remove(self)
        return changes

    async def _recover(self) -> None:
        events = await asyncio.to_thread(publish_leftovers, self.ctx.db)
        if events:
            self.say(f"published {len(events)} events an interrupted cycle left behind")
            await self.submit(Work("deliver"))

    async def _resume_digests(self) -> None:
        """Run again a digest a killed run began: its trigger already moved to the next period.

        The subscribers the killed run reached are skipped by their claims, so only those it
        had not reached get their digest now.
        """
        if self.ctx.config.notify.email is None:
            return
        from monitor.digest_job import interrupted  # digests pull in the email templates

        for period in ("daily", "weekly"):
            if await asyncio.to_thread(interrupted, self.ctx.db, self.ctx.config, period):
                self.say(f"the {period} digest a stopped run began is sent to the rest")
                await self.submit(Work("digest", period=period))

    def _say_started(self, changes: dict[str, str]) -> None:
        now = datetime.now(UTC)
        counts: dict[str, int] = {}
        for what in changes.values():
            counts[what] = counts.get(what, 0) + 1
        how = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        self.say(f"scheduler started ({self.lock.what}); jobs: {how}")
        for key, when in sorted(self.next_runs().items(), key=lambda kv: str(kv[1])):
            self.say(f"  {key}: next {due_in(when, now)}")


def due_in(when: datetime | None, now: datetime | None = None) -> str:
    """``"in 4m 10s"`` / ``"now"`` for a next run time."""
    if when is None:
        return "paused"
    left = when - (now or datetime.now(UTC))
    if left <= timedelta(0):
        return "now"
    secs = int(left.total_seconds())
    return f"in {secs // 60}m {secs % 60:02d}s" if secs >= 60 else f"in {secs}s"
