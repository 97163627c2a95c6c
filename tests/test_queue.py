"""The task queue without worker processes: schema set-up, batching, locks, stalled tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli import policy_monitor
from sqlalchemy import select, text

from monitor import outbox, settings
from monitor.config import Config, load_config
from monitor.db import Database
from monitor.event import EventDraft
from monitor.jobs import Work
from monitor.models import Event, StagedEvent, WatchedPage
from monitor.queue import QueueExecutor, make_app, publish_batch_leftovers, recover_stalled
from monitor.queue_schema import ensure_queue_schema, queue_installed

pytestmark = pytest.mark.postgres


def _config(tmp_path: Path, db_url: str, pages: int) -> Path:
    lines = [f"database: {db_url}", "sources:"]
    lines += ["  - {name: big, kind: generic, allowed_domains: [127.0.0.1], pages: ["]
    lines += [f"      {{url: 'http://127.0.0.1:9/p/{i}'}}," for i in range(pages)]
    lines += ["    ]}", "  - {name: small, kind: generic, pages: [{url: 'http://127.0.0.1:9/s'}]}"]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def queued(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    ensure_queue_schema(db.engine)
    yield db
    db.dispose()


def _with_app(db: Database, body: Callable[[Any], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        app = make_app(db.url)
        async with app.open_async():
            return await body(app)

    return asyncio.run(go())


def _jobs(db: Database) -> list[tuple[str, str, int, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT lock, status::text, attempts, args::text FROM procrastinate_jobs ORDER BY id"
            )
        )
        return [(str(a), str(b), int(n), str(d)) for a, b, n, d in rows]


def test_db_upgrade_creates_the_queue_tables_once(pg_url: str) -> None:
    first = policy_monitor("db", "upgrade", "--db", pg_url)
    assert first.returncode == 0, first.stderr
    assert "task queue tables created" in first.stdout
    again = policy_monitor("db", "upgrade", "--db", pg_url)
    assert again.returncode == 0, again.stderr
    assert "task queue" not in again.stdout
    db = Database(pg_url)
    assert queue_installed(db.engine)
    assert ensure_queue_schema(db.engine) is False
    db.dispose()


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'm.db'}\nsources: []\n")
    done = policy_monitor("worker", "--config", str(config))
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr and "database: at" in done.stderr


def test_a_crawl_is_split_by_page_id_and_queued_at_most_once(
    queued: Database, tmp_path: Path
) -> None:
    config = load_config(_config(tmp_path, queued.url, 120))

    async def submit_twice(app: Any) -> QueueExecutor:
        executor = QueueExecutor(app, queued, config, batch=50)
        await executor.submit(Work("crawl"))
        await executor.submit(Work("crawl"))  # every task still waits: nothing new
        await executor.submit(Work("deliver"))
        await executor.submit(Work("deliver"))
        return executor

    executor = _with_app(queued, submit_twice)
    jobs = _jobs(queued)
    with queued.session(readonly=True) as s:
        ids = {p.url: p.id for p in s.scalars(select(WatchedPage))}
    big = [ids[f"http://127.0.0.1:9/p/{i}"] for i in range(120)]
    buckets = sorted({i // 50 for i in big})
    expected = [f"crawl:big:{b}" for b in buckets]
    expected += [f"crawl:small:{ids['http://127.0.0.1:9/s'] // 50}", "deliver"]
    assert [lock for lock, *_ in jobs] == expected
    assert executor.deferred == len(expected) and executor.skipped == len(expected)
    assert all(status == "todo" for _, status, _, _ in jobs)
    # the small source is one task over the whole source; the big one names its pages
    assert '"urls"' not in jobs[-2][3] and '"source": "small"' in jobs[-2][3]
    assert sum(args.count("/p/") for *_, args in jobs) == 120


def test_the_task_of_a_silent_worker_is_queued_again_once(queued: Database, tmp_path: Path) -> None:
    config = Config.model_validate({})

    async def scenario(app: Any) -> tuple[int, int, int]:
        executor = QueueExecutor(app, queued, config)
        await executor.submit(Work("deliver"))
        dead = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job([settings.QUEUE_NAME], dead)
        assert job is not None
        alive = await recover_stalled(app, queued, stalled_s=60)  # its heartbeat is fresh
        with queued.engine.begin() as c:
            c.execute(
                text("UPDATE procrastinate_workers SET last_heartbeat = now() - '1 hour'::interval")
            )
        first = await recover_stalled(app, queued, stalled_s=60)
        second = await recover_stalled(app, queued, stalled_s=60)
        return alive, first, second

    assert _with_app(queued, scenario) == (0, 1, 0)
    [(lock, status, attempts, _)] = _jobs(queued)
    assert (lock, status, attempts) == ("deliver", "todo", 1)


def test_a_silent_workers_task_with_a_waiting_twin_is_aborted_not_stuck(
    queued: Database,
) -> None:
    config = Config.model_validate({})

    async def scenario(app: Any) -> int:
        executor = QueueExecutor(app, queued, config)
        await executor.submit(Work("deliver"))
        dead = await app.job_manager.register_worker()
        assert await app.job_manager.fetch_job([settings.QUEUE_NAME], dead) is not None
        await executor.submit(Work("deliver"))  # the first is running: a twin may wait
        with queued.engine.begin() as c:
            c.execute(
                text("UPDATE procrastinate_workers SET last_heartbeat = now() - '1 hour'::interval")
            )
        return await recover_stalled(app, queued, stalled_s=60)

    assert _with_app(queued, scenario) == 0
    assert [status for _, status, _, _ in _jobs(queued)] == ["aborted", "todo"]


def test_drafts_a_dead_run_staged_are_published_by_the_rerun(queued: Database) -> None:
    with queued.session() as s:
        page = WatchedPage(url="http://127.0.0.1:9/x", active=True, consecutive_failures=0)
        other = WatchedPage(url="http://127.0.0.1:9/y", active=True, consecutive_failures=0)
        s.add_all([page, other])
        s.flush()
        outbox.stage(
            s, "dead-cycle", [EventDraft("page_changed", "k-x", {"summary": "x"}, page.id)]
        )
        outbox.stage(
            s, "live-cycle", [EventDraft("page_changed", "k-y", {"summary": "y"}, other.id)]
        )
    assert publish_batch_leftovers(queued, Work("crawl", urls=("http://127.0.0.1:9/x",))) == 1
    assert publish_batch_leftovers(queued, Work("crawl", urls=("http://127.0.0.1:9/x",))) == 0
    with queued.session(readonly=True) as s:
        assert [e.dedup_key for e in s.scalars(select(Event))] == ["k-x"]
        assert [r.cycle for r in s.scalars(select(StagedEvent))] == ["live-cycle"]
