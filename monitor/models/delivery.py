"""Outbox tables around events: drafts staged by a cycle, deliveries, and chat threads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base
from monitor.models.core import utcnow


class StagedEvent(Base):
    """An event a cycle has decided on for one page, held until the cycle ends.

    Written with the page's snapshot in one transaction, so a crash between the page and the
    end of the cycle loses nothing: the next cycle folds and publishes what was left.
    """

    __tablename__ = "staged_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(60))
    dedup_key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("watched_page.id", ondelete="SET NULL"))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("change.id", ondelete="SET NULL"))
    site: Mapped[str] = mapped_column(String(300), default="")  # for site-wide folding
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # full, for folding


class Delivery(Base):
    """One event to one recipient over one channel; ``key`` makes it happen once."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_status_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(100))  # a notifier name: console, slack, email
    recipient: Mapped[str] = mapped_column(String(300))  # "#channel", an address, "-"
    why: Mapped[str] = mapped_column(Text, default="")  # the route that sent it here
    thread_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # sending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # set when a claim went stale: the channel may have the message already (since then)
    unconfirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ref: Mapped[str | None] = mapped_column(String(200))  # the channel's message id (Slack ts)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ThreadRef(Base):
    """The first message of a thread on a channel (a commitment's Slack thread)."""

    __tablename__ = "thread_ref"
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(300), primary_key=True)
    thread_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
