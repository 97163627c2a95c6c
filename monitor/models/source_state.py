"""Discovery poll state: what each feed, search or sitemap poll last saw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base
from monitor.models.core import utcnow


class PollState(Base):
    """One discovery input (feed, Search API query, sitemap, listing) and its last poll."""

    __tablename__ = "poll_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    high_water: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    seen: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # feeds and searches: each remembered URL's entry time when last seen (ISO 8601)
    stamps: Mapped[dict[str, str] | None] = mapped_column(JSON)
    polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
