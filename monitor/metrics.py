"""Prometheus metrics: counters fed in-process, and what is true across processes read at scrape.

The cycle calls :func:`observe_fetch`, :func:`observe_outcome` and :func:`observe_cycle`,
delivery :func:`observe_delivery`; those counters describe this process since it started. What must
agree however many schedulers and workers run (events by kind and status, deliveries by
channel and status, queue lag, the last good poll of each source) is read from the database
by :class:`DatabaseCollector` each time ``/metrics`` is scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.db import Database, table_names
from monitor.models import Delivery, Event, PollState, Source, WatchedPage

PREFIX = "policy_monitor"
disable_created_metrics()  # the *_created series only repeat when this process started
CYCLE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)

FETCHES = Counter(
    f"{PREFIX}_fetches", "Page fetches recorded, by outcome.", ["outcome"], registry=None
)
NOT_MODIFIED = Counter(
    f"{PREFIX}_not_modified", "Fetches answered 304 Not Modified.", registry=None
)
CHANGES = Counter(f"{PREFIX}_changes", "Typed changes found, by kind.", ["kind"], registry=None)
FAILURES = Counter(
    f"{PREFIX}_failures",
    "Failures, by stage (fetch: no usable answer or an HTTP error; delivery: dead-lettered).",
    ["stage"],
    registry=None,
)
EVENTS = Counter(f"{PREFIX}_events_written", "Events written by cycles.", registry=None)
DELIVERIES = Counter(
    f"{PREFIX}_deliveries",
    "Delivery attempts, by channel and result (sent, retry, dead).",
    ["channel", "result"],
    registry=None,
)
CYCLE_SECONDS = Histogram(
    f"{PREFIX}_cycle_duration_seconds",
    "Wall time of one check cycle.",
    buckets=CYCLE_BUCKETS,
    registry=None,
)
LAST_CYCLE = Gauge(
    f"{PREFIX}_last_cycle_end_timestamp_seconds",
    "When this process last finished a cycle (Unix time).",
    registry=None,
)
IN_PROCESS: tuple[Collector, ...] = (
    FETCHES,
    NOT_MODIFIED,
    CHANGES,
    FAILURES,
    EVENTS,
    DELIVERIES,
    CYCLE_SECONDS,
    LAST_CYCLE,
)


def observe_fetch(http_status: int, error: str | None) -> None:
    """One fetch came back: a 304, or a failure (no usable answer, or an HTTP error)."""
    if http_status == 304:
        NOT_MODIFIED.inc()
    if error is not None or http_status == 0 or http_status >= 400:
        FAILURES.labels("fetch").inc()


def observe_outcome(status: str, changes: Iterable[dict[str, Any]]) -> None:
    """One page recorded by a cycle: its outcome and its typed changes."""
    FETCHES.labels(status).inc()
    for change in changes:
        CHANGES.labels(str(change.get("kind", "unknown"))).inc()


def observe_cycle(seconds: float, events: int) -> None:
    """One cycle ended after ``seconds`` and wrote ``events`` events."""
    CYCLE_SECONDS.observe(seconds)
    EVENTS.inc(events)
    LAST_CYCLE.set(time.time())


def observe_delivery(channel: str, result: str) -> None:
    """One send recorded: ``sent``, ``pending`` (will retry) or ``dead``."""
    result = "retry" if result == "pending" else result
    DELIVERIES.labels(channel, result).inc()
    if result == "dead":
        FAILURES.labels("delivery").inc()


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def _stamp(when: datetime | None) -> float:
    if when is None:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class DatabaseCollector(Collector):
    """Reads the cross-process truth from the database at each scrape (one short read)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only; never touch the database at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the database answered.")
        try:
            families = self._read()
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        now = datetime.now(UTC)
        events = GaugeMetricFamily(
            f"{PREFIX}_events",
            "Events in the outbox, by kind and status.",
            labels=["kind", "status"],
        )
        deliveries = GaugeMetricFamily(
            f"{PREFIX}_delivery_rows",
            "Deliveries, by channel and status (pending, sending, sent, dead).",
            labels=["channel", "status"],
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}_queue_lag_seconds",
            "Age of the oldest work waiting: pending events, due deliveries, queued jobs.",
            labels=["queue"],
        )
        last = GaugeMetricFamily(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Last successful poll of each source (Unix time): its pages or its discovery inputs.",
            labels=["source", "what"],
        )
        with self.db.session(readonly=True) as s:
            for kind, status, n in s.execute(
                select(Event.kind, Event.status, func.count()).group_by(Event.kind, Event.status)
            ):
                events.add_metric([kind, status], n)
            for channel, status, n in s.execute(
                select(Delivery.channel, Delivery.status, func.count()).group_by(
                    Delivery.channel, Delivery.status
                )
            ):
                deliveries.add_metric([channel, status], n)
            oldest_event = s.scalar(
                select(func.min(Event.created_at)).where(Event.status == "pending")
            )
            oldest_due = s.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.status == "pending", Delivery.next_attempt_at <= now
                )
            )
            lag.add_metric(["events"], _age(now, oldest_event))
            lag.add_metric(["deliveries"], _age(now, oldest_due))
            for name, when in s.execute(
                select(Source.name, func.max(WatchedPage.last_checked_at))
                .join(WatchedPage, WatchedPage.source_id == Source.id)
                .where(WatchedPage.consecutive_failures == 0, WatchedPage.last_status < 400)
                .group_by(Source.name)
            ):
                if when is not None:
                    last.add_metric([name, "pages"], _stamp(when))
            for name, when in s.execute(
                select(PollState.source, func.max(PollState.polled_at))
                .where(PollState.consecutive_failures == 0)
                .group_by(PollState.source)
            ):
                if when is not None:
                    last.add_metric([name, "discovery"], _stamp(when))
            jobs = oldest_job(s)
            if jobs is not None:
                lag.add_metric(["jobs"], _age(now, jobs))
        return [events, deliveries, lag, last]


PROCRASTINATE_JOBS = "procrastinate_jobs"


def oldest_job(session: Any) -> datetime | None:
    """When the oldest job still waiting in procrastinate's queue became due, if that table exists."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or PROCRASTINATE_JOBS not in table_names(bind):
        return None
    # a job deferred for later is not late until its time; one with no time is due since queued
    try:
        with session.begin_nested():
            row = session.execute(
                text(
                    "SELECT min(coalesce(j.scheduled_at, e.at)) FROM procrastinate_jobs j "
                    "LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred' "
                    "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
                )
            ).scalar()
    except SQLAlchemyError:  # another procrastinate schema than the one we know: no figure
        return None
    return row if isinstance(row, datetime) else None


def registry_for(db: Database | None) -> CollectorRegistry:
    """A registry with this process's counters and, given a database, the database's view."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in IN_PROCESS:
        registry.register(collector)
    if db is not None:
        registry.register(DatabaseCollector(db))
    return registry
