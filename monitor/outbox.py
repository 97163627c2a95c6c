"""The outbox: events written once, idempotently, on SQLite and PostgreSQL alike.

A cycle stages its drafts with each page (:func:`stage`), then publishes them all at its end
(:func:`publish`): folded across pages first, then inserted with ``ON CONFLICT DO NOTHING``
on the dedup key, so two processes, or a replayed cycle, can never queue an alert twice.
Drafts left by a cycle that crashed are published by the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from monitor import settings
from monitor.db import dialect_insert
from monitor.event import EventDraft
from monitor.folding import fold
from monitor.models import Event, Evidence, StagedEvent

ORPHAN_AFTER = timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S)


def insert(session: Session, drafts: Iterable[EventDraft]) -> list[int]:
    """Write drafts to the outbox; returns the ids of the rows that were new."""
    return [i for _, i in _insert(session, list(drafts))]


def _insert(session: Session, drafts: list[EventDraft]) -> list[tuple[EventDraft, int]]:
    rows = [
        {
            "kind": d.kind,
            "dedup_key": d.dedup_key,
            "payload": d.payload,
            "page_id": d.page_id,
            "change_id": d.change_id,
            "status": d.status,
            "note": d.note,
            "created_at": datetime.now(UTC),
        }
        for d in drafts
    ]
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    ins: Any = dialect_insert(dialect, Event)
    out: list[tuple[EventDraft, int]] = []
    for draft, row in zip(drafts, rows, strict=True):
        # one statement a row: RETURNING under ON CONFLICT reports only the rows inserted
        stmt = ins.values(**row).on_conflict_do_nothing(index_elements=["dedup_key"])
        new = session.execute(stmt.returning(Event.id)).scalar()
        if new is not None:
            out.append((draft, int(new)))
    return out


def emit(
    session: Session,
    kind: str,
    dedup_key: str,
    payload: dict[str, Any],
    *,
    page_id: int | None = None,
    change_id: int | None = None,
) -> int | None:
    """Write one event now (for events that span nothing); None when it already existed."""
    ids = insert(session, [EventDraft(kind, dedup_key, payload, page_id, change_id)])
    return ids[0] if ids else None


def stage(session: Session, cycle: str, drafts: Iterable[EventDraft]) -> None:
    """Hold a page's drafts until the cycle ends (same transaction as the page's snapshot)."""
    for d in drafts:
        session.add(
            StagedEvent(
                cycle=cycle,
                kind=d.kind,
                dedup_key=d.dedup_key,
                payload=d.payload,
                page_id=d.page_id,
                change_id=d.change_id,
                site=d.site,
                changes=d.changes,
            )
        )


def _draft(row: StagedEvent) -> EventDraft:
    return EventDraft(
        row.kind,
        row.dedup_key,
        dict(row.payload),
        row.page_id,
        row.change_id,
        site=row.site,
        changes=list(row.changes or []),
    )


def publish(
    session: Session, cycle: str, *, min_pages: int = settings.SITEWIDE_MIN_PAGES
) -> list[int]:
    """Fold this cycle's drafts (and any a crashed cycle left) and write them as events."""
    orphaned = datetime.now(UTC) - ORPHAN_AFTER
    rows = list(
        session.scalars(
            select(StagedEvent)
            .where(or_(StagedEvent.cycle == cycle, StagedEvent.created_at < orphaned))
            .order_by(StagedEvent.id)
        )
    )
    if not rows:
        return []
    written = _insert(session, fold([_draft(r) for r in rows], min_pages))
    for draft, event_id in written:  # evidence points at the alert it raised
        evidence_id = draft.payload.get("evidence_id")
        if evidence_id is not None and draft.status == "pending":
            session.execute(
                update(Evidence)
                .where(Evidence.id == evidence_id, Evidence.event_id.is_(None))
                .values(event_id=event_id)
            )
    session.execute(delete(StagedEvent).where(StagedEvent.id.in_([r.id for r in rows])))
    return [i for _, i in written]
