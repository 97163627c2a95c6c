"""``policy-monitor events``: the outbox, as a table for people or JSON lines for machines."""

from __future__ import annotations

import json
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from monitor.db import URL_HELP, Database, resolve_url
from monitor.models import Event
from monitor.terminal import console, plural, print_trimmed

WIDE = 110  # below this many columns each event's summary goes under its kind


@click.command("events")
@click.option("--db", "db_url", help=URL_HELP)
@click.option(
    "--status", type=click.Choice(["pending", "sending", "delivered", "failed", "suppressed"])
)
@click.option("--limit", default=50, show_default=True)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object a line (id, kind, payload...)."
)
def events_command(db_url: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Show queued and delivered events, newest first."""
    db = Database(resolve_url(db_url))
    try:
        with db.session() as s:
            stmt = select(Event).order_by(Event.id.desc()).limit(limit)
            if status:
                stmt = stmt.where(Event.status == status)
            events = list(s.scalars(stmt))
    finally:
        db.dispose()
    if as_json:
        for e in events:
            row = {"id": e.id, "kind": e.kind, "status": e.status, "created_at": e.created_at}
            click.echo(json.dumps(row | {"payload": e.payload}, default=str, ensure_ascii=False))
    elif events:
        out = console()
        print_trimmed(out, _table(events, out.width))
    if not events and not as_json:
        click.echo(
            f"no {status} events"
            if status
            else "no events yet: `policy-monitor check` queues "
            "them as pages change, `policy-monitor commitments deadlines` as deadlines near",
            err=True,
        )


def _table(events: list[Event], width: int) -> Table:
    table = Table(
        title=f"{plural(len(events), 'event')}, newest first",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title_justify="left",
    )
    wide = width >= WIDE
    id_w = max(len(str(e.id)) for e in events)
    kind_w = max(len(e.kind) for e in events)
    status_w = max(max(len(e.status) for e in events), len("status"))
    # every column but the summary keeps its width; the summary is cut to one line
    fixed = id_w + status_w + 16 + (kind_w if wide else 0)
    room = max(width - fixed - 3 * (5 if wide else 4), 10)  # padding and rules
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("kind" if wide else "event", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("created", no_wrap=True)
    if wide:
        table.add_column("summary", no_wrap=True)
    for e in events:
        created = e.created_at.strftime("%Y-%m-%d %H:%M") if e.created_at else ""
        what = Text(summary(e.kind, e.payload or {}))
        what.truncate(room, overflow="ellipsis")
        if wide:
            table.add_row(str(e.id), Text(e.kind), Text(e.status), created, what)
        else:
            table.add_row(str(e.id), Text.assemble((e.kind, "bold"), "\n", what), e.status, created)
    return table


def summary(kind: str, p: dict[str, Any]) -> str:
    """One line saying what an event is about."""
    if "commitment_title" in p:
        head = str(p["commitment_title"])
        if kind.startswith("deadline_"):
            return f"{head}: {p.get('figure_key', 'deadline')} ends {p.get('end', '?')}"
        if kind == "status_suggested":
            return f"{head}: suggested status {p.get('suggested_status')}"
        before, after = p.get("before"), p.get("after")
        detail = p.get("summary") or f"{before or '(none)'} -> {after or '(none)'}"
        return f"{head}: {detail}"
    if kind == "page_moved":
        return f"{p.get('from', '')} -> {p.get('to', '')}"
    title = p.get("title") or p.get("url") or p.get("site") or ""
    text = p.get("summary") or ""
    if title and text and text != title:
        return f"{title}: {text}"
    return str(title or text or json.dumps(p, default=str)[:200])
