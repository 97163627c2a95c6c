"""Delivering queued events to notifiers, each event once.

An event is marked delivered in the same transaction that records the delivery; a notifier
that raises leaves it pending (attempts counted) for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.db import Database
from monitor.event import pending
from notifiers.base import Notifier

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def deliver_pending(db: Database, notifiers: Sequence[Notifier]) -> int:
    """Deliver every pending event to every notifier; return how many were delivered."""
    delivered = 0
    with db.session() as s:
        events = pending(s)
    for event in events:
        with db.session() as s:
            row = s.merge(event)
            if row.status != "pending":
                continue
            try:
                for notifier in notifiers:
                    notifier.deliver(row.kind, row.payload)
            except Exception as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                log.warning("event %s not delivered: %s", row.id, row.last_error)
                continue
            row.status = "delivered"
            row.attempts += 1
            row.delivered_at = datetime.now(UTC)
            delivered += 1
    return delivered
