"""``policy-monitor status``: the state of a deployment at a glance, read from its database.

Last good poll per source, deliveries waiting and dead, events waiting, the scheduler's next
runs (APScheduler's ``apscheduler_jobs`` table, when a scheduler has used this database) and
whether a scheduler holds the database's run lock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.table import Table
from sqlalchemy import case, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor import health, runlock
from monitor.db import URL_HELP, Database, resolve_url, table_names
from monitor.models import Delivery, Event, PollState, Source, WatchedPage
from monitor.terminal import console, plural, print_trimmed

JOBS_TABLE = "apscheduler_jobs"
NEXT_RUNS = 10  # the scheduler's next runs shown


@dataclass
class SourceLine:
    """One source: its pages, the last good fetch and discovery poll, pages now failing."""

    source: str
    pages: int
    failing: int
    last_fetch: str | None
    last_discovery: str | None


@dataclass
class Status:
    """Everything ``status`` shows, as plain data (``--json`` prints it)."""

    database: str
    healthy: bool
    checks: dict[str, Any]
    scheduler: dict[str, Any]
    sources: list[SourceLine] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    next_runs: list[dict[str, Any]] = field(default_factory=list)


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def sources(s: Session) -> list[SourceLine]:
    good = (WatchedPage.consecutive_failures == 0) & (WatchedPage.last_status < 400)
    rows = s.execute(
        select(
            Source.name,
            func.count(WatchedPage.id),
            func.sum(case((WatchedPage.consecutive_failures > 0, 1), else_=0)),
            func.max(case((good, WatchedPage.last_checked_at), else_=None)),
        )
        .outerjoin(WatchedPage, (WatchedPage.source_id == Source.id) & WatchedPage.active)
        .group_by(Source.name)
        .order_by(Source.name)
    ).all()
    polls = dict(
        s.execute(
            select(PollState.source, func.max(PollState.polled_at))
            .where(PollState.consecutive_failures == 0)
            .group_by(PollState.source)
        ).all()
    )
    return [
        SourceLine(name, pages or 0, int(failing or 0), _iso(last), _iso(polls.get(name)))
        for name, pages, failing, last in rows
    ]


def deliveries(s: Session, now: datetime) -> dict[str, int]:
    counts = dict(s.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    due = s.scalar(
        select(func.count()).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
    )
    return {
        "pending": counts.get("pending", 0),
        "due_now": due or 0,
        "sending": counts.get("sending", 0),
        "dead": counts.get("dead", 0),
        "sent": counts.get("sent", 0),
    }


def events(s: Session) -> dict[str, int]:
    counts = dict(s.execute(select(Event.status, func.count()).group_by(Event.status)).all())
    return {k: counts.get(k, 0) for k in ("pending", "routed", "failed", "delivered")}


def next_runs(db: Database, limit: int = NEXT_RUNS) -> list[dict[str, Any]]:
    """The scheduler's next runs from APScheduler 3's job table (id, next_run_time)."""
    if JOBS_TABLE not in table_names(db.engine):
        return []
    with db.session(readonly=True) as s:
        rows = s.execute(
            text(
                f"SELECT id, next_run_time FROM {JOBS_TABLE} "
                "ORDER BY next_run_time IS NULL, next_run_time LIMIT :n"
            ),
            {"n": limit},
        ).all()
    out = []
    for job_id, at in rows:
        when = datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds") if at else None
        out.append({"job": job_id, "next_run": when})  # None: paused
    return out


def scheduler_state(db: Database) -> dict[str, Any]:
    """Whether a scheduler (``policy-monitor run``) holds this database's run lock, and who."""
    try:
        holder = runlock.holder(db)
    except SQLAlchemyError as exc:
        return {"running": None, "error": str(exc).splitlines()[0]}
    return {"running": holder is not None, "holder": holder}


def gather(db: Database, now: datetime | None = None) -> Status:
    now = now or datetime.now(UTC)
    answer = health.check(db, now=now)
    shown = make_url(str(db.url)).render_as_string(hide_password=True)
    status = Status(shown, answer.ok, answer.checks, scheduler_state(db))
    if answer.checks["database"]["status"] != "pass":
        return status
    with db.session(readonly=True) as s:
        status.sources = sources(s)
        status.deliveries = deliveries(s, now)
        status.events = events(s)
    status.next_runs = next_runs(db)
    return status


@click.command("status")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="YAML config file: its database: is used (after --db).")  # fmt: skip
@click.option("--db", "db_url", help=URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
def status_command(config_path: str | None, db_url: str | None, as_json: bool) -> int:
    """Last poll per source, deliveries waiting and dead, the scheduler and its next runs.

    Exits 1 when a health check fails (the database, the last poll's age), like /healthz.
    """
    configured, where = None, ""
    if config_path:
        from monitor.config import load_config

        config = load_config(config_path)
        configured, where = config.database, config.where("database")
    db = Database(resolve_url(db_url, configured, configured_at=where))
    try:
        status = gather(db)
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(asdict(status), default=str))
    else:
        _print(status)
    return 0 if status.healthy else 1


def _print(st: Status) -> None:
    out = console()
    sched = st.scheduler
    running = {True: "running", False: "not running", None: "unknown"}[sched.get("running")]
    click.echo(f"database  {st.database}: {st.checks['database']['status']}")
    click.echo(f"scheduler {running}" + (f" ({sched['holder']})" if sched.get("holder") else ""))
    poll = st.checks.get("last_poll", {})
    age = f", {_age(poll['age_s'])} ago" if poll.get("age_s") is not None else ""
    click.echo(f"last poll {poll.get('at') or 'never'}{age}: {poll.get('status', '?')}")
    if st.sources:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, title_justify="left", title="sources")
        for col in ("source", "pages", "failing", "last good fetch", "last discovery poll"):
            table.add_column(
                col, no_wrap=True, justify="right" if col in {"pages", "failing"} else "left"
            )
        for line in st.sources:
            table.add_row(
                line.source,
                str(line.pages),
                str(line.failing),
                line.last_fetch or "never",
                line.last_discovery or "-",
            )
        print_trimmed(out, table)
    d, e = st.deliveries, st.events
    if d:
        click.echo(
            f"deliveries {d['pending']} pending ({d['due_now']} due now), {d['sending']} sending, "
            f"{d['dead']} dead, {d['sent']} sent"
        )
        click.echo(
            f"events     {e['pending']} waiting to be routed, {e['routed']} routed, "
            f"{e['failed']} failed, {e['delivered']} delivered"
        )
    if st.next_runs:
        click.echo(f"next runs ({plural(len(st.next_runs), 'job')}):")
        for run in st.next_runs:
            click.echo(f"  {run['next_run'] or 'paused':25} {run['job']}")
    elif d:
        click.echo("next runs  none scheduled (no scheduler has used this database)")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
