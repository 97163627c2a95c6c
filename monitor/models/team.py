"""Team-view tables: team users, login attempts, the triage state of events, routing rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base
from monitor.models.core import utcnow


class TeamUser(Base):
    """A member of the policy team; ``password_hash`` is argon2, empty for SSO-only users."""

    __tablename__ = "team_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One sign-in attempt, by address and client: kept when it failed, for throttling."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_at", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    client: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Triage(Base):
    """What the team decided about one event; no row means nobody has looked yet."""

    __tablename__ = "triage"
    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20), default="open")  # acknowledged, not_relevant
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    assigned_to: Mapped[str | None] = mapped_column(String(320))
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RouteRule(Base):
    """A routing rule kept in the database, applied after the config's ``notify.routes``."""

    __tablename__ = "route_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    commitments: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_significance: Mapped[float] = mapped_column(Float, default=0.0)
    notify: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "events": self.events, "sources": self.sources,
            "commitments": self.commitments, "tags": self.tags,
            "min_significance": self.min_significance, "notify": self.notify, "note": self.note,
            "created_by": self.created_by,
        }  # fmt: skip
