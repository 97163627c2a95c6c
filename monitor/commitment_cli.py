"""`policy-monitor commitments ...`: list, show, add, import, export, seed, confirm, deadlines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from monitor.commitment import (
    SEED_PATH,
    STATUSES,
    CommitmentSpec,
    RegistryError,
    all_commitments,
    dump_registry,
    import_specs,
    load_registry,
    load_seed,
    parse_registry,
    to_spec,
)
from monitor.db import URL_HELP, Database, resolve_url
from monitor.models import Commitment, Event, KeyFigure, KeyFigureHistory, StatusChange
from monitor.terminal import console, plural, print_trimmed
from monitor.tracking import CLOSED, TrackingError, check_deadlines, confirm_status, timeline

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """The shared ``--db URL`` option."""
    return click.option(
        "--db",
        "db_url",
        default=None,
        help=URL_HELP,
    )(func)


@contextmanager
def _open(db_url: str | None) -> Iterator[Database]:
    db = Database(resolve_url(db_url))
    try:
        yield db
    finally:
        db.dispose()


def _next_deadline(row: Commitment) -> str:
    ends = sorted(f.end_date for f in row.figures if f.kind == "deadline" and f.end_date)
    return ends[0].isoformat() if ends else ""


@click.group("commitments")
def commitments_group() -> None:
    """Tracked policy commitments: the registry, their key figures, evidence and status."""


@commitments_group.command("list")
@db_option
@click.option(
    "--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only this status."
)
@click.option("--tag", help="Only commitments with this tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(db_url: str | None, status: str | None, tag: str | None, as_json: bool) -> None:
    """List commitments."""
    status = status.lower() if status else None
    with _open(db_url) as db, db.session() as s:
        stored = all_commitments(s)
        rows = [
            r for r in stored if (not status or r.status == status) and (not tag or tag in r.tags)
        ]
        if as_json:
            out = [
                {"id": r.id, "title": r.title, "status": r.status, "bodies": r.bodies,
                 "tags": r.tags, "next_deadline": _next_deadline(r) or None,
                 "source_url": r.source_url}
                for r in rows
            ]  # fmt: skip
            click.echo(json.dumps(out, indent=2))
        elif not rows:
            click.echo("0 commitments")
        else:
            out_console = console()
            print_trimmed(out_console, _table(rows, out_console.width))
    if not stored and not as_json:
        shipped = len(load_registry(SEED_PATH))
        click.echo(
            f"hint: the registry is empty; `policy-monitor commitments seed` loads the "
            f"{shipped} shipped commitments",
            err=True,
        )


WIDE = 110  # below this many columns the table drops bodies and figures and stacks id/title


def _table(rows: list[Commitment], width: int) -> Table:
    """The commitments table; titles are plain text, never read as markup."""
    table = Table(
        title=plural(len(rows), "commitment"),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title_justify="left",
    )
    if width >= WIDE:
        table.add_column("id", no_wrap=True)
        for col in ("title", "status", "bodies", "deadline", "figures"):
            table.add_column(col, no_wrap=col in ("status", "deadline"))
        for r in rows:
            table.add_row(
                Text(r.id), Text(r.title), Text(r.status), Text(", ".join(r.bodies)),
                Text(_next_deadline(r)), str(len(r.figures)),
            )  # fmt: skip
        return table
    table.add_column("commitment", ratio=1, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("deadline", no_wrap=True)
    for r in rows:
        table.add_row(
            Group(Text(r.id, style="bold"), Padding(Text(r.title), (0, 0, 0, 2))),
            Text(r.status),
            Text(_next_deadline(r)),
        )
    return table


@commitments_group.command("show")
@db_option
@click.argument("commitment_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(db_url: str | None, commitment_id: str, as_json: bool) -> None:
    """Show one commitment with its figures, their history and the evidence timeline."""
    with _open(db_url) as db, db.session() as s:
        row = s.get(Commitment, commitment_id)
        if row is None:
            raise click.ClickException(f"no commitment {commitment_id!r}")
        spec = to_spec(row).model_dump(mode="json", exclude_none=True)
        history = {
            f.key: [
                {"at": h.recorded_at.isoformat(), "before": h.before, "after": h.after,
                 "change_id": h.change_id, "snapshot_id": h.snapshot_id, "quote": h.quote}
                for h in s.scalars(
                    select(KeyFigureHistory).where(KeyFigureHistory.figure_id == f.id)
                )
            ]
            for f in row.figures
        }  # fmt: skip
        evidence = [
            {"id": e.id, "date": e.date.isoformat(), "kind": e.kind, "change_id": e.change_id,
             "snapshot_id": e.snapshot_id, "event_id": e.event_id, "quote": e.quote,
             "score": e.score, "reason": e.reason, "suggested_status": e.suggested_status}
            for e in timeline(s, row.id)
        ]  # fmt: skip
        statuses = [
            {"at": c.at.isoformat(), "from": c.from_status, "to": c.to_status,
             "event_id": c.event_id, "evidence_id": c.evidence_id, "by": c.confirmed_by,
             "note": c.note}
            for c in s.scalars(select(StatusChange).where(StatusChange.commitment_id == row.id))
        ]  # fmt: skip
    data = {**spec, "figure_history": history, "evidence": evidence, "status_changes": statuses}
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def _figures(funding: tuple[str, ...], deadline: tuple[str, ...], target: tuple[str, ...]) -> list:
    out: list[dict[str, Any]] = []
    for kind, field, items in (
        ("funding", "amount_gbp", funding),
        ("deadline", "when", deadline),
        ("target", "value", target),
    ):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.BadParameter(f"expected KEY=VALUE, got {item!r}")
            out.append({"key": key.strip(), "kind": kind, field: value.strip()})
    return out


@commitments_group.command("add")
@db_option
@click.option("--id", "cid", help="Slug, e.g. nhse-111-mental-health.")
@click.option("--title")
@click.option("--pledge", help="The pledge in our own words.")
@click.option("--source-url")
@click.option("--source-title")
@click.option("--body", "bodies", multiple=True, help="Responsible body (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Policy-area tag (repeatable).")
@click.option("--keyword", "keywords", multiple=True, help="Key phrase for matching.")
@click.option("--page", "pages", multiple=True, help="URL to watch (repeatable).")
@click.option("--status", default="not_started", show_default=True)
@click.option("--funding", multiple=True, help="KEY=AMOUNT, e.g. total='£179 million'.")
@click.option("--deadline", multiple=True, help="KEY=WHEN, e.g. delivery=2023/24.")
@click.option("--target", multiple=True, help="KEY=VALUE, e.g. areas=42.")
@click.option("--from-yaml", type=click.Path(exists=True, path_type=Path), help="Entries file.")
@click.option("--replace", is_flag=True, help="Overwrite an existing commitment.")
def add_cmd(
    db_url: str | None,
    cid: str | None,
    title: str | None,
    pledge: str | None,
    source_url: str | None,
    source_title: str | None,
    bodies: tuple[str, ...],
    tags: tuple[str, ...],
    keywords: tuple[str, ...],
    pages: tuple[str, ...],
    status: str,
    funding: tuple[str, ...],
    deadline: tuple[str, ...],
    target: tuple[str, ...],
    from_yaml: Path | None,
    replace: bool,
) -> None:
    """Add a commitment from options or from a YAML file."""
    try:
        if from_yaml is not None:
            specs = load_registry(from_yaml)
        else:
            missing = [n for n, v in (("--id", cid), ("--title", title), ("--pledge", pledge),
                                      ("--source-url", source_url)) if not v]  # fmt: skip
            if missing:
                raise click.UsageError(f"missing {', '.join(missing)} (or use --from-yaml)")
            entry = {
                "id": cid, "title": title, "pledge": pledge, "status": status,
                "source": {"title": source_title or title, "url": source_url},
                "bodies": list(bodies), "tags": list(tags), "keywords": list(keywords),
                "pages": list(pages), "figures": _figures(funding, deadline, target),
            }  # fmt: skip
            specs = parse_registry(yaml.safe_dump([entry]), "<options>")
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    with _open(db_url) as db, db.session() as s:
        clash = [sp.id for sp in specs if s.get(Commitment, sp.id) is not None]
        if clash and not replace:
            raise click.ClickException(f"already exists: {', '.join(clash)} (use --replace)")
        import_specs(s, specs, origin="add")
    click.echo(f"added {plural(len(specs), 'commitment')}: {', '.join(sp.id for sp in specs)}")


@commitments_group.command("import")
@db_option
@click.argument("file", type=click.Path(path_type=Path))
def import_cmd(db_url: str | None, file: Path) -> None:
    """Validate a registry YAML file and upsert every commitment in it."""
    try:
        specs: list[CommitmentSpec] = load_registry(file)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    with _open(db_url) as db, db.session() as s:
        n = import_specs(s, specs, origin=f"import of {file.name}")
    click.echo(f"imported {plural(n, 'commitment')} from {file}")


@commitments_group.command("export")
@db_option
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default stdout).")
def export_cmd(db_url: str | None, output: Path | None) -> None:
    """Write the registry, with current figures and statuses, as YAML."""
    with _open(db_url) as db, db.session() as s:
        text = dump_registry([to_spec(r) for r in all_commitments(s)])
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@commitments_group.command("seed")
@db_option
@click.option("--file", type=click.Path(exists=True, path_type=Path), default=SEED_PATH)
def seed_cmd(db_url: str | None, file: Path) -> None:
    """Load the shipped registry if no commitments are stored yet."""
    with _open(db_url) as db:
        try:
            n = load_seed(db, file)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"loaded {plural(n, 'commitment')}" if n else "commitments already present; nothing done"
    )


@commitments_group.command("confirm")
@db_option
@click.argument("commitment_id")
@click.argument("status")
@click.option("--evidence", "event_id", type=int, help="Id of the event that justifies it.")
@click.option("--evidence-id", type=int, help="Or the id of an evidence timeline entry.")
@click.option("--by", default="", help="Who confirms.")
@click.option("--note", default="")
def confirm_cmd(
    db_url: str | None,
    commitment_id: str,
    status: str,
    event_id: int | None,
    evidence_id: int | None,
    by: str,
    note: str,
) -> None:
    """Confirm a status change for a commitment, citing its evidence."""
    try:
        with _open(db_url) as db, db.session() as s:
            rec = confirm_status(
                s, commitment_id, status, event_id=event_id, evidence_id=evidence_id,
                by=by, note=note,
            )  # fmt: skip
            click.echo(f"{commitment_id}: {rec.from_status} -> {rec.to_status}")
    except TrackingError as exc:
        raise click.ClickException(str(exc)) from exc


DEADLINE_KINDS = ("deadline_approaching", "deadline_passed")


@commitments_group.command("deadlines")
@db_option
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date to check (default today).")
@click.option("--days", default="30,7", show_default=True, help="Warning thresholds in days.")
@click.option(
    "--since",
    "--passed-since",
    "since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Report passed deadlines that ended on or after DATE (default: from the first run "
    "of this command, so a new registry does not flood the outbox with old deadlines).",
)
def deadlines_cmd(db_url: str | None, today: Any, days: str, since: Any) -> None:
    """Queue deadline_approaching / deadline_passed events."""
    day = today.date() if today else date.today()
    thresholds = tuple(int(d) for d in days.split(",") if d.strip())
    with _open(db_url) as db, db.session() as s:
        first_queued = s.scalar(
            select(func.min(Event.created_at)).where(Event.kind.in_(DEADLINE_KINDS))
        )
        start = since.date() if since else (first_queued.date() if first_queued else day)
        start = min(start, day)
        skipped = _passed_before(s, start)
        events = check_deadlines(s, day, thresholds, passed_since=start)
        for ev in events:
            p = ev.payload
            click.echo(f"{ev.kind}: {p['commitment_id']} {p['figure_key']} (ends {p['end']})")
    click.echo(f"{plural(len(events), 'event')} queued")
    if skipped:
        why = (
            "" if since else " (this is the first run)" if not first_queued else " (the first run)"
        )
        click.echo(
            f"{plural(skipped, 'deadline')} that passed before {start.isoformat()}{why} "
            f"{'was' if skipped == 1 else 'were'} not reported; --since DATE includes them",
            err=True,
        )


def _passed_before(s: Any, start: date) -> int:
    """How many open commitments' deadlines ended before ``start``."""
    stmt = (
        select(func.count())
        .select_from(KeyFigure)
        .join(Commitment, KeyFigure.commitment_id == Commitment.id)
        .where(KeyFigure.kind == "deadline", KeyFigure.end_date < start)
        .where(Commitment.status.not_in(CLOSED))
    )
    return int(s.scalar(stmt) or 0)
