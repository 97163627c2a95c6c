"""The digest job: each confirmed daily or weekly subscriber gets the period's changes once.

For a period (see :mod:`monitor.digest_period`), every subscriber with confirmed
subscriptions of that frequency gets one email with the period's events that match any of
them (none: no email). Each send is recorded under the key subscriber:period:label before
it goes out and marked sent after, so running the job twice sends nothing twice. A run that
dies between the SMTP server's acceptance and the record leaves a claim; it is retried
after ``DELIVERY_STALE_CLAIM_S`` with the same Message-ID, which mail clients collapse.

Team recipients (``notify.email.recipients``) get no digest: they get immediate alerts by
route; a team that wants a digest subscribes its list address.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor import settings, subscribers
from monitor.channels import build_notifiers
from monitor.config import Config, load_config
from monitor.db import Database, dialect_insert, resolve_url
from monitor.delivery import Links
from monitor.digest_period import Period, latest_period
from monitor.errors import ConfigError, InputError
from monitor.following import matches
from monitor.models import DigestSend, Event
from monitor.subscription import Following, listing
from notifiers.base import Alert
from notifiers.email import EmailNotifier, render_digest

log = logging.getLogger(__name__)


@dataclass
class DigestReport:
    period: Period
    sent: int = 0
    empty: int = 0  # subscribers with nothing in the period
    already: int = 0  # sent (or being sent) by an earlier run
    errors: list[str] = field(default_factory=list)


def period_for(config: Config, kind: str, now: datetime) -> Period:
    d = config.notify.digest
    return latest_period(
        kind, now, daily_at=d.daily_at, weekly_day=d.weekly_day, timezone=d.timezone
    )


def _events(db: Database, period: Period) -> list[Event]:
    with db.session(readonly=True) as s:
        rows = s.scalars(
            select(Event)
            .where(
                Event.created_at >= period.start,
                Event.created_at < period.end,
                Event.status != "suppressed",
            )
            .order_by(Event.id)
        )
        out = list(rows)
        s.expunge_all()
        return out


def _claim(s: Session, key: str, subscriber_id: int, period: Period, now: datetime) -> bool:
    stale = now - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S)
    s.execute(
        delete(DigestSend).where(
            DigestSend.key == key, DigestSend.status == "sending", DigestSend.claimed_at < stale
        )
    )
    ins = dialect_insert(s.get_bind().dialect.name, DigestSend)
    stmt = ins.values(
        key=key, subscriber_id=subscriber_id, period=period.kind, label=period.label,
        status="sending", items=0, claimed_at=now,
    ).on_conflict_do_nothing(index_elements=["key"])  # fmt: skip
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns the new id
    return s.execute(stmt.returning(DigestSend.id)).scalar() is not None


def interrupted(db: Database, config: Config, kind: str, now: datetime | None = None) -> bool:
    """Whether a run of the latest ``kind`` digest began here: a claim exists for its period.

    A daemon restarted after a kill runs that digest again so the subscribers the killed
    run had not reached still get it; those it reached are skipped by their claims.
    """
    period = period_for(config, kind, now or datetime.now(UTC))
    with db.session(readonly=True) as s:
        found = s.scalar(
            select(DigestSend.id)
            .where(DigestSend.period == period.kind, DigestSend.label == period.label)
            .limit(1)
        )
    return found is not None


def run_digest(
    db: Database,
    config: Config,
    kind: str,
    *,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> DigestReport:
    """Send the latest ``kind`` digest due at ``now`` to every subscriber not yet sent it."""
    now = now or datetime.now(UTC)
    period = period_for(config, kind, now)
    report = DigestReport(period)
    email = build_notifiers(config, env=env).get("email")
    if not isinstance(email, EmailNotifier):
        raise ConfigError("notify.email: digests need an email section")
    links = subscribers.SubscriberLinks(
        config.notify.public_base_url, subscribers.tokens_from(config.notify, env)
    )
    by_address: dict[str, list[Following]] = {}
    for f in listing(db, status="confirmed"):
        if f.frequency == kind:
            by_address.setdefault(f.email, []).append(f)
    if not by_address:
        return report
    events = _events(db, period)
    alert_links = Links(config.notify.public_base_url)
    for address, subs in sorted(by_address.items()):
        alerts: list[Alert] = [
            alert_links.alert(e, why="you follow this")
            for e in events
            if any(matches(f.follow_kind, f.value, e.kind, dict(e.payload or {})) for f in subs)
        ]
        if not alerts:
            report.empty += 1
            continue
        _send_one(db, email, links, address, subs, alerts, period, now, report)
    return report


def _send_one(
    db: Database,
    email: EmailNotifier,
    links: subscribers.SubscriberLinks,
    address: str,
    subs: list[Following],
    alerts: list[Alert],
    period: Period,
    now: datetime,
    report: DigestReport,
) -> None:
    key = f"{subs[0].subscriber_id}:{period.kind}:{period.label}"
    with db.session() as s:
        if not _claim(s, key, subs[0].subscriber_id, period, now):
            report.already += 1
            return
    msg = render_digest(
        alerts,
        period=period.kind,
        period_label=period.label,
        recipient=address,
        manage_url=links.manage_url(subs[0].subscriber_id),
        unsubscribe_url=links.unsubscribe_url(subs),
        sender=email.sender,
        list_id=email.list_id,
        now=now,
    )
    try:
        email.send_message(msg)
    except Exception as exc:  # one subscriber's failure never stops the others
        with db.session() as s:
            s.execute(delete(DigestSend).where(DigestSend.key == key))
        report.errors.append(f"{address}: {exc}")
        log.warning("digest %s to %s failed, the next run retries: %s", key, address, exc)
        return
    with db.session() as s:
        row = s.scalar(select(DigestSend).where(DigestSend.key == key))
        if row is not None:
            row.status, row.sent_at, row.items = "sent", datetime.now(UTC), len(alerts)
            row.ref = str(msg["Message-ID"])
    report.sent += 1


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--now: not an ISO date and time: {text!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command("digest")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--db", "db_url", help="Database URL.")
@click.option(
    "--period",
    type=click.Choice(["daily", "weekly"]),
    multiple=True,
    help="Which digest (default: both, each for its latest period due).",
)
@click.option("--now", "now_text", help="Act as if it were this time (ISO 8601; UTC if naive).")
def digest_command(
    config_path: str | None, db_url: str | None, period: tuple[str, ...], now_text: str | None
) -> None:
    """Send the latest daily and weekly digests due; a period already sent is not resent.

    Exit status: 0 all sent, 1 some failed (the next run retries them).
    """
    config = load_config(config_path) if config_path else Config()
    db = Database(resolve_url(db_url, config.database))
    now = _parse_now(now_text)
    failed = False
    try:
        for kind in period or ("daily", "weekly"):
            r = run_digest(db, config, kind, now=now)
            click.echo(
                f"{kind} digest {r.period.label}: {r.sent} sent, {r.already} already sent, "
                f"{r.empty} with nothing new, {len(r.errors)} failed",
                err=True,
            )
            for line in r.errors:
                click.echo(f"  {line}", err=True)
            failed = failed or bool(r.errors)
    finally:
        db.dispose()
    if failed:
        raise SystemExit(1)
