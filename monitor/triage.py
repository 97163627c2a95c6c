"""The team's triage of events: acknowledge, mark not relevant, assign, snooze; the queue.

Every event starts ``open`` (it has no ``triage`` row). A person acknowledges it or marks it
``not_relevant`` with a reason; both are kept with who and when, and
:func:`labelled_examples` exports them as labelled examples for the significance and
matcher evaluations. Assigning and snoozing leave the state as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.errors import MonitorError
from monitor.models import ChangeRecord, Event, Snapshot, TeamUser, Triage, WatchedPage

STATES = ("open", "acknowledged", "not_relevant")
LABEL_FORMAT = "policy-monitor/triage-label/1"


class TriageError(MonitorError):
    """A triage action that cannot be applied (unknown event or user, missing reason)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(when: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


@dataclass(frozen=True)
class QueueItem:
    """One event as the triage queue shows it (page-derived text is raw: escape on output)."""

    event_id: int
    kind: str
    created_at: datetime
    title: str
    url: str
    summary: str
    significance: float | None
    commitment_id: str | None
    change_id: int | None
    suggested_status: str | None
    state: str
    assigned_to: str | None
    snoozed_until: datetime | None
    decided_by: str | None
    reason: str


def _item(event: Event, row: Triage | None) -> QueueItem:
    p = event.payload or {}
    sig = p.get("significance")
    return QueueItem(
        event_id=event.id,
        kind=event.kind,
        created_at=_aware(event.created_at) or event.created_at,
        title=str(p.get("title") or p.get("page_title") or p.get("commitment_title") or ""),
        url=str(p.get("url") or p.get("page_url") or ""),
        summary=str(p.get("summary") or ""),
        significance=float(sig) if isinstance(sig, int | float) else None,
        commitment_id=p.get("commitment_id"),
        change_id=event.change_id,
        suggested_status=p.get("suggested_status") if event.kind == "status_suggested" else None,
        state=row.state if row else "open",
        assigned_to=row.assigned_to if row else None,
        snoozed_until=_aware(row.snoozed_until) if row else None,
        decided_by=row.decided_by if row else None,
        reason=row.reason if row else "",
    )


def queue(
    db: Database,
    *,
    days: int = 14,
    states: tuple[str, ...] = ("open",),
    assigned_to: str | None = None,
    include_snoozed: bool = False,
    limit: int = 200,
    now: datetime | None = None,
) -> list[QueueItem]:
    """Recent events (newest first) in the given triage states; snoozed ones hidden by default.

    Suppressed events (folded into a site-wide change, or already alerted) are left out.
    """
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise TriageError(f"unknown triage state {unknown[0]!r}; one of {', '.join(STATES)}")
    now = now or _now()
    stmt = (
        select(Event, Triage)
        .outerjoin(Triage, Triage.event_id == Event.id)
        .where(Event.created_at >= now - timedelta(days=days), Event.status != "suppressed")
    )
    state_filter = [Triage.state.in_(states)]
    if "open" in states:
        state_filter.append(Triage.event_id.is_(None))
    stmt = stmt.where(or_(*state_filter))
    if assigned_to is not None:
        stmt = stmt.where(Triage.assigned_to == assigned_to.lower())
    if not include_snoozed:
        stmt = stmt.where(or_(Triage.snoozed_until.is_(None), Triage.snoozed_until <= now))
    with db.session(readonly=True) as s:
        rows = s.execute(stmt.order_by(Event.id.desc()).limit(limit)).all()
        return [_item(e, t) for e, t in rows]


def item(db: Database, event_id: int) -> QueueItem:
    with db.session(readonly=True) as s:
        event = s.get(Event, event_id)
        if event is None:
            raise TriageError(f"no event {event_id}")
        return _item(event, s.get(Triage, event_id))


def _row(s: Session, event_id: int, now: datetime) -> Triage:
    if s.get(Event, event_id) is None:
        raise TriageError(f"no event {event_id}")
    row = s.get(Triage, event_id)
    if row is None:
        row = Triage(event_id=event_id, state="open", reason="", updated_at=now)
        s.add(row)
    row.updated_at = now
    return row


def _apply(db: Database, event_id: int, now: datetime, change: Callable[[Triage], None]) -> None:
    """Change an event's triage row in one transaction, made on first use.

    Two people acting on a new event at once may both try to make its row; the one that
    loses tries again and finds the row (nothing is lost, the later change wins).
    """
    for attempt in (1, 2):
        try:
            with db.session() as s:
                change(_row(s, event_id, now))
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _decide(db: Database, event_id: int, state: str, by: str, reason: str, now: datetime) -> None:
    def change(row: Triage) -> None:
        row.state, row.decided_by, row.decided_at, row.reason = state, by.lower(), now, reason
        row.snoozed_until = None

    _apply(db, event_id, now, change)


def acknowledge(
    db: Database, event_id: int, by: str, note: str = "", *, now: datetime | None = None
) -> None:
    """Mark an event seen and relevant."""
    _decide(db, event_id, "acknowledged", by, note.strip(), now or _now())


def dismiss(
    db: Database, event_id: int, by: str, reason: str, *, now: datetime | None = None
) -> None:
    """Mark an event not relevant; the reason is kept with the labelled example."""
    reason = " ".join(reason.split())
    if not reason:
        raise TriageError("say why it is not relevant (the reason is kept as a label)")
    _decide(db, event_id, "not_relevant", by, reason, now or _now())


def reopen(db: Database, event_id: int, *, now: datetime | None = None) -> None:
    """Put a decided event back in the queue (its label goes with the decision)."""

    def change(row: Triage) -> None:
        row.state, row.decided_by, row.decided_at, row.reason = "open", None, None, ""

    _apply(db, event_id, now or _now(), change)


def assign(db: Database, event_id: int, to: str | None, *, now: datetime | None = None) -> None:
    """Assign an event to a team user (``None`` clears the assignment)."""
    addr = to.strip().lower() if to else None
    if addr is not None:
        with db.session(readonly=True) as s:
            if s.scalar(select(TeamUser.id).where(TeamUser.email == addr)) is None:
                raise TriageError(
                    f"no team user {addr}; add one with: policy-monitor team user add"
                )

    def change(row: Triage) -> None:
        row.assigned_to = addr

    _apply(db, event_id, now or _now(), change)


def snooze(db: Database, event_id: int, until: datetime, *, now: datetime | None = None) -> None:
    """Hide an event from the queue until ``until`` (a time in the future)."""
    now = now or _now()
    when = _aware(until) or until
    if when <= now:
        raise TriageError("snooze until a time in the future")

    def change(row: Triage) -> None:
        row.snoozed_until = when

    _apply(db, event_id, now, change)


_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """``3d``, ``12h``, ``2w``, ``30m`` from now, or an ISO date or time (UTC if unzoned)."""
    now = now or _now()
    m = _DURATION.match(text.strip())
    if m:
        return now + timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise TriageError(f"{text[:40]!r}: use 3d, 12h, 2w or an ISO date") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso(when: datetime | None) -> str | None:
    w = _aware(when)
    return w.isoformat() if w else None


def labelled_examples(db: Database, *, with_text: bool = False) -> Iterator[dict[str, Any]]:
    """One labelled example per decided event, oldest decision first (the JSONL export)."""
    stmt = (
        select(Triage, Event)
        .join(Event, Event.id == Triage.event_id)
        .where(Triage.state.in_(("acknowledged", "not_relevant")))
        .order_by(Triage.decided_at, Triage.event_id)
    )
    with db.session(readonly=True) as s:
        for row, event in s.execute(stmt):
            p = event.payload or {}
            change = s.get(ChangeRecord, event.change_id) if event.change_id else None
            page = s.get(WatchedPage, event.page_id) if event.page_id else None
            out: dict[str, Any] = {
                "format": LABEL_FORMAT,
                "event_id": event.id,
                "kind": event.kind,
                "label": "relevant" if row.state == "acknowledged" else "not_relevant",
                "by": row.decided_by,
                "at": _iso(row.decided_at),
                "reason": row.reason,
                "url": p.get("url") or p.get("page_url") or (page.url if page else None),
                "commitment_id": p.get("commitment_id"),
                "change_kind": p.get("change_kind"),
                "summary": p.get("summary"),
                "significance": p.get("significance"),
                "match_score": p.get("score"),
                "quote": p.get("quote"),
                "change_id": event.change_id,
                "old_snapshot_id": change.from_snapshot_id if change else None,
                "new_snapshot_id": change.to_snapshot_id if change else None,
                "changes": (change.changes if change else p.get("changes")) or [],
            }
            if with_text:
                old = (
                    s.get(Snapshot, change.from_snapshot_id)
                    if change and change.from_snapshot_id
                    else None
                )
                new = s.get(Snapshot, change.to_snapshot_id) if change else None
                out["old_text"] = old.text if old else None
                out["new_text"] = new.text if new else None
            yield out
