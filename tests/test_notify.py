"""Delivering outbox events: each once, failures kept for a retry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from monitor.db import Database
from monitor.event import emit
from monitor.models import Event
from monitor.notify import MAX_ATTEMPTS, deliver_pending


class Collecting:
    name = "collect"

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []

    def send(self, alert: Any, recipient: str) -> None:
        kind, payload = alert.kind, alert.payload
        self.got.append((kind, payload))


class Down:
    name = "down"

    def send(self, alert: Any, recipient: str) -> None:
        _kind, _payload = alert.kind, alert.payload
        raise ConnectionError("Slack unreachable")


def queue(db: Database, n: int) -> None:
    with db.session() as s:
        for i in range(n):
            emit(s, "page_changed", f"k{i}", {"url": f"https://www.gov.uk/{i}", "summary": "x"})
        assert emit(s, "page_changed", "k0", {}) is None  # same key: not queued twice


def test_each_event_delivered_once(db: Database) -> None:
    queue(db, 3)
    sink = Collecting()
    assert deliver_pending(db, [sink]) == 3
    assert deliver_pending(db, [sink]) == 0
    assert [p["url"] for _, p in sink.got] == [f"https://www.gov.uk/{i}" for i in range(3)]
    with db.session() as s:
        assert {e.status for e in s.scalars(select(Event))} == {"delivered"}


def test_failed_delivery_stays_pending_then_gives_up(db: Database) -> None:
    queue(db, 1)
    assert deliver_pending(db, [Down()]) == 0
    with db.session() as s:
        row = s.scalars(select(Event)).one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "Slack unreachable" in (row.last_error or "")
    for _ in range(MAX_ATTEMPTS):
        deliver_pending(db, [Down()])
    with db.session() as s:
        assert s.scalars(select(Event)).one().status == "failed"
    sink = Collecting()
    assert deliver_pending(db, [sink]) == 0 and not sink.got


def test_unknown_event_kind_is_rejected(db: Database) -> None:
    with db.session() as s, pytest.raises(ValueError, match="made_up"):
        emit(s, "made_up", "k", {})


def test_a_claim_left_by_a_crashed_run_is_released_later(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    queue(db, 2)
    with db.session() as s:
        old, fresh = s.scalars(select(Event).order_by(Event.id)).all()
        old.status, old.claimed_at = "sending", datetime.now(UTC) - timedelta(hours=1)
        fresh.status, fresh.claimed_at = "sending", datetime.now(UTC) - timedelta(minutes=1)
    sink = Collecting()
    assert deliver_pending(db, [sink]) == 1
    assert [p["url"] for _, p in sink.got] == ["https://www.gov.uk/0"]  # the fresh claim waits
