"""Follow-this-policy tables: subscribers, their subscriptions, sign-up attempts, digests sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base
from monitor.models.core import utcnow


class Subscriber(Base):
    """One email address; everything about it goes when it is deleted."""

    __tablename__ = "subscriber"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Subscription(Base):
    """A subscriber following one thing at one frequency; pending until confirmed."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("subscriber_id", "follow_kind", "follow_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    follow_kind: Mapped[str] = mapped_column(String(20))  # commitment, page, tag, source, query
    follow_value: Mapped[str] = mapped_column(String(1000))
    frequency: Mapped[str] = mapped_column(String(20), default="immediate")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # confirmed, unsubscribed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignupAttempt(Base):
    """One sign-up request, kept an hour or so for rate limits."""

    __tablename__ = "signup_attempt"
    __table_args__ = (Index("ix_signup_attempt_at", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DigestSend(Base):
    """One digest to one subscriber for one period; ``key`` makes it happen once."""

    __tablename__ = "digest_send"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)  # subscriber:period:label
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="sending")  # sent
    items: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ref: Mapped[str | None] = mapped_column(String(300))  # the Message-ID
