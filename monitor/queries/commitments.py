"""Commitment queries: the index, and everything one commitment's page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from monitor.db import Database
from monitor.models import (
    ChangeRecord,
    Commitment,
    Evidence,
    KeyFigure,
    Snapshot,
    StatusChange,
    WatchedPage,
)
from monitor.queries.common import aware


@dataclass(frozen=True)
class CommitmentRow:
    """One line of the commitments index."""

    id: str
    title: str
    status: str
    bodies: list[str]
    tags: list[str]
    last_change: date | None
    pledge: str = ""
    keywords: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FigurePoint:
    """A key figure's value at one moment: the registry's, then each observed change."""

    at: datetime | None
    value: dict[str, Any]
    change_id: int | None = None
    quote: str = ""


@dataclass(frozen=True)
class FigureView:
    id: int
    key: str
    kind: str
    label: str
    current: dict[str, Any]
    unit: str | None
    source_url: str | None
    points: list[FigurePoint]


@dataclass(frozen=True)
class EvidenceView:
    id: int
    date: date
    kind: str
    change_id: int | None
    event_id: int | None
    url: str | None
    quote: str
    reason: str
    score: float | None
    suggested_status: str | None
    summary: str


@dataclass(frozen=True)
class StatusView:
    at: datetime | None
    from_status: str
    to_status: str
    by: str
    note: str
    evidence_id: int | None


@dataclass(frozen=True)
class SourcePage:
    """A page watched for a commitment: from the registry, or where its evidence came from."""

    url: str
    note: str
    title: str | None = None
    last_checked_at: datetime | None = None
    last_status: int | None = None


@dataclass(frozen=True)
class CommitmentDetail:
    row: CommitmentRow
    source_title: str
    source_url: str
    source_date: date | None
    notes: str
    updated_at: datetime | None
    figures: list[FigureView]
    evidence: list[EvidenceView]  # newest first
    statuses: list[StatusView]  # newest first
    pages: list[SourcePage]


def _figure_value(fig: KeyFigure) -> dict[str, Any]:
    if fig.kind == "funding":
        return {"amount_gbp": fig.amount_gbp, "per_year": fig.per_year}
    if fig.kind == "deadline":
        start, end = fig.start_date, fig.end_date
        return {
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        }
    return {"value": fig.value, "unit": fig.unit}


def _last_changes(s: Session) -> dict[str, date]:
    stmt = select(Evidence.commitment_id, func.max(Evidence.date)).group_by(Evidence.commitment_id)
    return {cid: when for cid, when in s.execute(stmt) if when is not None}


def _row(c: Commitment, last: date | None) -> CommitmentRow:
    return CommitmentRow(
        c.id,
        c.title,
        c.status,
        list(c.bodies or []),
        list(c.tags or []),
        last,
        c.pledge,
        list(c.keywords or []),
    )


def commitments(db: Database) -> list[CommitmentRow]:
    """Every commitment, most recently changed first, then by title."""
    with db.session(readonly=True) as s:
        last = _last_changes(s)
        rows = [_row(c, last.get(c.id)) for c in s.scalars(select(Commitment))]
    return sorted(rows, key=lambda r: (-(r.last_change or date.min).toordinal(), r.title))


def _points(s: Session, fig: KeyFigure) -> list[FigurePoint]:
    """The registry's value (as first seen), then the value after each observed change."""
    points: list[FigurePoint] = []
    for h in fig.history:
        if not points:
            change = s.get(ChangeRecord, h.change_id) if h.change_id is not None else None
            prior = change.from_snapshot_id if change else None
            seen = s.get(Snapshot, prior) if prior else None
            points.append(
                FigurePoint(aware(seen.fetched_at) if seen else None, dict(h.before or {}))
            )
        points.append(FigurePoint(aware(h.recorded_at), dict(h.after or {}), h.change_id, h.quote))
    if not points:
        points.append(FigurePoint(aware(fig.updated_at), _figure_value(fig)))
    return points


def _summaries(s: Session, change_ids: set[int]) -> dict[int, ChangeRecord]:
    if not change_ids:
        return {}
    rows = s.scalars(select(ChangeRecord).where(ChangeRecord.id.in_(change_ids)))
    return {r.id: r for r in rows}


def _change_summary(change: ChangeRecord | None, index: int | None) -> str:
    if change is None:
        return ""
    typed = change.changes or []
    if index is not None and 0 <= index < len(typed):
        return str(typed[index].get("summary") or change.summary)
    return change.summary


def commitment(db: Database, commitment_id: str) -> CommitmentDetail | None:
    """Everything a commitment's page shows, or None when there is no such commitment."""
    with db.session(readonly=True) as s:
        stmt = (
            select(Commitment)
            .where(Commitment.id == commitment_id)
            .options(
                selectinload(Commitment.pages),
                selectinload(Commitment.figures).selectinload(KeyFigure.history),
            )
        )
        c = s.scalar(stmt)
        if c is None:
            return None
        ev_rows = list(
            s.scalars(
                select(Evidence)
                .where(Evidence.commitment_id == c.id)
                .order_by(Evidence.date.desc(), Evidence.id.desc())
            )
        )
        changes = _summaries(s, {e.change_id for e in ev_rows if e.change_id is not None})
        evidence = [
            EvidenceView(
                e.id,
                e.date,
                e.kind,
                e.change_id,
                e.event_id,
                e.url,
                e.quote,
                e.reason,
                e.score,
                e.suggested_status,
                _change_summary(changes.get(e.change_id) if e.change_id else None, e.change_index),
            )
            for e in ev_rows
        ]
        figures = [
            FigureView(
                f.id, f.key, f.kind, f.label, _figure_value(f), f.unit, f.source_url, _points(s, f)
            )
            for f in c.figures
        ]
        statuses = [
            StatusView(
                aware(r.at), r.from_status, r.to_status, r.confirmed_by, r.note, r.evidence_id
            )
            for r in s.scalars(
                select(StatusChange)
                .where(StatusChange.commitment_id == c.id)
                .order_by(StatusChange.at.desc(), StatusChange.id.desc())
            )
        ]
        pages = _source_pages(s, [(p.url, p.note) for p in c.pages], ev_rows)
        last = max((e.date for e in ev_rows), default=None)
        return CommitmentDetail(
            _row(c, last),
            c.source_title,
            c.source_url,
            c.source_date,
            c.notes,
            aware(c.updated_at),
            figures,
            evidence,
            statuses,
            pages,
        )


def _source_pages(
    s: Session, listed: list[tuple[str, str]], evidence: list[Evidence]
) -> list[SourcePage]:
    wanted = dict(listed)
    for e in evidence:
        if e.url and e.url not in wanted:
            wanted[e.url] = "evidence came from this page"
    if not wanted:
        return []
    watched = {
        p.url: p for p in s.scalars(select(WatchedPage).where(WatchedPage.url.in_(list(wanted))))
    }
    out = []
    for url, note in wanted.items():
        p = watched.get(url)
        out.append(
            SourcePage(url, note, p.title, aware(p.last_checked_at), p.last_status)
            if p
            else SourcePage(url, note)
        )
    return out
