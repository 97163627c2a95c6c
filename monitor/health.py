"""Health: is the database reachable, is the scheduler alive, how old is the last good poll.

:func:`check` answers for ``/healthz`` (200 when every check passes, else 503) and for
``policy-monitor status``. A check that cannot be made here (no scheduler in this process)
is reported as skipped, never as passed by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from monitor import settings
from monitor.db import Database
from monitor.models import WatchedPage

SchedulerProbe = Callable[[], bool]  # True while this process's scheduler runs its jobs


@dataclass
class Health:
    """The answer of every check; ``ok`` only when none failed."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c["status"] != "fail" for c in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", "checks": self.checks}


def _aware(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)  # SQLite returns naive datetimes; we store UTC
    return when


def last_good_poll(db: Database) -> datetime | None:
    """When a watched page was last fetched without failing (200-399, 304 included)."""
    with db.session(readonly=True) as s:
        when = s.scalar(
            select(func.max(WatchedPage.last_checked_at)).where(
                WatchedPage.consecutive_failures == 0, WatchedPage.last_status < 400
            )
        )
    return _aware(when)


def check(
    db: Database,
    *,
    scheduler: SchedulerProbe | None = None,
    max_poll_age_s: float | None = settings.HEALTH_MAX_POLL_AGE_S,
    now: datetime | None = None,
) -> Health:
    """Run every check; never raises for a database that does not answer."""
    now = now or datetime.now(UTC)
    health = Health()
    try:
        with db.session(readonly=True) as s:
            s.execute(text("SELECT 1"))
        health.checks["database"] = {"status": "pass"}
    except SQLAlchemyError as exc:
        problem = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        health.checks["database"] = {"status": "fail", "error": problem[0] if problem else "error"}
        health.checks["last_poll"] = {"status": "skip", "reason": "database unreachable"}
    if scheduler is None:
        health.checks["scheduler"] = {"status": "skip", "reason": "no scheduler in this process"}
    else:
        alive = _probe(scheduler)
        health.checks["scheduler"] = {"status": "pass" if alive else "fail", "running": alive}
    if "last_poll" not in health.checks:
        health.checks["last_poll"] = _poll_check(db, now, max_poll_age_s)
    return health


def _probe(scheduler: SchedulerProbe) -> bool:
    try:
        return bool(scheduler())
    except Exception:  # a probe that breaks means the scheduler is not answering
        return False


def _poll_check(db: Database, now: datetime, max_age: float | None) -> dict[str, Any]:
    try:
        when = last_good_poll(db)
    except SQLAlchemyError as exc:
        return {"status": "fail", "error": str(exc).splitlines()[0]}
    if when is None:
        return {"status": "pass", "at": None, "note": "no page fetched yet"}
    age = max(0.0, (now - when).total_seconds())
    out: dict[str, Any] = {"at": when.isoformat(), "age_s": round(age, 1)}
    if max_age is not None:
        out["max_age_s"] = max_age
        out["status"] = "pass" if age <= max_age else "fail"
    else:
        out["status"] = "pass"
    return out
