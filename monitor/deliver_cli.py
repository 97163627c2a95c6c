"""``policy-monitor deliver`` and ``deliveries``: send what is due; list, explain, retry."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update

from monitor.channels import deliver_configured
from monitor.config import Config, load_config
from monitor.db import Database, resolve_url
from monitor.models import Delivery, Event
from monitor.terminal import console as make_console
from monitor.terminal import plural, print_trimmed

STATUSES = ("pending", "sending", "sent", "dead")


def _open(config_path: str | None, db_url: str | None) -> tuple[Config, Database]:
    config = load_config(config_path) if config_path else Config()
    return config, Database(resolve_url(db_url, config.database))


@click.command("deliver")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--db", "db_url", help="Database URL.")
def deliver_command(config_path: str | None, db_url: str | None) -> None:
    """Route pending events and send every delivery that is due.

    Exit status: 0 nothing failed, 1 some deliveries failed (retried later or dead-lettered).
    """
    config, db = _open(config_path, db_url)
    try:
        report = deliver_configured(db, config, console=Console())
    finally:
        db.dispose()
    click.echo(
        f"{report.routed} routed, {report.sent} sent, {report.retrying} to retry, "
        f"{report.dead} dead-lettered",
        err=True,
    )
    if report.retrying or report.dead:
        raise SystemExit(1)


@click.command("deliveries")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--db", "db_url", help="Database URL.")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--event", "event_id", type=int, help="Only the deliveries of this event.")
@click.option("--explain", is_flag=True, help="Say why each went where it went, or why not.")
@click.option("--retry", "retry", is_flag=True, help="Make the listed dead deliveries due now.")
@click.option("--limit", default=50, show_default=True)
def deliveries_command(
    config_path: str | None,
    db_url: str | None,
    status: str | None,
    event_id: int | None,
    explain: bool,
    retry: bool,
    limit: int,
) -> None:
    """List deliveries (one per event, channel and recipient), newest first."""
    _, db = _open(config_path, db_url)
    console = make_console()
    with db.session() as s:
        stmt = select(Delivery, Event).join(Event, Event.id == Delivery.event_id)
        if status:
            stmt = stmt.where(Delivery.status == status)
        if event_id is not None:
            stmt = stmt.where(Delivery.event_id == event_id)
        rows = list(s.execute(stmt.order_by(Delivery.id.desc()).limit(limit)))
        if retry:
            ids = [d.id for d, _ in rows if d.status == "dead"]
            s.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(status="pending", next_attempt_at=datetime.now(UTC), attempts=0)
            )
            s.execute(
                update(Event)
                .where(Event.id.in_([d.event_id for d, _ in rows if d.id in ids]))
                .values(status="routed")
            )
            click.echo(f"{len(ids)} dead deliveries made due again; run: policy-monitor deliver")
            return
        unrouted = []
        if event_id is not None and not rows:
            e = s.get(Event, event_id)
            if e is not None:
                unrouted.append(
                    f"event {e.id} ({e.kind}) is {e.status}: {e.note or 'not routed yet'}"
                )
    db.dispose()
    for line in unrouted:
        click.echo(line)
    if not rows and not unrouted:
        click.echo(
            "no deliveries"
            + (f" with status {status}" if status else "")
            + "; events are routed when `policy-monitor deliver` or `check` runs"
        )
        return
    if explain:
        for d, e in rows:
            click.echo(f"delivery {d.id}: event {e.id} {e.kind} -> {d.channel} {d.recipient}")
            click.echo(f"  why: {d.why}")
            click.echo(
                f"  status: {d.status} after {d.attempts} attempt(s)"
                + (
                    f"; next try {d.next_attempt_at:%Y-%m-%d %H:%M}"
                    if d.status == "pending"
                    else ""
                )
                + (f"; last error: {d.last_error}" if d.last_error else "")
            )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for col in ("id", "event", "channel", "to", "status", "tries"):
        table.add_column(col, overflow="fold")
    for d, e in rows:
        table.add_row(
            str(d.id), f"{e.id} {e.kind}", d.channel, d.recipient, d.status, str(d.attempts)
        )
    click.echo(f"{plural(len(rows), 'delivery', 'deliveries')}, newest first")
    print_trimmed(console, table)
