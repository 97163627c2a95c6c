"""Delivering queued events to notifiers, each event once.

An event is first *claimed* (pending -> sending, in its own short transaction, so two
delivery runs can never both take it), then sent with no transaction open, then its outcome
recorded. ``delivered_to`` remembers every notifier that succeeded, so a retry after a
partial failure, or after a crash mid-delivery, never repeats a notifier that worked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from monitor.db import Database
from monitor.event import pending
from monitor.models import Event
from notifiers.base import Alert, Notifier

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
STALE_CLAIM = timedelta(minutes=15)  # a claim older than this was left by a crashed run


def _release_stale(db: Database, now: datetime) -> None:
    with db.session() as s:
        s.execute(
            update(Event)
            .where(Event.status == "sending", Event.claimed_at < now - STALE_CLAIM)
            .values(status="pending")
        )


def _claim(
    db: Database, event_id: int, now: datetime
) -> tuple[str, dict[str, Any], list[str]] | None:
    with db.session() as s:
        taken = s.execute(
            update(Event)
            .where(Event.id == event_id, Event.status == "pending")
            .values(status="sending", claimed_at=now)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None  # delivered or claimed by another run meanwhile
        row = s.get(Event, event_id)
        assert row is not None
        return row.kind, dict(row.payload), list(row.delivered_to or [])


def deliver_pending(db: Database, notifiers: Sequence[Notifier]) -> int:
    """Deliver every pending event to every notifier; return how many were delivered."""
    now = datetime.now(UTC)
    _release_stale(db, now)
    delivered = 0
    with db.session() as s:
        ids = [e.id for e in pending(s)]
    for event_id in ids:
        claim = _claim(db, event_id, now)
        if claim is None:
            continue
        kind, payload, done = claim
        alert = Alert(event_id, kind, payload, now)
        error = None
        for notifier in notifiers:
            if notifier.name in done:
                continue
            try:
                notifier.send(alert, "-")
            except Exception as exc:
                error = f"{notifier.name}: {type(exc).__name__}: {exc}"[:2000]
                break
            done.append(notifier.name)
        with db.session() as s:
            row = s.get(Event, event_id)
            assert row is not None
            row.attempts += 1
            row.delivered_to = done
            if error is None:
                row.status, row.delivered_at = "delivered", datetime.now(UTC)
                delivered += 1
            else:
                row.last_error = error
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
                log.warning("event %s not delivered: %s", event_id, error)
    return delivered
