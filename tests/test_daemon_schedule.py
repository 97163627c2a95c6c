"""The daemon's jobs: planned from the config, stored, kept across restarts, misfires coalesced.

The scheduler runs in this process on its own event loop, with an executor that only records
what it was handed, so these tests need no crawl.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.config import (
    Config,
    EmailConfig,
    NotifyConfig,
    PageConfig,
    ScheduleConfig,
    SourceConfig,
)
from monitor.crawl import Stop
from monitor.daemon import JOBSTORE_TABLE, LOST_LOCK, Daemon, RunOptions, plan
from monitor.db import Database
from monitor.jobs import Context, Work, _own_schedule
from monitor.runlock import RunLock


class Recorder:
    """An executor that only remembers what it was given."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def submit(self, work: Work) -> None:
        self.keys.append(work.key())


def _config(every: int = 15, feeds: bool = True) -> Config:
    src = SourceConfig(
        name="site",
        schedule=ScheduleConfig(every_minutes=every),
        feeds=["http://127.0.0.1:9/feed.atom"] if feeds else [],
    )
    return Config(sources=[src])


async def _no_fetch(targets: Any, sink: Any) -> None:
    raise AssertionError("the recorder runs nothing")


def _run(db: Database, config: Config, options: RunOptions, seconds: float = 0.3) -> Any:
    recorder = Recorder()
    ctx = Context(db=db, config=config, fetch=_no_fetch, stop=Stop())
    daemon = Daemon(ctx, RunLock(what="test"), options, executor=recorder)

    async def main() -> dict[str, str]:
        task = asyncio.ensure_future(daemon.run())
        await asyncio.sleep(seconds)
        assert daemon.alive()
        ctx.stop.request("test")
        return await task

    changes = asyncio.run(main())
    assert not daemon.alive()
    return changes, recorder.keys


def _store(db: Database) -> SQLAlchemyJobStore:
    store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBSTORE_TABLE)
    store.start(BackgroundScheduler(), "default")
    return store


def test_plan_follows_the_config() -> None:
    opts = RunOptions(poll_s=300, jitter_s=60)
    keys = [p.work.key() for p in plan(_config(), opts)]
    assert keys == ["discover:site", "crawl:site", "deliver", "deadlines"]
    crawl = next(p for p in plan(_config(), opts) if p.work.kind == "crawl")
    assert crawl.schedule == "every 900s jitter 60s"
    cron = _config()
    cron.sources[0].schedule = ScheduleConfig(cron="*/20 7-19 * * mon-fri")
    crawl = next(p for p in plan(cron, opts) if p.work.kind == "crawl")
    assert "cron '*/20 7-19 * * mon-fri' Europe/London" in crawl.schedule
    assert crawl.trigger.jitter == 60  # type: ignore[attr-defined]
    mail = _config().model_copy(update={"notify": NotifyConfig(email=EmailConfig())})
    digests = [p for p in plan(mail, opts) if p.work.kind == "digest"]
    assert [(p.work.period, p.schedule) for p in digests] == [
        ("daily", "daily 08:30 Europe/London"),
        ("weekly", "saturday 08:30 Europe/London"),
    ]
    assert not any(p.start_now for p in digests)  # a digest waits for its time
    own = _config()
    own.sources[0].pages = [
        PageConfig(url="https://www.nice.org.uk/guidance/ng1", chapters=["recommendations"]),
        PageConfig(
            url="https://www.nice.org.uk/guidance/ng2", schedule=ScheduleConfig(every_minutes=5)
        ),
    ]
    planned = plan(own, opts)
    page_job = next(p for p in planned if p.work.urls)
    assert page_job.work.urls == ("https://www.nice.org.uk/guidance/ng2",)
    assert page_job.schedule == "every 300s jitter 30s"
    assert page_job.work.key().startswith("crawl:site:")
    assert _own_schedule(own, "site") == {"https://www.nice.org.uk/guidance/ng2"}
    short = RunOptions(crawl_s=2, jitter_s=60)  # jitter is at most a tenth of the interval
    crawl = next(p for p in plan(_config(), short) if p.work.kind == "crawl")
    assert crawl.schedule == "every 2s jitter 0.2s"


def test_jobs_persist_and_misfires_coalesce(db_url: str) -> None:
    db = Database(db_url)
    opts = RunOptions(poll_s=300, deliver_s=5)
    changes, fired = _run(db, _config(), opts)
    assert changes == dict.fromkeys(
        ["discover:site", "crawl:site", "deliver", "deadlines"], "added"
    )
    assert sorted(fired) == ["crawl:site", "deadlines", "deliver", "discover:site"]  # once each
    store = _store(db)
    first_since = store.lookup_job("deadlines").args[0]["since"]
    assert first_since == datetime.now(UTC).date().isoformat()
    poll_next = store.lookup_job("discover:site").next_run_time
    # the daemon was down for an hour: 720 deliveries and 4 crawls missed
    for key in ("deliver", "crawl:site"):
        job = store.lookup_job(key)
        job._modify(next_run_time=datetime.now(UTC) - timedelta(hours=1))
        store.update_job(job)
    store.shutdown()

    changes, fired = _run(db, _config(), opts)
    assert set(changes.values()) == {"kept"}
    assert sorted(fired) == ["crawl:site", "deliver"]  # each once: coalesced
    store = _store(db)
    assert store.lookup_job("discover:site").next_run_time == poll_next  # kept, not reset
    assert store.lookup_job("deliver").next_run_time > datetime.now(UTC)
    store.shutdown()

    # the config changes: the crawl's schedule, no feeds, deadlines an hour earlier
    later = RunOptions(poll_s=300, deliver_s=5, deadlines_at="06:00")
    changes, fired = _run(db, _config(every=30, feeds=False), later)
    assert changes == {
        "crawl:site": "replaced",
        "deliver": "kept",
        "deadlines": "replaced",
        "discover:site": "removed",
    }
    assert fired == []  # a replaced job runs at its new schedule's time, not at once
    store = _store(db)
    assert store.lookup_job("discover:site") is None
    deadlines = store.lookup_job("deadlines")
    assert deadlines.args[0]["since"] == first_since  # the first run's date, kept for good
    assert deadlines.name == "daily 06:00 Europe/London"
    store.shutdown()
    db.dispose()


def test_a_lost_lock_stops_the_daemon(tmp_path: Any) -> None:
    class CutLock(RunLock):
        def healthy(self) -> bool:
            return False

    db = Database(f"sqlite:///{tmp_path / 'lock.db'}")
    ctx = Context(db=db, config=_config(), fetch=_no_fetch, stop=Stop())
    daemon = Daemon(ctx, CutLock(what="test"), RunOptions(), executor=Recorder())
    daemon.check_lock()
    assert ctx.stop.reason == LOST_LOCK and daemon.lost_lock and not daemon.alive()
    db.dispose()
