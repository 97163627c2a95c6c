"""Commitment tracking in the store: deadline checks, confirmed status changes, timelines.

What a page change implies for commitments is decided by the chain (``monitor.evidence``)
and saved by ``monitor.store``. Here: ``check_deadlines`` emits ``deadline_approaching`` and
``deadline_passed``, and a status only changes through ``confirm_status``, which a person
calls with the evidence behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.commitment import normalise_status
from monitor.models import Commitment, Event, Evidence, KeyFigure, StatusChange
from monitor.outbox import emit

CLOSED = ("achieved", "withdrawn", "broken")


class TrackingError(ValueError):
    """A status confirmation that cannot be applied (unknown commitment, event or status)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _emit(session: Session, kind: str, key: str, payload: dict[str, Any]) -> Event | None:
    event_id = emit(session, kind, key, payload)
    return session.get(Event, event_id) if event_id is not None else None


def check_deadlines(
    session: Session,
    today: date,
    days_before: Iterable[int] = (30, 7),
    *,
    passed_since: date | None = None,
) -> list[Event]:
    """Emit ``deadline_approaching`` at each threshold and ``deadline_passed`` once per deadline.

    Commitments whose confirmed status is achieved, withdrawn or broken are skipped; a cue on
    a page that only *suggests* achievement does not count, since status changes only when a
    person confirms it. Deadlines that ended before ``passed_since`` are not reported (so a
    new registry starts without a flood). Returns the events written.
    """
    thresholds = sorted({int(d) for d in days_before})
    stmt = (
        select(KeyFigure, Commitment)
        .join(Commitment, KeyFigure.commitment_id == Commitment.id)
        .where(KeyFigure.kind == "deadline", KeyFigure.end_date.is_not(None))
        .where(Commitment.status.not_in(CLOSED))
        .order_by(Commitment.id, KeyFigure.id)
    )
    events: list[Event] = []
    for fig, row in session.execute(stmt):
        end = fig.end_date
        assert end is not None
        payload: dict[str, Any] = {
            "commitment_id": row.id, "commitment_title": row.title, "figure_key": fig.key,
            "figure_label": fig.label, "start": _iso(fig.start_date), "end": end.isoformat(),
            "status": row.status, "days_left": (end - today).days,
        }  # fmt: skip
        if today > end and passed_since is not None and end < passed_since:
            continue
        if today > end:
            key = f"deadline_passed:{row.id}:{fig.key}:{end.isoformat()}"
            ev = _emit(session, "deadline_passed", key, payload)
            if ev is not None:
                session.add(Evidence(commitment_id=row.id, date=today, kind="deadline_passed",
                                     event_id=ev.id, quote="", reason=f"{fig.key} passed "
                                     f"on {end.isoformat()}"))  # fmt: skip
                events.append(ev)
            continue
        due = [t for t in thresholds if (end - today).days <= t]
        if due:
            key = f"deadline_approaching:{row.id}:{fig.key}:{end.isoformat()}:{due[0]}"
            ev = _emit(session, "deadline_approaching", key, {**payload, "threshold": due[0]})
            if ev is not None:
                events.append(ev)
    session.flush()
    return events


def confirm_status(
    session: Session,
    commitment_id: str,
    status: str,
    *,
    event_id: int | None = None,
    evidence_id: int | None = None,
    by: str = "",
    note: str = "",
) -> StatusChange:
    """Apply a person's status decision; it must cite an event or evidence of this commitment."""
    try:
        new = normalise_status(status)
    except ValueError as exc:
        raise TrackingError(str(exc)) from exc
    row = session.get(Commitment, commitment_id)
    if row is None:
        raise TrackingError(f"no commitment {commitment_id!r}")
    if event_id is None and evidence_id is None:
        raise TrackingError("a status change needs evidence: give an event id or evidence id")
    evidence = session.get(Evidence, evidence_id) if evidence_id is not None else None
    if evidence_id is not None and (evidence is None or evidence.commitment_id != row.id):
        raise TrackingError(f"evidence {evidence_id} does not belong to {row.id}")
    if event_id is not None:
        event = session.get(Event, event_id)
        if event is None or (event.payload or {}).get("commitment_id") != row.id:
            raise TrackingError(f"event {event_id} is not about commitment {row.id}")
        evidence = evidence or session.scalar(
            select(Evidence).where(Evidence.event_id == event_id, Evidence.commitment_id == row.id)
        )
        if evidence is None:
            payload = event.payload or {}
            evidence = Evidence(commitment_id=row.id, date=_now().date(), kind=event.kind,
                                change_id=event.change_id, event_id=event.id,
                                url=payload.get("page_url"), quote=payload.get("quote", ""),
                                reason="cited when confirming status")  # fmt: skip
            session.add(evidence)
            session.flush()
    record = StatusChange(
        commitment_id=row.id, at=_now(), from_status=row.status, to_status=new,
        evidence_id=evidence.id if evidence else None, event_id=event_id,
        confirmed_by=by, note=note,
    )  # fmt: skip
    row.status, row.updated_at = new, _now()
    session.add(record)
    session.flush()
    return record


def timeline(session: Session, commitment_id: str) -> list[Evidence]:
    """The evidence timeline of a commitment, oldest first."""
    stmt = select(Evidence).where(Evidence.commitment_id == commitment_id)
    return list(session.scalars(stmt.order_by(Evidence.date, Evidence.id)))
