"""Helpers shared by the query modules."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(when: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
