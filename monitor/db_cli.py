"""``policy-monitor db``: schema migrations."""

from __future__ import annotations

import click

from monitor.db import (
    URL_HELP,
    current_revision,
    database_errors,
    downgrade,
    open_engine,
    resolve_url,
    upgrade,
)
from monitor.queue_schema import ensure_queue_schema, has_queue


@click.group("db")
def db_group() -> None:
    """Database schema management."""


@db_group.command("upgrade")
@click.option("--db", "db_url", help=URL_HELP)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(db_url: str | None, revision: str) -> None:
    """Apply schema migrations (on PostgreSQL, also the task queue's tables, once)."""
    url = resolve_url(db_url)
    engine = open_engine(url)
    with database_errors(url):
        upgrade(engine, revision)
        queue = has_queue(engine) and ensure_queue_schema(engine)
    click.echo(f"database at revision {current_revision(engine) or 'empty'}")
    if queue:
        click.echo("task queue tables created (procrastinate)")


@db_group.command("downgrade")
@click.option("--db", "db_url", help=URL_HELP)
@click.argument("revision")
def db_downgrade(db_url: str | None, revision: str) -> None:
    """Revert schema migrations down to REVISION ("base" for an empty schema)."""
    url = resolve_url(db_url)
    engine = open_engine(url)
    with database_errors(url):
        downgrade(engine, revision)
    click.echo(f"database at revision {current_revision(engine) or 'empty'}")


@db_group.command("current")
@click.option("--db", "db_url", help=URL_HELP)
def db_current(db_url: str | None) -> None:
    """Print the schema revision without changing anything."""
    engine = open_engine(resolve_url(db_url))
    click.echo(current_revision(engine) or "empty")
