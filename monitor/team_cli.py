"""``policy-monitor team`` and ``triage``: team users, routing rules, watched pages, triage.

The web team pages call the same service functions (``monitor.accounts``, ``triage``,
``route_rules``, ``watched_pages``).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from monitor import accounts, route_rules, triage, watched_pages
from monitor.config import Config, load_config
from monitor.db import Database, resolve_url
from monitor.terminal import console as make_console
from monitor.terminal import print_trimmed

_config = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file."
)
_db = click.option("--db", "db_url", help="Database URL.")
_by = click.option(
    "--by", default=lambda: getpass.getuser(), help="Who decides (default: your user name)."
)


@contextmanager
def _open(config_path: str | None, db_url: str | None) -> Iterator[tuple[Config, Database]]:
    config = load_config(config_path) if config_path else Config()
    db = Database(resolve_url(db_url, config.database))
    try:
        yield config, db
    finally:
        db.dispose()


def _table(*cols: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for col in cols:
        table.add_column(col, overflow="fold")
    return table


@click.group("team")
def team_group() -> None:
    """Team users, routing rules kept in the database, and watched pages."""


@team_group.group("user")
def user_group() -> None:
    """Team users who may sign in to the team view."""


@user_group.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--sso-only", is_flag=True, help="No password: signs in through the SSO proxy.")
@_config
@_db
def user_add(
    email: str, password_stdin: bool, sso_only: bool, config_path: str | None, db_url: str | None
) -> None:
    """Add a team user; the password is asked for (twice) unless --password-stdin."""
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sso_only:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _open(config_path, db_url) as (_, db):
        addr = accounts.add_user(db, email, password)
    click.echo(f"added {addr}" + (" (SSO only)" if password is None else ""))


@user_group.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@_config
@_db
def user_passwd(
    email: str, password_stdin: bool, config_path: str | None, db_url: str | None
) -> None:
    """Set a team user's password (asked for twice unless --password-stdin)."""
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if password_stdin
        else click.prompt("New password", hide_input=True, confirmation_prompt=True)
    )
    with _open(config_path, db_url) as (_, db):
        accounts.set_password(db, email, password)
    click.echo("password changed")


@user_group.command("list")
@_config
@_db
def user_list(config_path: str | None, db_url: str | None) -> None:
    """List team users."""
    with _open(config_path, db_url) as (_, db):
        users = accounts.list_users(db)
    for u in users:
        seen = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
        click.echo(f"{u.email}\t{'sso' if u.sso_only else 'password'}\tlast sign-in {seen}")
    if not users:
        click.echo("no team users; add one with: policy-monitor team user add EMAIL")


@user_group.command("remove")
@click.argument("email")
@_config
@_db
def user_remove(email: str, config_path: str | None, db_url: str | None) -> None:
    """Remove a team user."""
    with _open(config_path, db_url) as (_, db):
        found = accounts.remove_user(db, email)
    click.echo("removed" if found else f"no team user {email}")


@team_group.group("rule")
def rule_group() -> None:
    """Routing rules kept in the database (applied after the config's notify.routes)."""


@rule_group.command("add")
@click.option("--notify", "notify", multiple=True, required=True, help="A target: slack:NAME...")
@click.option("--event", "events", multiple=True, help="An event kind (default: all).")
@click.option("--source", "sources", multiple=True, help="A source name (default: all).")
@click.option("--commitment", "commitments", multiple=True, help="A commitment id.")
@click.option("--tag", "tags", multiple=True, help="A commitment tag.")
@click.option("--min-significance", type=float, default=0.0, show_default=True)
@click.option("--note", default="", help="Why the rule exists.")
@_by
@_config
@_db
def rule_add(
    notify: tuple[str, ...],
    events: tuple[str, ...],
    sources: tuple[str, ...],
    commitments: tuple[str, ...],
    tags: tuple[str, ...],
    min_significance: float,
    note: str,
    by: str,
    config_path: str | None,
    db_url: str | None,
) -> None:
    """Add a routing rule; refused if it names a channel the config does not set up."""
    with _open(config_path, db_url) as (config, db):
        rule_id = route_rules.add_rule(
            db, config, notify=notify, events=events, sources=sources,
            commitments=commitments, tags=tags, min_significance=min_significance,
            note=note, by=by,
        )  # fmt: skip
    click.echo(f"rule {rule_id} added")


@rule_group.command("list")
@_config
@_db
def rule_list(config_path: str | None, db_url: str | None) -> None:
    """List the routing rules kept in the database."""
    with _open(config_path, db_url) as (_, db):
        rules = route_rules.list_rules(db)
    for r in rules:
        click.echo(json.dumps(r, ensure_ascii=False))
    if not rules:
        click.echo("no routing rules in the database")


@rule_group.command("remove")
@click.argument("rule_id", type=int)
@_config
@_db
def rule_remove(rule_id: int, config_path: str | None, db_url: str | None) -> None:
    """Remove a routing rule."""
    with _open(config_path, db_url) as (_, db):
        found = route_rules.remove_rule(db, rule_id)
    click.echo("removed" if found else f"no rule {rule_id}")


@team_group.group("page")
def page_group() -> None:
    """Watched pages added by hand (only on a configured source's allowed_domains)."""


@page_group.command("add")
@click.argument("url")
@click.option("--source", help="The configured source it belongs to.")
@click.option("--title", default="")
@_config
@_db
def page_add(
    url: str, source: str | None, title: str, config_path: str | None, db_url: str | None
) -> None:
    """Watch URL from the next check on."""
    with _open(config_path, db_url) as (config, db):
        page = watched_pages.add_page(db, config, url, source=source, title=title)
    click.echo(f"watching page {page.id} ({page.source}): {page.url}")


@page_group.command("list")
@_config
@_db
def page_list(config_path: str | None, db_url: str | None) -> None:
    """List the watched pages of the configured sources."""
    with _open(config_path, db_url) as (config, db):
        rows = watched_pages.list_pages(db, config)
    table = _table("id", "source", "url", "from", "last checked")
    for p in rows:
        seen = f"{p.last_checked_at:%Y-%m-%d %H:%M} ({p.last_status})" if p.last_checked_at else ""
        table.add_row(
            str(p.id), p.source, escape(p.url), "config" if p.configured else "team", seen
        )
    if rows:
        print_trimmed(make_console(), table)
    else:
        click.echo("no watched pages")


@page_group.command("remove")
@click.argument("page_id", type=int)
@_config
@_db
def page_remove(page_id: int, config_path: str | None, db_url: str | None) -> None:
    """Stop watching a page added by hand."""
    with _open(config_path, db_url) as (config, db):
        url = watched_pages.remove_page(db, config, page_id)
    click.echo(f"no longer watching {url}")


@click.group("triage")
def triage_group() -> None:
    """The team's triage queue of recent events."""


@triage_group.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(triage.STATES))
@click.option("--assigned", help="Only events assigned to this team user.")
@click.option("--snoozed", is_flag=True, help="Include snoozed events.")
@click.option("--days", default=14, show_default=True, help="How far back.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@_config
@_db
def triage_list(
    states: tuple[str, ...],
    assigned: str | None,
    snoozed: bool,
    days: int,
    as_json: bool,
    config_path: str | None,
    db_url: str | None,
) -> None:
    """Recent events waiting for the team (open ones unless --state says otherwise)."""
    with _open(config_path, db_url) as (_, db):
        items = triage.queue(
            db, days=days, states=states or ("open",), assigned_to=assigned,
            include_snoozed=snoozed,
        )  # fmt: skip
    if as_json:
        for it in items:
            row = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in vars(it).items()}
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not items:
        click.echo("nothing to triage")
        return
    table = _table("event", "kind", "state", "assigned", "what")
    for it in items:
        what = " - ".join(x for x in (it.title, it.summary) if x)
        table.add_row(str(it.event_id), it.kind, it.state, it.assigned_to or "", escape(what))
    print_trimmed(make_console(), table)


def _event_ids(ids: tuple[int, ...]) -> tuple[int, ...]:
    if not ids:
        raise click.UsageError("give one or more event ids")
    return ids


@triage_group.command("ack")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--note", default="")
@_by
@_config
@_db
def triage_ack(
    event_ids: tuple[int, ...], note: str, by: str, config_path: str | None, db_url: str | None
) -> None:
    """Acknowledge events: seen and relevant."""
    with _open(config_path, db_url) as (_, db):
        for eid in _event_ids(event_ids):
            triage.acknowledge(db, eid, by, note)
    click.echo(f"{len(event_ids)} acknowledged")


@triage_group.command("dismiss")
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--reason", required=True, help="Why not relevant (kept as the label's reason).")
@_by
@_config
@_db
def triage_dismiss(
    event_ids: tuple[int, ...], reason: str, by: str, config_path: str | None, db_url: str | None
) -> None:
    """Mark events not relevant; each becomes a labelled example."""
    with _open(config_path, db_url) as (_, db):
        for eid in _event_ids(event_ids):
            triage.dismiss(db, eid, by, reason)
    click.echo(f"{len(event_ids)} marked not relevant")


@triage_group.command("reopen")
@click.argument("event_ids", nargs=-1, type=int)
@_config
@_db
def triage_reopen(event_ids: tuple[int, ...], config_path: str | None, db_url: str | None) -> None:
    """Put decided events back in the queue (their labels are withdrawn)."""
    with _open(config_path, db_url) as (_, db):
        for eid in _event_ids(event_ids):
            triage.reopen(db, eid)
    click.echo(f"{len(event_ids)} reopened")


@triage_group.command("assign")
@click.argument("event_id", type=int)
@click.argument("email", required=False)
@click.option("--clear", is_flag=True, help="Remove the assignment.")
@_config
@_db
def triage_assign(
    event_id: int, email: str | None, clear: bool, config_path: str | None, db_url: str | None
) -> None:
    """Assign an event to a team user."""
    if bool(email) == clear:
        raise click.UsageError("give a team user's EMAIL or --clear")
    with _open(config_path, db_url) as (_, db):
        triage.assign(db, event_id, None if clear else email)
    click.echo("assignment cleared" if clear else f"assigned to {email}")


def parse_until(text: str, now: datetime | None = None) -> datetime:
    try:
        return triage.parse_until(text, now)
    except triage.TriageError as exc:
        raise click.BadParameter(str(exc)) from exc


@triage_group.command("snooze")
@click.argument("event_id", type=int)
@click.argument("until")
@_config
@_db
def triage_snooze(event_id: int, until: str, config_path: str | None, db_url: str | None) -> None:
    """Hide an event until UNTIL (3d, 12h, 2w or an ISO date)."""
    when = parse_until(until)
    with _open(config_path, db_url) as (_, db):
        triage.snooze(db, event_id, when)
    click.echo(f"snoozed until {when:%Y-%m-%d %H:%M} UTC")


@triage_group.command("export-labels")
@click.option("--with-text", is_flag=True, help="Include the old and new page text.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@_config
@_db
def triage_export(
    with_text: bool, output: IO[str], config_path: str | None, db_url: str | None
) -> None:
    """Write every decided event as a labelled example, one JSON object a line."""
    n = 0
    with _open(config_path, db_url) as (_, db):
        for example in triage.labelled_examples(db, with_text=with_text):
            output.write(json.dumps(example, ensure_ascii=False) + "\n")
            n += 1
    click.echo(f"{n} labelled examples", err=True)
