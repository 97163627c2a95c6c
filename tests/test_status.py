"""``policy-monitor status``: last poll per source, deliveries, events, the scheduler's lock and runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import daemon, runlock, status_cli
from monitor.cli import run
from monitor.db import Database
from monitor.models import Delivery, Event, PollState, WatchedPage
from monitor.watchlist import adhoc_pages


def seed(db: Database, checked_ago: timedelta) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        a, b = adhoc_pages(s, ["https://www.gov.uk/a", "https://www.gov.uk/b"])
        good, bad = s.get(WatchedPage, a.id), s.get(WatchedPage, b.id)
        assert good is not None and bad is not None
        good.last_checked_at, good.last_status = now - checked_ago, 200
        bad.last_checked_at, bad.last_status, bad.consecutive_failures = now, 503, 2
        s.add(PollState(key="feed:x", source="adhoc", kind="feed", target="https://x.test/feed",
                        polled_at=now - timedelta(minutes=3)))  # fmt: skip
        e = Event(kind="page_changed", dedup_key="k", status="routed")
        s.add_all([e, Event(kind="page_new", dedup_key="k2")])
        s.flush()
        for i, (status, due) in enumerate([("pending", -60), ("pending", 3600), ("dead", 0)]):
            s.add(Delivery(key=f"d{i}", event_id=e.id, channel="slack", recipient="#p",
                           status=status, next_attempt_at=now + timedelta(seconds=due)))  # fmt: skip


def test_status_reads_sources_deliveries_events_and_the_lock(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db, timedelta(minutes=10))
    st = status_cli.gather(db)
    assert st.healthy and st.scheduler["running"] is False
    (line,) = st.sources
    assert (line.source, line.pages, line.failing) == ("adhoc", 2, 1)
    assert line.last_fetch is not None and line.last_discovery is not None
    assert st.deliveries == {"pending": 2, "due_now": 1, "sending": 0, "dead": 1, "sent": 0}
    assert st.events["pending"] == 1 and st.events["routed"] == 1

    lock = runlock.acquire(db)  # what `policy-monitor run` holds while it runs
    try:
        held = status_cli.gather(db).scheduler
        assert held["running"] is True and "policy-monitor run" in held["holder"]
        assert run(["status", "--db", str(db.url)]) == 0
        text = capsys.readouterr().out
        assert "scheduler running (policy-monitor run" in text
        assert "2 pending (1 due now)" in text and "1 dead" in text
    finally:
        lock.release()
    assert status_cli.gather(db).scheduler["running"] is False


def test_next_runs_come_from_the_schedulers_job_table(db: Database) -> None:
    assert status_cli.JOBS_TABLE == daemon.JOBSTORE_TABLE
    assert status_cli.next_runs(db) == []  # no scheduler has used this database
    store = SQLAlchemyJobStore(engine=db.engine, tablename=daemon.JOBSTORE_TABLE)
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    scheduler.add_job("time:sleep", "date", run_date=soon, args=[0], id="crawl:govuk")
    scheduler.add_job("time:sleep", "interval", hours=1, args=[0], id="deliver")
    scheduler.get_job("deliver").pause()
    scheduler.shutdown(wait=False)
    runs = status_cli.next_runs(db)
    assert [r["job"] for r in runs] == ["crawl:govuk", "deliver"]
    assert runs[0]["next_run"] == soon.replace(microsecond=0).isoformat()
    assert runs[1]["next_run"] is None  # paused


def test_a_stale_poll_fails_status_like_healthz(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(db_url)
    try:
        seed(db, timedelta(hours=30))
    finally:
        db.dispose()
    assert run(["status", "--db", db_url, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["healthy"] is False and out["checks"]["last_poll"]["status"] == "fail"
    assert out["sources"][0]["failing"] == 1


def test_status_reads_the_database_a_config_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'configured.db'}"
    db = Database(db_url)
    try:
        seed(db, timedelta(minutes=5))
    finally:
        db.dispose()
    config = tmp_path / "monitor.yml"
    config.write_text(
        f"database: {db_url}\n"
        "sources:\n  - {name: s, kind: generic, allowed_domains: [example.org]}\n",
        encoding="utf-8",
    )
    assert run(["status", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["pages"] >= 1
