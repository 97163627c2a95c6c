"""Delivery: one row per (event, channel, recipient), sent once, retried with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from monitor import settings
from monitor.config import NotifyConfig, RouteConfig, SlackConfig
from monitor.db import Database
from monitor.delivery import backoff, deliver
from monitor.models import Delivery, Event, ThreadRef
from monitor.outbox import emit
from monitor.routing import Target, targets
from notifiers.base import Alert, DeliveryError


class Sink:
    def __init__(self, name: str = "console", fail: Exception | None = None) -> None:
        self.name = self.kind = name
        self.fail = fail
        self.got: list[tuple[Alert, str]] = []

    def send(self, alert: Alert, recipient: str) -> str | None:
        if self.fail is not None:
            raise self.fail
        self.got.append((alert, recipient))
        return f"ts-{alert.event_id}"


def to(*pairs: tuple[str, str]) -> Any:
    def router(kind: str, payload: dict[str, Any]) -> list[Target]:
        thread = payload.get("commitment_id")
        return [Target(c, r, "test route", thread) for c, r in pairs]

    return router


def queue(db: Database, n: int, **payload: Any) -> list[int]:
    with db.session() as s:
        ids = [emit(s, "page_changed", f"k{i}", {"url": f"u{i}", **payload}) for i in range(n)]
        assert emit(s, "page_changed", "k0", {}) is None  # same key: not queued twice
    return [i for i in ids if i is not None]


def statuses(db: Database) -> dict[str, int]:
    with db.session(readonly=True) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    return {status: n for status, n in rows}


def test_each_event_goes_once_to_each_recipient(db: Database) -> None:
    queue(db, 3)
    a, b = Sink("console"), Sink("slack")
    report = deliver(db, {"console": a, "slack": b}, to(("console", "-"), ("slack", "#a")))
    assert (report.routed, report.sent) == (6, 6)
    again = deliver(db, {"console": a, "slack": b}, to(("console", "-"), ("slack", "#a")))
    assert (again.routed, again.sent) == (0, 0)
    with db.session() as s:  # routing an event again adds no delivery, on both databases
        s.execute(update(Event).values(status="pending"))
    assert deliver(db, {"console": a, "slack": b}, to(("console", "-"))).routed == 0
    assert [x.payload["url"] for x, _ in a.got] == ["u0", "u1", "u2"]
    assert {r for _, r in b.got} == {"#a"}
    with db.session(readonly=True) as s:
        assert {e.status for e in s.scalars(select(Event))} == {"delivered"}


def test_more_than_one_batch_is_all_delivered(db: Database) -> None:
    queue(db, 520)
    sink = Sink()
    assert deliver(db, {"console": sink}, to(("console", "-"))).sent == 520


def test_one_failing_channel_does_not_hold_up_the_others(db: Database) -> None:
    queue(db, 1)
    good, down = Sink("console"), Sink("slack", ConnectionError("Slack unreachable"))
    report = deliver(db, {"console": good, "slack": down}, to(("console", "-"), ("slack", "#a")))
    assert (report.sent, report.retrying) == (1, 1) and len(good.got) == 1
    down.fail = None
    later = datetime.now(UTC) + timedelta(hours=1)
    report = deliver(db, {"console": good, "slack": down}, to(), now=later)
    assert report.sent == 1 and len(good.got) == 1  # the channel that worked is not repeated


def test_failures_back_off_then_dead_letter_with_the_last_error(db: Database) -> None:
    queue(db, 1)
    down = Sink("console", ConnectionError("SMTP down"))
    now = datetime.now(UTC)
    assert deliver(db, {"console": down}, to(("console", "-")), now=now).retrying == 1
    # run again at once: the retry is not due yet, so nothing is attempted back to back
    assert deliver(db, {"console": down}, to(), now=now).retrying == 0
    with db.session(readonly=True) as s:
        d = s.scalars(select(Delivery)).one()
        assert d.attempts == 1 and "SMTP down" in (d.last_error or "")
        wait = d.next_attempt_at.replace(tzinfo=UTC) - now
    assert timedelta(seconds=settings.DELIVERY_BACKOFF_S * 0.9) < wait
    for n in range(2, settings.DELIVERY_MAX_ATTEMPTS + 1):
        now += backoff(n) * 2
        deliver(db, {"console": down}, to(), now=now)
    assert statuses(db) == {"dead": 1}
    with db.session(readonly=True) as s:
        assert s.scalars(select(Event)).one().status == "failed"


def test_backoff_doubles_and_honours_retry_after() -> None:
    assert backoff(2) == 2 * backoff(1)
    assert backoff(50) == timedelta(seconds=settings.DELIVERY_BACKOFF_MAX_S)
    assert backoff(1, retry_after=7) == timedelta(seconds=7)


def test_a_permanent_refusal_is_dead_at_once(db: Database) -> None:
    queue(db, 1)
    refused = Sink("slack", DeliveryError("channel_not_found", permanent=True))
    assert deliver(db, {"slack": refused}, to(("slack", "#gone"))).dead == 1
    assert statuses(db) == {"dead": 1}


def test_a_channel_no_longer_configured_is_dead_lettered_not_crashed(db: Database) -> None:
    queue(db, 1)
    report = deliver(db, {}, to(("slack", "#a")))
    assert report.dead == 1 and "not configured" in report.errors[0]


def test_a_claim_left_by_a_crashed_run_is_retried_only_when_stale(db: Database) -> None:
    queue(db, 2)
    sink = Sink()
    deliver(db, {"console": Sink("console", ConnectionError("x"))}, to(("console", "-")))
    with db.session() as s:
        old, fresh = s.scalars(select(Delivery).order_by(Delivery.id)).all()
        old.status, old.claimed_at = "sending", datetime.now(UTC) - timedelta(hours=1)
        fresh.status, fresh.claimed_at = "sending", datetime.now(UTC) - timedelta(minutes=1)
        s.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC)))
    assert deliver(db, {"console": sink}, to()).sent == 1
    assert [a.payload["url"] for a, _ in sink.got] == ["u0"]  # the fresh claim waits


def test_a_delivery_sent_by_another_run_meanwhile_is_skipped(db: Database) -> None:
    queue(db, 2)

    class Racing(Sink):
        def send(self, alert: Alert, recipient: str) -> str | None:
            with db.session() as s:  # meanwhile another run sends every other delivery
                s.execute(
                    update(Delivery)
                    .where(Delivery.event_id != alert.event_id)
                    .values(status="sent")
                )
            return super().send(alert, recipient)

    racing = Racing()
    assert deliver(db, {"console": racing}, to(("console", "-"))).sent == 1
    assert len(racing.got) == 1


def test_follow_ups_to_a_commitment_go_in_its_thread(db: Database) -> None:
    with db.session() as s:
        emit(s, "funding_changed", "f1", {"commitment_id": "c1"})
        emit(s, "deadline_changed", "f2", {"commitment_id": "c1"})
        emit(s, "funding_changed", "f3", {"commitment_id": "c2"})
    sink = Sink("slack")
    deliver(db, {"slack": sink}, to(("slack", "#a")))
    refs = [a.thread_ref for a, _ in sink.got]
    first = sink.got[0][0].event_id
    assert refs == [None, f"ts-{first}", None]
    with db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(ThreadRef)) == 2


def test_unrouted_events_say_so(db: Database) -> None:
    queue(db, 1)
    deliver(db, {}, to())
    with db.session(readonly=True) as s:
        e = s.scalars(select(Event)).one()
    assert (e.status, e.note) == ("unrouted", "no route matched")


def test_routes_filter_by_kind_source_commitment_tag_and_significance() -> None:
    notify = NotifyConfig(
        slack=SlackConfig(channels={"team": "#team", "money": "#money"}),
        routes=[
            RouteConfig(events=["funding_changed"], tags=["crisis"], notify=["slack:money"]),
            RouteConfig(sources=["nice"], min_significance=0.5, notify=["slack:team"]),
            RouteConfig(commitments=["c9"], notify=["console", "slack:team"]),
        ],
    )
    money = targets("funding_changed", {"tags": ["crisis"], "significance": 0.9}, notify)
    assert [(t.channel, t.recipient) for t in money] == [("slack", "#money")]
    assert "tags crisis" in money[0].why
    assert targets("funding_changed", {"tags": ["other"]}, notify) == []
    assert [t.recipient for t in targets("page_changed", {"source": "nice",
            "significance": 0.6}, notify)] == ["#team"]  # fmt: skip
    assert targets("page_changed", {"source": "nice", "significance": 0.2}, notify) == []
    both = targets("status_suggested", {"commitment_id": "c9"}, notify)
    assert [(t.channel, t.thread_key) for t in both] == [("console", "c9"), ("slack", "c9")]
    default = targets("page_changed", {}, NotifyConfig())
    assert [(t.channel, t.why) for t in default] == [("console", "default route: console")]
