"""Subscribers as a channel, and digests: real mail to aiosmtpd, parsed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from smtpserver import SMTPServer
from sqlalchemy import update

from monitor import subscription
from monitor.channels import deliver_configured
from monitor.cli import cli
from monitor.config import Config, EmailConfig, NotifyConfig, RouteConfig
from monitor.db import Database
from monitor.digest_job import run_digest
from monitor.models import DigestSend, Event
from monitor.outbox import emit
from monitor.subscription import Tokens

SECRET = "a test secret that is long enough"
TOKENS = Tokens(SECRET)
BASE = "https://monitor.example"
PAGE = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"
FUNDING = {
    "commitment_id": "crisis-investment",
    "commitment_title": "£261m for community crisis teams",
    "change_kind": "funding",
    "before": "£261 million",
    "after": "£300 million",
    "summary": "funding: £261 million -> £300 million",
    "page_url": PAGE,
    "source": "nhse",
    "significance": 0.8,
}
WHEN = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)  # in the daily period due 2026-03-03 08:30


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_MONITOR_SECRET", SECRET)


def config(port: int, routes: list[str] | None = None) -> Config:
    return Config(
        notify=NotifyConfig(
            email=EmailConfig(smtp_host="127.0.0.1", smtp_port=port, sender="pm@monitor.example"),
            public_base_url=BASE,
            routes=[RouteConfig(events=["funding_changed"], notify=routes or ["subscribers"])],
        )
    )


def follow(db: Database, email: str, kind: str, value: str, freq: str, confirm: bool = True) -> int:
    s = subscription.add(db, email, kind, value, freq, TOKENS)
    if confirm:
        subscription.confirm(db, s.confirm_token, TOKENS)
    return s.subscription_id


def event(db: Database, kind: str, key: str, payload: dict[str, Any], when: datetime = WHEN) -> int:
    with db.session() as s:
        eid = emit(s, kind, key, payload)
        assert eid is not None
        s.execute(update(Event).where(Event.id == eid).values(created_at=when))
    return eid


def to_whom(smtp: SMTPServer) -> list[str]:
    return sorted(r.rcpt_tos[0] for r in smtp.messages)


def test_confirmed_immediate_followers_get_one_email_each(db: Database) -> None:
    follow(db, "ann@example.org", "commitment", "crisis-investment", "immediate")
    follow(db, "ann@example.org", "query", "crisis million", "immediate")  # two matches, one mail
    follow(db, "bo@example.org", "source", "nhse", "immediate")
    follow(db, "cy@example.org", "commitment", "crisis-investment", "immediate", confirm=False)
    follow(db, "di@example.org", "commitment", "crisis-investment", "daily")
    follow(db, "ed@example.org", "commitment", "other", "immediate")
    event(db, "funding_changed", "f1", FUNDING)
    with SMTPServer() as smtp:
        report = deliver_configured(db, config(smtp.port))
        assert (report.routed, report.sent, report.errors) == (2, 2, [])
        again = deliver_configured(db, config(smtp.port))
        assert (again.routed, again.sent) == (0, 0)
        assert to_whom(smtp) == ["ann@example.org", "bo@example.org"]
        ann = next(r.message for r in smtp.messages if r.rcpt_tos == ["ann@example.org"])
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(.+)>", ann["List-Unsubscribe"])
    assert url and url.group(1).startswith(f"{BASE}/subscriptions/unsubscribe?token=")
    text = ann.get_body(("plain",)).get_content()
    assert f"Manage your alerts: {BASE}/subscriptions/manage?token=" in text
    # the link's token ends both of ann's matching subscriptions, and nobody else's
    assert subscription.unsubscribe(db, url.group(1).split("token=")[1], TOKENS) == 2
    assert [f.email for f in subscription.listing(db, status="confirmed")] == [
        "bo@example.org", "di@example.org", "ed@example.org"
    ]  # fmt: skip


def test_an_unsubscribed_address_routed_earlier_is_not_mailed(db: Database) -> None:
    follow(db, "ann@example.org", "commitment", "crisis-investment", "immediate")
    event(db, "funding_changed", "f1", FUNDING)
    with SMTPServer(defer={"ann@example.org"}) as smtp:
        first = deliver_configured(db, config(smtp.port))
        assert first.retrying == 1
    subscription.remove(db, "ann@example.org")
    with db.session() as s:
        from monitor.models import Delivery

        s.execute(update(Delivery).values(next_attempt_at=WHEN - timedelta(days=1)))
    with SMTPServer() as smtp:
        later = deliver_configured(db, config(smtp.port))
        assert smtp.messages == [] and later.dead == 1


def test_followers_of_a_withdrawn_page_hear_at_once(db: Database) -> None:
    follow(db, "di@example.org", "page", PAGE.rstrip("/"), "weekly")
    follow(db, "ed@example.org", "source", "nhse", "weekly")
    event(db, "page_removed", "r1", {"url": PAGE, "title": "Crisis care", "source": "nhse"})
    with SMTPServer() as smtp:
        report = deliver_configured(db, config(smtp.port))  # no route names page_removed
        assert report.sent == 1
        assert to_whom(smtp) == ["di@example.org"]


def test_a_daily_digest_goes_once_per_subscriber_and_period(db: Database) -> None:
    follow(db, "di@example.org", "commitment", "crisis-investment", "daily")
    follow(db, "di@example.org", "source", "nhse", "daily")
    follow(db, "fay@example.org", "tag", "dental", "daily")  # nothing matches: no mail
    follow(db, "wes@example.org", "source", "nhse", "weekly")
    event(db, "funding_changed", "f1", FUNDING)
    event(db, "page_changed", "p1", {"url": PAGE, "title": "Crisis care", "source": "nhse",
                                    "summary": "text changed"})  # fmt: skip
    event(db, "page_changed", "old", {"url": PAGE, "source": "nhse"}, WHEN - timedelta(days=3))
    now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    with SMTPServer() as smtp:
        cfg = config(smtp.port)
        report = run_digest(db, cfg, "daily", now=now)
        assert (report.period.label, report.sent, report.empty) == ("2026-03-03", 1, 1)
        again = run_digest(db, cfg, "daily", now=now + timedelta(hours=2))
        assert (again.sent, again.already) == (0, 1)
        assert to_whom(smtp) == ["di@example.org"]
        msg = smtp.messages[0].message
    assert msg["Subject"] == "Policy Monitor daily digest, 2026-03-03: 2 changes"
    text = msg.get_body(("plain",)).get_content()
    assert text.count("£261 million -> £300 million") == 1  # the funding change, once
    assert msg["List-Unsubscribe"].startswith(f"<{BASE}/subscriptions/unsubscribe?token=")


def test_a_failed_digest_is_retried_and_a_stale_claim_released(db: Database) -> None:
    follow(db, "di@example.org", "commitment", "crisis-investment", "daily")
    event(db, "funding_changed", "f1", FUNDING)
    now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    with SMTPServer(defer={"di@example.org"}) as smtp:
        failed = run_digest(db, config(smtp.port), "daily", now=now)
        assert failed.sent == 0 and len(failed.errors) == 1
    with SMTPServer() as smtp:
        # a run that died after claiming: the claim holds until it is stale
        with db.session() as s:
            s.add(DigestSend(key="x", subscriber_id=1, period="daily", label="-", claimed_at=now))
        assert run_digest(db, config(smtp.port), "daily", now=now).sent == 1
        assert len(smtp.messages) == 1


def test_the_subscriptions_commands(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    with SMTPServer() as smtp:
        path = _write_config(tmp_path, smtp.port, db_url)
        args = ["--config", path]
        out = runner.invoke(cli, ["subscriptions", "add", "Ann@Example.org", "--commitment",
                                  "crisis-investment", *args])  # fmt: skip
        assert out.exit_code == 0, out.output
        known = runner.invoke(cli, ["subscriptions", "add", "ann@example.org", "--commitment",
                                    "crisis-investment", *args])  # fmt: skip
        assert known.output == out.output  # no enumeration
        assert len(smtp.messages) == 2
        msg = smtp.messages[0].message
    assert msg["Subject"].startswith("Confirm your Policy Monitor alerts")
    text = msg.get_body(("plain",)).get_content()
    token = re.search(r"subscriptions/confirm\?token=(\S+)", text)
    assert token
    listed = runner.invoke(cli, ["subscriptions", "list", *args])
    assert "pending" in listed.output and "confirmed" not in listed.output
    ok = runner.invoke(cli, ["subscriptions", "confirm", token.group(1), *args])
    assert ok.exit_code == 0, ok.output
    assert "confirmed" in runner.invoke(cli, ["subscriptions", "list", *args]).output
    bad = runner.invoke(cli, ["subscriptions", "confirm", token.group(1) + "x", *args])
    assert bad.exit_code != 0
    exported = runner.invoke(cli, ["subscriptions", "export", "ann@example.org", *args])
    assert '"value": "crisis-investment"' in exported.output
    removed = runner.invoke(cli, ["subscriptions", "remove", "ann@example.org", *args])
    assert "1 subscription(s) ended" in removed.output
    gone = runner.invoke(cli, ["subscriptions", "delete", "ann@example.org", *args])
    assert gone.output.strip() == "erased"
    assert "no subscriptions" in runner.invoke(cli, ["subscriptions", "list", *args]).output


def _write_config(tmp_path: Path, port: int, db_url: str) -> str:
    text = (
        f"database: {db_url}\n"
        "notify:\n"
        f"  public_base_url: {BASE}\n"
        "  email: {smtp_host: 127.0.0.1, smtp_port: %d, sender: pm@monitor.example}\n" % port
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_without_a_secret_subscribers_mail_is_off_or_an_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.errors import ConfigError

    monkeypatch.delenv("POLICY_MONITOR_SECRET")
    follow(db, "di@example.org", "page", PAGE, "weekly")
    event(db, "page_removed", "r1", {"url": PAGE, "title": "Crisis care"})
    with SMTPServer() as smtp:
        with pytest.raises(ConfigError, match="POLICY_MONITOR_SECRET is not set"):
            deliver_configured(db, config(smtp.port))
        report = deliver_configured(db, config(smtp.port, routes=["email"]))
        assert report.routed == 0 and smtp.messages == []  # no team recipients, no notice
