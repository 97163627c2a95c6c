"""``policy-monitor events``: list the outbox."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from monitor.db import Database, resolve_url
from monitor.models import Event


@click.command("events")
@click.option("--db", "db_url", help="Database URL.")
@click.option(
    "--status", type=click.Choice(["pending", "sending", "delivered", "failed", "suppressed"])
)
@click.option("--limit", default=50, show_default=True)
def events_command(db_url: str | None, status: str | None, limit: int) -> None:
    """Print queued and delivered events as JSON lines, newest first."""
    db = Database(resolve_url(db_url))
    with db.session() as s:
        stmt = select(Event).order_by(Event.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(Event.status == status)
        for e in s.scalars(stmt):
            row = {"id": e.id, "kind": e.kind, "status": e.status, "created_at": e.created_at}
            click.echo(json.dumps(row | {"payload": e.payload}, default=str, ensure_ascii=False))
