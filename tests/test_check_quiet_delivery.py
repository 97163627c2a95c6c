"""`check` skips delivery (and its imports) only when delivery would have nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.check import _nothing_to_deliver
from monitor.config import Config
from monitor.db import Database
from monitor.models import Delivery, Event


def _event(db: Database, status: str) -> int:
    with db.session() as s:
        e = Event(kind="page_changed", dedup_key=f"k-{status}", payload={}, status=status)
        s.add(e)
        s.flush()
        return e.id


def _delivery(db: Database, event_id: int, status: str, due: datetime) -> None:
    with db.session() as s:
        s.add(
            Delivery(
                key=f"{event_id}:console:-:{status}",
                event_id=event_id,
                channel="console",
                recipient="-",
                status=status,
                next_attempt_at=due,
                claimed_at=due if status == "sending" else None,
            )
        )


def test_empty_database_and_no_channels(db: Database) -> None:
    assert _nothing_to_deliver(db, Config())


def test_settled_rows_and_future_retries_leave_nothing(db: Database) -> None:
    done = _event(db, "delivered")
    _delivery(db, done, "sent", datetime.now(UTC) - timedelta(hours=1))
    _delivery(db, done, "pending", datetime.now(UTC) + timedelta(hours=1))
    assert _nothing_to_deliver(db, Config())


def test_a_pending_event_is_work(db: Database) -> None:
    _event(db, "pending")
    assert not _nothing_to_deliver(db, Config())


@pytest.mark.parametrize("status", ["pending", "sending"])
def test_a_due_or_claimed_delivery_is_work(db: Database, status: str) -> None:
    done = _event(db, "routed")
    _delivery(db, done, status, datetime.now(UTC) - timedelta(minutes=1))
    assert not _nothing_to_deliver(db, Config())


def test_a_configured_channel_always_delivers(db: Database) -> None:
    config = Config.model_validate({"notify": {"slack": {"webhook_url_env": "X"}}})
    assert not _nothing_to_deliver(db, config)
