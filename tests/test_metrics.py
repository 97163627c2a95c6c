"""Metrics, health and the ops app: counters fed by a real cycle and delivery, the database's view."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from sqlalchemy import text
from starlette.testclient import TestClient

from monitor import health, metrics, ops_app
from monitor.config import Config
from monitor.cycle import run_cycle
from monitor.db import Database
from monitor.delivery import deliver
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Delivery, Event, WatchedPage
from monitor.routing import Target
from monitor.watchlist import adhoc_pages, targets_for
from notifiers.console import ConsoleNotifier

URL = "https://www.gov.uk/government/publications/crisis-care"
DEAD_PG = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # no server listens on port 1


def page(text: str) -> bytes:
    return f"<html><body><main><h1>Crisis care</h1><p>{text}</p></main></body></html>".encode()


def samples(db: Database | None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    body = generate_latest(metrics.registry_for(db)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def one_cycle(db: Database, target: FetchTarget, *results: FetchResult) -> None:
    async def fetch(targets: list[FetchTarget], sink: object) -> None:
        for r in results:
            sink(r)  # type: ignore[operator]

    asyncio.run(run_cycle(fetch, db, Config(), [target]))


def test_a_cycle_and_a_delivery_feed_the_counters(db: Database) -> None:
    with db.session() as s:
        (target,) = targets_for(adhoc_pages(s, [URL]))
    before = samples(None)

    def grew(name: str, by: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        assert after.get(key, 0) - before.get(key, 0) == by, key

    ok = FetchResult(target, 200, page("The fund is £10 million for 2024/25."), "text/html")
    one_cycle(db, target, ok)
    more = FetchResult(target, 200, page("The fund is £25 million for 2024/25."), "text/html")
    one_cycle(db, target, more)
    one_cycle(db, target, FetchResult(target, 304))
    one_cycle(db, target, FetchResult(target, 0, error="connection refused"))
    out = io.StringIO()
    console = ConsoleNotifier(Console(file=out, width=100))

    def router(kind: str, payload: dict[str, object]) -> list[Target]:
        return [Target("console", "-", "test"), Target("slack", "#policy", "test")]

    deliver(db, {"console": console}, router)  # slack is not configured: dead at once
    after = samples(None)
    grew("policy_monitor_fetches_total", 1, outcome="new")
    grew("policy_monitor_fetches_total", 1, outcome="changed")
    grew("policy_monitor_fetches_total", 1, outcome="unchanged")
    grew("policy_monitor_fetches_total", 1, outcome="error")
    grew("policy_monitor_not_modified_total", 1)
    grew("policy_monitor_changes_total", 1, kind="funding")
    grew("policy_monitor_failures_total", 1, stage="fetch")
    grew("policy_monitor_failures_total", 1, stage="delivery")
    grew("policy_monitor_deliveries_total", 1, channel="console", result="sent")
    grew("policy_monitor_deliveries_total", 1, channel="slack", result="dead")
    grew("policy_monitor_cycle_duration_seconds_count", 4)
    grew("policy_monitor_events_written_total", 1)
    assert "£25 million" in out.getvalue()

    seen = samples(db)  # the database's view, as any process would scrape it
    assert seen[("policy_monitor_database_up", ())] == 1
    assert seen[("policy_monitor_events", (("kind", "page_changed"), ("status", "failed")))] == 1
    rows = ("policy_monitor_delivery_rows", (("channel", "slack"), ("status", "dead")))
    assert seen[rows] == 1
    last = (
        "policy_monitor_last_success_timestamp_seconds",
        (("source", "adhoc"), ("what", "pages")),
    )
    assert seen.get(last, 0) == 0  # the last fetch failed: no page of the source is good now


def test_queue_lag_and_last_good_poll_come_from_the_database(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        (p,) = adhoc_pages(s, [URL])
        page_row = s.get(WatchedPage, p.id)
        assert page_row is not None
        page_row.last_checked_at, page_row.last_status = now - timedelta(minutes=5), 304
        old = Event(kind="page_changed", dedup_key="k1", created_at=now - timedelta(hours=1))
        s.add_all([old, Event(kind="page_new", dedup_key="k2", created_at=now)])
        s.flush()
        s.add(
            Delivery(
                key="d1",
                event_id=old.id,
                channel="email",
                recipient="a@x.test",
                next_attempt_at=now - timedelta(minutes=10),
            )
        )
        s.add(
            Delivery(
                key="d2",
                event_id=old.id,
                channel="email",
                recipient="b@x.test",
                next_attempt_at=now + timedelta(hours=2),
            )
        )  # waiting on its backoff
    seen = samples(db)
    lag = {k[1][0][1]: v for k, v in seen.items() if k[0] == "policy_monitor_queue_lag_seconds"}
    assert 3590 < lag["events"] < 3700 and 590 < lag["deliveries"] < 700
    last = (
        "policy_monitor_last_success_timestamp_seconds",
        (("source", "adhoc"), ("what", "pages")),
    )
    assert abs(seen[last] - (now - timedelta(minutes=5)).timestamp()) < 2
    rows = ("policy_monitor_delivery_rows", (("channel", "email"), ("status", "pending")))
    assert seen[rows] == 2

    fresh = health.check(db, max_poll_age_s=3600, now=now)
    assert fresh.ok and fresh.checks["last_poll"]["status"] == "pass"
    stale = health.check(db, max_poll_age_s=60, now=now)
    assert not stale.ok and stale.checks["last_poll"]["status"] == "fail"


def test_procrastinate_jobs_waiting_count_as_lag(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.engine.begin() as conn:  # the two columns of procrastinate's schema we read
            conn.execute(
                text(
                    "CREATE TABLE procrastinate_jobs (id bigserial PRIMARY KEY, status text, "
                    "scheduled_at timestamptz)"
                )
            )
            conn.execute(
                text(
                    "CREATE TABLE procrastinate_events (id bigserial PRIMARY KEY, job_id bigint, "
                    "type text, at timestamptz)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO procrastinate_jobs (status, scheduled_at) VALUES "
                    "('todo', NULL), ('todo', now() + interval '1 hour'), ('doing', NULL)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO procrastinate_events (job_id, type, at) VALUES "
                    "(1, 'deferred', now() - interval '20 minutes'), "
                    "(3, 'deferred', now() - interval '2 hours')"
                )
            )
        seen = samples(db)
        lag = seen[("policy_monitor_queue_lag_seconds", (("queue", "jobs"),))]
        assert 1190 < lag < 1300
    finally:
        db.dispose()


def test_healthz_and_metrics_answer_and_say_when_the_database_is_down(db: Database) -> None:
    alive = {"running": True}
    client = TestClient(ops_app.make_app(db, scheduler=lambda: alive["running"]))
    ok = client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json()["checks"]["database"] == {"status": "pass"}
    assert ok.json()["checks"]["scheduler"]["status"] == "pass"
    alive["running"] = False
    assert client.get("/healthz").status_code == 503
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    assert "policy_monitor_database_up 1.0" in scrape.text

    down = Database(DEAD_PG, migrate=False)
    client = TestClient(ops_app.make_app(down))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"]["status"] == "fail"
    assert answer.json()["checks"]["scheduler"]["status"] == "skip"
    assert "policy_monitor_database_up 0.0" in client.get("/metrics").text


def test_serve_runs_inside_a_running_loop_and_stops_when_cancelled(db: Database) -> None:
    async def scenario() -> tuple[int, int]:
        port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            ops_app.serve(ops_app.make_app(db), "127.0.0.1", 0, started=port.set_result)
        )
        bound = await asyncio.wait_for(port, 10)
        async with httpx.AsyncClient() as http:
            code = (await http.get(f"http://127.0.0.1:{bound}/healthz")).status_code
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return bound, code

    bound, code = asyncio.run(scenario())
    assert code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{bound}/healthz", timeout=2)


def test_listen_addresses() -> None:
    assert ops_app.parse_listen("0.0.0.0:9108") == ("0.0.0.0", 9108)
    assert ops_app.parse_listen(":9200") == ("127.0.0.1", 9200)
    assert ops_app.parse_listen("[::1]:9108") == ("::1", 9108)
    with pytest.raises(Exception, match="HOST:PORT"):
        ops_app.parse_listen("9108x")


def test_a_port_in_use_is_a_clear_error(db: Database) -> None:
    import socket

    from monitor.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def scenario() -> None:
            await ops_app.start(ops_app.make_app(db), "127.0.0.1", port)

        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(scenario())
