"""Commitments in the database: upsert from the registry, read back, load the shipped seed.

The registry format itself (pydantic specs, YAML reading, ``parse_gbp``, ``parse_period``) is
pure and lives in ``monitor/commitment_spec.py``; its names are re-exported here so existing
imports keep working.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from monitor.commitment_spec import (
    FIGURE_KINDS,
    SEED_PATH,
    STATUSES,
    CommitmentSpec,
    FigureSpec,
    PageSpec,
    RegistryError,
    SourceSpec,
    dump_registry,
    load_registry,
    normalise_status,
    parse_gbp,
    parse_period,
    parse_registry,
)
from monitor.db import Database
from monitor.models import Commitment, CommitmentPage, KeyFigure, StatusChange

__all__ = [
    "FIGURE_KINDS",
    "SEED_PATH",
    "STATUSES",
    "CommitmentSpec",
    "FigureSpec",
    "PageSpec",
    "RegistryError",
    "SourceSpec",
    "all_commitments",
    "dump_registry",
    "import_specs",
    "load_registry",
    "load_seed",
    "normalise_status",
    "parse_gbp",
    "parse_period",
    "parse_registry",
    "to_spec",
    "upsert",
]


# ---- database ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def upsert(session: Session, spec: CommitmentSpec, *, origin: str = "import") -> Commitment:
    """Insert or update one commitment; figures are matched by key so their history survives."""
    row = session.get(Commitment, spec.id)
    if row is None:
        row = Commitment(id=spec.id, status=spec.status, created_at=_now())
        session.add(row)
    elif row.status != spec.status:
        session.add(
            StatusChange(
                commitment_id=spec.id,
                at=_now(),
                from_status=row.status,
                to_status=spec.status,
                confirmed_by=origin,
                note=f"status set by {origin}",
            )
        )
        row.status = spec.status
    row.title, row.pledge, row.notes = spec.title, spec.pledge, spec.notes
    row.source_title, row.source_url = spec.source.title, spec.source.url
    row.source_date = spec.source.date
    row.bodies, row.tags, row.keywords = list(spec.bodies), list(spec.tags), list(spec.keywords)
    row.updated_at = _now()
    row.pages = [CommitmentPage(url=p.url, note=p.note) for p in spec.pages]
    existing = {f.key: f for f in row.figures}
    figures = []
    for fs in spec.figures:
        fig = existing.get(fs.key) or KeyFigure(key=fs.key)
        fig.kind, fig.label, fig.unit, fig.source_url = fs.kind, fs.label, fs.unit, fs.source_url
        fig.amount_gbp, fig.per_year, fig.value = fs.amount_gbp, fs.per_year, fs.value
        fig.start_date, fig.end_date, fig.updated_at = fs.start, fs.end, _now()
        figures.append(fig)
    row.figures = figures
    session.flush()
    return row


def to_spec(row: Commitment) -> CommitmentSpec:
    """The registry form of a stored commitment (current figures, current status)."""
    return CommitmentSpec(
        id=row.id,
        title=row.title,
        pledge=row.pledge,
        source=SourceSpec(title=row.source_title, url=row.source_url, date=row.source_date),
        bodies=list(row.bodies),
        tags=list(row.tags),
        keywords=list(row.keywords),
        status=row.status,
        notes=row.notes,
        pages=[PageSpec(url=p.url, note=p.note) for p in row.pages],
        figures=[
            FigureSpec(
                key=f.key,
                kind=f.kind,  # type: ignore[arg-type]
                label=f.label,
                amount_gbp=f.amount_gbp,
                per_year=f.per_year,
                start=f.start_date,
                end=f.end_date,
                value=f.value,
                unit=f.unit,
                source_url=f.source_url,
            )
            for f in row.figures
        ],
    )


def all_commitments(session: Session) -> list[Commitment]:
    """Every stored commitment with pages and figures loaded, ordered by id."""
    stmt = (
        select(Commitment)
        .options(selectinload(Commitment.pages), selectinload(Commitment.figures))
        .order_by(Commitment.id)
    )
    return list(session.scalars(stmt))


def import_specs(session: Session, specs: list[CommitmentSpec], origin: str = "import") -> int:
    """Upsert every spec; returns how many were written."""
    for spec in specs:
        upsert(session, spec, origin=origin)
    return len(specs)


def load_seed(db: Database, path: Path | str = SEED_PATH) -> int:
    """Load the shipped registry when the commitment table is empty; returns rows loaded."""
    with db.session() as s:
        if s.scalar(select(func.count()).select_from(Commitment)):
            return 0
        return import_specs(s, load_registry(path), origin="seed")
