"""When a source is due: its ``schedule:`` (an interval or a cron line) and its last check.

Pure: APScheduler 3.x triggers compute the next time; ``check --due`` and the daemon use it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import ScheduleConfig

TIMEZONE = "Europe/London"  # cron lines are read in the publishers' own time zone


def trigger(schedule: ScheduleConfig) -> BaseTrigger:
    """The APScheduler trigger for a schedule; a cron line wins over the interval."""
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=TIMEZONE)
    return IntervalTrigger(minutes=schedule.every_minutes, timezone=UTC)


def next_due(schedule: ScheduleConfig, last: datetime | None, now: datetime) -> datetime:
    """When a source last checked at ``last`` is next due (``now`` when it never was)."""
    if last is None:
        return now
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    if not schedule.cron:
        return last + timedelta(minutes=schedule.every_minutes)
    fire = trigger(schedule).get_next_fire_time(None, last + timedelta(seconds=1))
    return fire if fire is not None else now + timedelta(days=3650)


def is_due(schedule: ScheduleConfig, last: datetime | None, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return next_due(schedule, last, now) <= now


def check_cron(line: str) -> None:
    """Raise ValueError with the reason when a cron line cannot be read."""
    CronTrigger.from_crontab(line, timezone=TIMEZONE)
