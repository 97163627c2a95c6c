"""Digest periods: which daily or weekly digest is due at a moment (pure).

A daily digest is due at ``daily_at`` local time and covers the day before it; a weekly
one is due at ``daily_at`` on ``weekly_day`` and covers the seven days before it. The label
(the local date it is due) names the period, so one digest per subscriber per label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Period:
    """One digest period: ``[start, end)`` in UTC, due at ``end``."""

    kind: str  # daily | weekly
    label: str  # the local date it is due, 2026-03-03
    start: datetime
    end: datetime


def _due_at(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day.date(), at, tzinfo=tz)
    return local.astimezone(UTC)


def latest_period(
    kind: str, now: datetime, *, daily_at: str, weekly_day: str, timezone: str
) -> Period:
    """The most recent period whose due time is at or before ``now``."""
    if kind not in ("daily", "weekly"):
        raise ValueError(f"period must be daily or weekly, not {kind!r}")
    tz = ZoneInfo(timezone)
    hh, mm = (int(x) for x in daily_at.split(":"))
    at = time(hh, mm)
    local_now = now.astimezone(tz)
    day = local_now
    step = 1
    if kind == "weekly":
        back = (local_now.weekday() - DAYS.index(weekly_day)) % 7
        day = local_now - timedelta(days=back)
        step = 7
    due = _due_at(day, at, tz)
    if due > now:
        day -= timedelta(days=step)
        due = _due_at(day, at, tz)
    start = _due_at(day - timedelta(days=step), at, tz)  # by local dates: DST-safe
    return Period(kind, day.date().isoformat(), start, due)


def due_periods(now: datetime, *, daily_at: str, weekly_day: str, timezone: str) -> list[Period]:
    """The latest daily and weekly periods at ``now``; sending them is idempotent."""
    kw = {"daily_at": daily_at, "weekly_day": weekly_day, "timezone": timezone}
    return [latest_period(k, now, **kw) for k in ("daily", "weekly")]
