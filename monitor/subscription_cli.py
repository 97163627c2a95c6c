"""``policy-monitor subscriptions``: follow this policy from the command line.

``add`` stores a pending subscription and mails the confirmation link (double opt-in);
``confirm`` takes the token from that link; ``remove`` ends subscriptions by address or by an
unsubscribe token; ``export`` prints everything stored about an address; ``delete`` erases it.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor import subscribers, subscription
from monitor.channels import build_notifiers
from monitor.config import Config, load_config
from monitor.db import Database, resolve_url
from monitor.errors import ConfigError
from monitor.following import FOLLOW_KINDS, FREQUENCIES, describe_follow
from notifiers.email import EmailNotifier, render_confirmation

_config = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file."
)
_db = click.option("--db", "db_url", help="Database URL.")


def _open(config_path: str | None, db_url: str | None) -> tuple[Config, Database]:
    config = load_config(config_path) if config_path else Config()
    return config, Database(resolve_url(db_url, config.database))


def _follow(values: dict[str, str | None]) -> tuple[str, str]:
    given = [(k, v) for k, v in values.items() if v]
    if len(given) != 1:
        raise click.UsageError("follow exactly one of --" + ", --".join(FOLLOW_KINDS))
    return given[0][0], str(given[0][1])


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Follow a commitment, page, tag, source or keyword query by email."""


@subscriptions_group.command("add")
@click.argument("email")
@click.option("--commitment", help="A commitment's id.")
@click.option("--page", help="A watched page's URL.")
@click.option("--tag", help="A commitment tag.")
@click.option("--source", help="A source's name.")
@click.option("--query", help='Keywords over all changes: words, "phrases", -exclusions.')
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="immediate", show_default=True)
@_config
@_db
def add_command(
    email: str,
    commitment: str | None,
    page: str | None,
    tag: str | None,
    source: str | None,
    query: str | None,
    frequency: str,
    config_path: str | None,
    db_url: str | None,
) -> None:
    """Sign EMAIL up; nothing is sent to it but the confirmation until it is confirmed."""
    kind, value = _follow(
        {"commitment": commitment, "page": page, "tag": tag, "source": source, "query": query}
    )
    config, db = _open(config_path, db_url)
    try:
        mailer = build_notifiers(config).get("email")
        if not isinstance(mailer, EmailNotifier):
            raise ConfigError("notify.email: sign-ups need an email section to send from")
        tokens = subscribers.tokens_from(config.notify)
        signup = subscription.add(db, email, kind, value, frequency, tokens)
    finally:
        db.dispose()
    links = subscribers.SubscriberLinks(config.notify.public_base_url, tokens)
    msg = render_confirmation(
        recipient=signup.email,
        confirm_url=links.confirm_url(signup.confirm_token),
        following=describe_follow(kind, value),
        frequency=frequency,
        sender=mailer.sender,
        list_id=mailer.list_id,
    )
    mailer.send_message(msg)
    click.echo(signup.answer)


@subscriptions_group.command("confirm")
@click.argument("token")
@_config
@_db
def confirm_command(token: str, config_path: str | None, db_url: str | None) -> None:
    """Confirm a subscription with the token from its confirmation link."""
    config, db = _open(config_path, db_url)
    try:
        subscription.confirm(db, token, subscribers.tokens_from(config.notify))
    finally:
        db.dispose()
    click.echo("Confirmed: alerts will follow.")


@subscriptions_group.command("list")
@click.option("--email", help="Only this address.")
@click.option("--status", type=click.Choice(["pending", "confirmed", "unsubscribed"]))
@_config
@_db
def list_command(
    email: str | None, status: str | None, config_path: str | None, db_url: str | None
) -> None:
    """List subscriptions."""
    _, db = _open(config_path, db_url)
    try:
        rows = subscription.listing(db, email=email, status=status)
    finally:
        db.dispose()
    if not rows:
        click.echo("no subscriptions")
        return
    table = Table()
    for col in ("id", "email", "follows", "frequency", "status"):
        table.add_column(col)
    for f in rows:
        table.add_row(
            str(f.id), escape(f.email), escape(f"{f.follow_kind}: {f.value}"), f.frequency, f.status
        )
    Console().print(table)


@subscriptions_group.command("remove")
@click.argument("email", required=False)
@click.option("--token", help="An unsubscribe token (from the link in an email).")
@click.option("--follow", "follow_kind", type=click.Choice(FOLLOW_KINDS), help="Only this kind.")
@click.option("--value", help="Only subscriptions following this.")
@_config
@_db
def remove_command(
    email: str | None,
    token: str | None,
    follow_kind: str | None,
    value: str | None,
    config_path: str | None,
    db_url: str | None,
) -> None:
    """Unsubscribe EMAIL (from everything, or one follow), or what a --token names."""
    if bool(email) == bool(token):
        raise click.UsageError("give an EMAIL or a --token")
    config, db = _open(config_path, db_url)
    try:
        if token:
            n = subscription.unsubscribe(db, token, subscribers.tokens_from(config.notify))
        else:
            assert email is not None
            n = subscription.remove(db, email, follow_kind, value)
    finally:
        db.dispose()
    click.echo(f"{n} subscription(s) ended")


@subscriptions_group.command("export")
@click.argument("email")
@_config
@_db
def export_command(email: str, config_path: str | None, db_url: str | None) -> None:
    """Print, as JSON, everything stored about EMAIL."""
    _, db = _open(config_path, db_url)
    try:
        data = subscription.export(db, email)
    finally:
        db.dispose()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@subscriptions_group.command("delete")
@click.argument("email")
@_config
@_db
def delete_command(email: str, config_path: str | None, db_url: str | None) -> None:
    """Erase EMAIL and everything about it (subscriptions, digests sent, sign-ups)."""
    _, db = _open(config_path, db_url)
    try:
        found = subscription.erase(db, email)
    finally:
        db.dispose()
    click.echo("erased" if found else "nothing stored for that address")
