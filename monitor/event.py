"""Events: plain records written to an outbox table, delivered later by notifiers.

Writing an event and the change that caused it happen in one transaction, and the
unique ``dedup_key`` means a replayed cycle can never queue the same alert twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Event

EVENT_KINDS = (
    "page_changed",
    "page_new",
    "page_removed",
    "page_moved",
    "sitewide_change",
    "deadline_changed",
    "deadline_approaching",
    "deadline_passed",
    "funding_changed",
    "target_changed",
    "status_suggested",
    "guidance_changed",
)


@dataclass
class PendingEvent:
    """An event as notifiers see it."""

    id: int
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


MAX_KEY = 300


def fit_key(key: str) -> str:
    """A dedup key that fits the column: long keys keep a prefix and a hash of the whole."""
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: MAX_KEY - len(digest) - 1]}#{digest}"


def emit(
    session: Session,
    kind: str,
    dedup_key: str,
    payload: dict[str, Any],
    *,
    page_id: int | None = None,
    change_id: int | None = None,
) -> Event | None:
    """Queue an event unless one with the same ``dedup_key`` exists; returns the new row."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    dedup_key = fit_key(dedup_key)
    existing = session.scalar(select(Event.id).where(Event.dedup_key == dedup_key))
    if existing is not None:
        return None
    event = Event(
        kind=kind,
        dedup_key=dedup_key,
        payload=payload,
        page_id=page_id,
        change_id=change_id,
        status="pending",
        attempts=0,
    )
    session.add(event)
    session.flush()
    return event


def pending(session: Session, limit: int = 500) -> list[Event]:
    """Undelivered events, oldest first."""
    stmt = select(Event).where(Event.status == "pending").order_by(Event.id).limit(limit)
    return list(session.scalars(stmt))
