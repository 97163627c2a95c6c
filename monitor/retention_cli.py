"""``policy-monitor snapshots compact``: keep storage bounded (see ``monitor.retention``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, select, text

from monitor import retention
from monitor.db import URL_HELP, Database, resolve_url
from monitor.models import Blob, ChangeRecord, Snapshot
from monitor.terminal import console, plural


@click.group("snapshots")
def snapshots_group() -> None:
    """Stored versions of watched pages."""


@snapshots_group.command("compact")
@click.option("--db", "db_url", help=URL_HELP)
@click.option(
    "--older-than",
    "older_than",
    metavar="AGE",
    help="Also drop versions fetched before this age (365d, 12w, 48h); the first and latest "
    "version of each page and anything an event or evidence cites are kept.",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option(
    "--vacuum",
    is_flag=True,
    help="Give the freed space back to the disk after (VACUUM; on PostgreSQL VACUUM FULL, "
    "which locks the tables while it runs).",
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def compact_command(
    db_url: str | None, older_than: str | None, dry_run: bool, vacuum: bool, as_json: bool
) -> None:
    """Drop re-rendered versions whose text did not change, and bodies nothing refers to.

    Every version whose reader-visible text changed is kept, unless --older-than says how old
    is too old.
    """
    age = retention.parse_age(older_than) if older_than else None
    db = Database(resolve_url(db_url))
    try:
        before = storage_size(db)
        started = time.monotonic()
        with _progress() as progress:
            report = retention.compact(db, older_than=age, dry_run=dry_run, progress=progress)
        if vacuum and not dry_run:
            run_vacuum(db.engine)
        seconds = time.monotonic() - started
        after = storage_size(db)
    finally:
        db.dispose()
    if as_json:
        out = report.to_json() | {"size_before": before, "size_after": after}
        click.echo(json.dumps(out | {"seconds": round(seconds, 2)}))
        return
    verb = "would drop" if dry_run else "dropped"
    click.echo(
        f"{plural(report.pages, 'page')}, {plural(report.snapshots_before, 'version')}: {verb} "
        f"{report.rerenders} re-rendered and {report.aged} aged "
        f"{'version' if report.snapshots == 1 else 'versions'}, "
        f"{plural(report.changes, 'change row')}, {plural(report.blobs, 'unreferenced body', 'unreferenced bodies')} "
        f"({_size(report.bytes_freed)} of stored data) in {seconds:.1f} s"
    )
    if report.kept_cited:
        click.echo(f"kept {report.kept_cited} old versions that events or evidence cite")
    click.echo(
        f"stored versions: {_size(before['stored'])} before, {_size(after['stored'])} after; "
        f"on disk {_size(before['database'])} before, {_size(after['database'])} after"
    )


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (pages compacted of all pages)."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("compacting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip
    task = bar.add_task("pages", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def storage_size(db: Database) -> dict[str, int]:
    """Rows and bytes behind the stored versions.

    ``stored``: the bytes of their texts, bodies and diffs as the database holds them.
    ``database``: the SQLite file (and its WAL), or on PostgreSQL the three tables with their
    indexes and TOAST, as the disk holds them (freed rows are reused, VACUUM FULL returns them).
    """
    with db.session(readonly=True) as s:
        rows = {
            "snapshots": s.scalar(select(func.count()).select_from(Snapshot)) or 0,
            "changes": s.scalar(select(func.count()).select_from(ChangeRecord)) or 0,
            "blobs": s.scalar(select(func.count()).select_from(Blob)) or 0,
        }
        stored = sum(
            int(s.scalar(select(func.coalesce(func.sum(func.length(col)), 0))) or 0)
            for col in (Snapshot.text, Blob.data, ChangeRecord.diff)
        )
        if db.engine.dialect.name == "postgresql":
            size = s.scalar(
                text(
                    "SELECT pg_total_relation_size('snapshot') + pg_total_relation_size('blob')"
                    " + pg_total_relation_size('change')"
                )
            )
        else:
            size = _sqlite_bytes(db.engine)
    return rows | {"stored": stored, "database": int(size or 0)}


def _sqlite_bytes(engine: Engine) -> int:
    path = engine.url.database or ""
    if not path or path == ":memory:":
        return 0
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


def run_vacuum(engine: Engine) -> None:
    """VACUUM outside a transaction (both SQLite and PostgreSQL refuse it inside one)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # the driver is in autocommit mode (monitor.db)
        try:
            raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # rewrites the tables under an exclusive lock: a running cycle waits for it
        conn.exec_driver_sql("VACUUM (FULL, ANALYZE) snapshot, change, blob")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
