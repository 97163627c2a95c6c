"""Change, page, event and subscriber queries: the change page and the JSON API's lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from monitor.db import Database
from monitor.models import (
    ChangeRecord,
    Commitment,
    Event,
    Evidence,
    Snapshot,
    Source,
    Subscriber,
    Subscription,
    WatchedPage,
)
from monitor.queries.common import aware


@dataclass(frozen=True)
class SnapshotView:
    id: int
    fetched_at: datetime | None
    http_status: int
    content_hash: str
    text_hash: str
    text: str
    url: str | None
    change_notes: list[dict[str, Any]] = field(default_factory=list)  # the publisher's own


@dataclass(frozen=True)
class Matched:
    """A commitment a change was matched to, and why."""

    commitment_id: str
    title: str
    kind: str
    reason: str
    score: float | None


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str
    created_at: datetime | None
    page_id: int | None
    change_id: int | None
    status: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ChangeDetail:
    id: int
    page_id: int
    page_url: str
    page_title: str | None
    source: str | None
    detected_at: datetime | None
    meaningful: bool
    significance: float
    summary: str
    diff: str
    changes: list[dict[str, Any]]
    ignored: list[dict[str, Any]]
    before: SnapshotView | None
    after: SnapshotView
    events: list[EventView]
    matched: list[Matched]


def _snapshot(row: Snapshot | None) -> SnapshotView | None:
    if row is None:
        return None
    return SnapshotView(
        row.id,
        aware(row.fetched_at),
        row.http_status,
        row.content_hash,
        row.text_hash,
        row.text,
        row.final_url,
        [n for n in (row.meta or {}).get("change_notes") or [] if isinstance(n, dict)],
    )


def _event(e: Event) -> EventView:
    return EventView(
        e.id, e.kind, aware(e.created_at), e.page_id, e.change_id, e.status, dict(e.payload or {})
    )


def change(db: Database, change_id: int) -> ChangeDetail | None:
    """A change with both snapshots, its events and the commitments it was matched to."""
    with db.session(readonly=True) as s:
        row = s.get(ChangeRecord, change_id)
        if row is None:
            return None
        page = s.get(WatchedPage, row.page_id)
        assert page is not None
        source = s.get(Source, page.source_id) if page.source_id else None
        after = _snapshot(s.get(Snapshot, row.to_snapshot_id))
        assert after is not None
        before = _snapshot(s.get(Snapshot, row.from_snapshot_id)) if row.from_snapshot_id else None
        events = [
            _event(e)
            for e in s.scalars(select(Event).where(Event.change_id == row.id).order_by(Event.id))
        ]
        matched = [
            Matched(c.id, c.title, e.kind, e.reason, e.score)
            for e, c in s.execute(
                select(Evidence, Commitment)
                .join(Commitment, Commitment.id == Evidence.commitment_id)
                .where(Evidence.change_id == row.id)
                .order_by(Evidence.id)
            )
        ]
        return ChangeDetail(
            row.id,
            row.page_id,
            page.url,
            page.title,
            source.name if source else None,
            aware(row.detected_at),
            row.meaningful,
            row.significance,
            row.summary,
            row.diff,
            list(row.changes or []),
            list(row.ignored or []),
            before,
            after,
            events,
            matched,
        )


@dataclass(frozen=True)
class ChangeRow:
    id: int
    page_url: str
    page_title: str | None
    detected_at: datetime | None
    significance: float
    summary: str
    kinds: list[str]


def changes(
    db: Database, *, limit: int = 50, before_id: int | None = None, meaningful: bool = True
) -> list[ChangeRow]:
    """Changes, newest first; ``before_id`` pages back through older ones."""
    with db.session(readonly=True) as s:
        stmt = select(ChangeRecord, WatchedPage).join(
            WatchedPage, WatchedPage.id == ChangeRecord.page_id
        )
        if meaningful:
            stmt = stmt.where(ChangeRecord.meaningful.is_(True))
        if before_id is not None:
            stmt = stmt.where(ChangeRecord.id < before_id)
        stmt = stmt.order_by(ChangeRecord.id.desc()).limit(limit)
        return [
            ChangeRow(
                c.id,
                p.url,
                p.title,
                aware(c.detected_at),
                c.significance,
                c.summary,
                sorted({str(t.get("kind")) for t in c.changes or []}),
            )
            for c, p in s.execute(stmt)
        ]


@dataclass(frozen=True)
class PageRow:
    id: int
    url: str
    title: str | None
    source: str | None
    active: bool
    last_checked_at: datetime | None
    last_status: int | None
    removed_at: datetime | None


def watched_pages(db: Database) -> list[PageRow]:
    """Every watched page, by URL."""
    with db.session(readonly=True) as s:
        stmt = (
            select(WatchedPage, Source.name)
            .outerjoin(Source, Source.id == WatchedPage.source_id)
            .order_by(WatchedPage.url)
        )
        return [
            PageRow(
                p.id,
                p.url,
                p.title,
                name,
                p.active,
                aware(p.last_checked_at),
                p.last_status,
                aware(p.removed_at),
            )
            for p, name in s.execute(stmt)
        ]


def events(db: Database, *, after_id: int = 0, limit: int = 100) -> list[EventView]:
    """Events in the order they were written; ``after_id`` reads on from a known one."""
    with db.session(readonly=True) as s:
        stmt = select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
        return [_event(e) for e in s.scalars(stmt)]


def subscriber_email(db: Database, subscriber_id: int) -> str | None:
    """The address of a subscriber (for the manage page reached by a signed link)."""
    with db.session(readonly=True) as s:
        row = s.get(Subscriber, subscriber_id)
        return row.email if row else None


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    subscriber_id: int
    email: str
    follow_kind: str
    value: str
    frequency: str
    status: str


def subscription_view(db: Database, subscription_id: int) -> SubscriptionView | None:
    """One subscription and its address (for the confirm page reached by a signed link)."""
    with db.session(readonly=True) as s:
        found = s.execute(
            select(Subscription, Subscriber.email)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscription.id == subscription_id)
        ).first()
        if found is None:
            return None
        row, email = found
        return SubscriptionView(
            row.id,
            row.subscriber_id,
            email,
            row.follow_kind,
            row.follow_value,
            row.frequency,
            row.status,
        )


def commitment_title(db: Database, commitment_id: str) -> str | None:
    with db.session(readonly=True) as s:
        row = s.get(Commitment, commitment_id)
        return row.title if row else None
