"""Core tables: sources, watched pages, snapshots (content-addressed bodies), changes, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class Source(Base):
    """A publisher we watch (gov.uk, NHS England, NICE, or any configured site)."""

    __tablename__ = "source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="generic")
    base_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    pages: Mapped[list[WatchedPage]] = relationship(back_populates="source")


class WatchedPage(Base):
    """A URL under watch, with the validators and failure count of its last fetch."""

    __tablename__ = "watched_page"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    final_url: Mapped[str | None] = mapped_column(String(2000))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_gone: Mapped[int] = mapped_column(Integer, default=0)  # 404/410 in a row
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[Source | None] = relationship(back_populates="pages")


class Blob(Base):
    """A raw body stored once per distinct content (sha256), compressed (``monitor.body``)."""

    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Snapshot(Base):
    """One distinct version of a page: a new row only when the body's hash differs."""

    __tablename__ = "snapshot"
    __table_args__ = (Index("ix_snapshot_page_id_id", "page_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("watched_page.id", ondelete="CASCADE"))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    http_status: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(ForeignKey("blob.sha256"))
    text_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    final_url: Mapped[str | None] = mapped_column(String(2000))


class ChangeRecord(Base):
    """The comparison of two snapshots of a page: diff, typed changes and significance."""

    __tablename__ = "change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("watched_page.id", ondelete="CASCADE"))
    from_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshot.id"))
    to_snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id"))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    meaningful: Mapped[bool] = mapped_column(Boolean)
    significance: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ignored: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Event(Base):
    """Outbox row: something that happened, written once (``dedup_key`` is unique).

    Its deliveries (one per channel and recipient) live in ``delivery``.
    """

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_status_id", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("watched_page.id", ondelete="SET NULL"))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("change.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending (not yet routed) -> routed -> delivered | failed; or unrouted, suppressed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    note: Mapped[str | None] = mapped_column(Text)  # why suppressed or unrouted
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
