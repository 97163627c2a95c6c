"""Commitment tables: the registry, its watched pages, key figures, evidence and status log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db import Base
from monitor.models.core import utcnow

CASCADE_TO_COMMITMENT = "all, delete-orphan"


class Commitment(Base):
    """A tracked policy pledge, in our own words, with its source and current status."""

    __tablename__ = "commitment"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    pledge: Mapped[str] = mapped_column(Text)
    source_title: Mapped[str] = mapped_column(String(500))
    source_url: Mapped[str] = mapped_column(String(2000))
    source_date: Mapped[date | None] = mapped_column(Date)
    bodies: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    pages: Mapped[list[CommitmentPage]] = relationship(
        back_populates="commitment", cascade=CASCADE_TO_COMMITMENT, order_by="CommitmentPage.url"
    )
    figures: Mapped[list[KeyFigure]] = relationship(
        back_populates="commitment", cascade=CASCADE_TO_COMMITMENT, order_by="KeyFigure.id"
    )


class CommitmentPage(Base):
    """A page to watch for a commitment, linked by URL so it may precede the watched_page row."""

    __tablename__ = "commitment_page"
    __table_args__ = (Index("ix_commitment_page_url", "url"),)
    commitment_id: Mapped[str] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    commitment: Mapped[Commitment] = relationship(back_populates="pages")


class KeyFigure(Base):
    """A funding line, deadline (date range) or numeric target of a commitment."""

    __tablename__ = "commitment_figure"
    __table_args__ = (UniqueConstraint("commitment_id", "key", name="uq_commitment_figure_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[str] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(300), default="")
    amount_gbp: Mapped[float | None] = mapped_column(Float)
    per_year: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(60))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    commitment: Mapped[Commitment] = relationship(back_populates="figures")
    history: Mapped[list[KeyFigureHistory]] = relationship(
        back_populates="figure", cascade=CASCADE_TO_COMMITMENT, order_by="KeyFigureHistory.id"
    )


class KeyFigureHistory(Base):
    """One observed change of a key figure, with the change and snapshot that showed it."""

    __tablename__ = "commitment_figure_history"
    __table_args__ = (Index("ix_commitment_figure_history_figure", "figure_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    figure_id: Mapped[int] = mapped_column(ForeignKey("commitment_figure.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("change.id", ondelete="SET NULL"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot.id", ondelete="SET NULL"))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quote: Mapped[str] = mapped_column(Text, default="")
    figure: Mapped[KeyFigure] = relationship(back_populates="history")


class Evidence(Base):
    """An entry on a commitment's evidence timeline: a matched change, suggestion or note."""

    __tablename__ = "commitment_evidence"
    __table_args__ = (Index("ix_commitment_evidence_commitment", "commitment_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[str] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("change.id", ondelete="SET NULL"))
    change_index: Mapped[int | None] = mapped_column(Integer)  # which typed change of the row
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(String(2000))
    quote: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(300), default="")
    suggested_status: Mapped[str | None] = mapped_column(String(20))


class StatusChange(Base):
    """A person-confirmed status change; always points at the evidence that justified it."""

    __tablename__ = "commitment_status_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[str] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitment_evidence.id", ondelete="SET NULL")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    confirmed_by: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
