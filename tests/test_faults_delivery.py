"""Channels that fail and then recover: retries, then exactly one delivery per recipient.

Slack answers 500s and 429s (Retry-After), the SMTP server is down and then up, one mailbox
is busy for a while and one refuses for good. Real local servers; the delivery layer's
backoff is skipped by moving ``next_attempt_at`` into the past between rounds.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slackserver import SlackServer
from smtpserver import SMTPServer
from sqlalchemy import select, update

from monitor.channels import deliver_configured
from monitor.config import Config, EmailConfig, NotifyConfig, RouteConfig, SlackConfig
from monitor.db import Database
from monitor.models import Delivery
from monitor.outbox import emit

TOKEN = "xoxb-fault-test"
TEAM = ["a@nhs.example", "busy@nhs.example", "gone@nhs.example", "z@nhs.example"]


def _config(slack: SlackServer, smtp_port: int) -> Config:
    return Config(
        notify=NotifyConfig(
            slack=SlackConfig(base_url=slack.api_url, channels={"default": "#alerts"}),
            email=EmailConfig(
                smtp_host="127.0.0.1", smtp_port=smtp_port, recipients=TEAM, timeout_s=5
            ),
            routes=[RouteConfig(notify=["slack:default", "email"])],
        )
    )


def _due_now(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with db.session() as s:
        s.execute(update(Delivery).where(Delivery.status == "pending").values(next_attempt_at=past))


def _statuses(db: Database) -> Counter[tuple[str, str]]:
    with db.session(readonly=True) as s:
        rows = s.execute(select(Delivery.recipient, Delivery.status)).all()
    return Counter((r, st) for r, st in rows)


def test_failing_channels_recover_and_deliver_exactly_once(tmp_path: Path) -> None:
    """On SQLite only: tests/test_delivery.py runs the same delivery code on PostgreSQL."""
    db = Database(f"sqlite:///{tmp_path / 'pm.db'}")
    with db.session() as s:
        for i in range(2):
            emit(s, "page_changed", f"fault:{i}", {"url": f"https://www.gov.uk/p{i}", "title": f"P{i}", "summary": "edited"})  # fmt: skip
    smtp = SMTPServer(defer={"busy@nhs.example"}, reject={"gone@nhs.example"})
    env = {"SLACK_BOT_TOKEN": TOKEN}
    with SlackServer(token=TOKEN) as slack:
        config = _config(slack, smtp.port)
        slack.server_error(3)  # more than the client's own retries: the delivery retries later
        first = deliver_configured(db, config, env=env)  # and the SMTP server is not up yet
        assert first.sent == 1 and first.retrying == 9  # the second Slack post got through
        assert first.dead == 0
        with smtp:
            slack.rate_limit(3, retry_after=1)  # 429 with Retry-After: honoured, then retried later
            _due_now(db)
            second = deliver_configured(db, config, env=env)
            assert second.dead == 2  # gone@ refused for good, for each event; nobody else
            _due_now(db)
            smtp.inbox.defer.clear()  # the busy mailbox recovers
            third = deliver_configured(db, config, env=env)
            _due_now(db)
            fourth = deliver_configured(db, config, env=env)
            assert fourth.sent == 0 and fourth.retrying == 0  # nothing left, nothing resent
            received = Counter(r for m in smtp.messages for r in m.rcpt_tos)
        posts = slack.messages("#alerts") or [m for ms in slack.history.values() for m in ms]
    assert len(posts) == 2, posts  # one Slack message per event
    assert received == Counter({"a@nhs.example": 2, "busy@nhs.example": 2, "z@nhs.example": 2})
    statuses = _statuses(db)
    assert statuses[("gone@nhs.example", "dead")] == 2
    assert sum(n for (r, st), n in statuses.items() if st == "sent") == 2 + 3 * 2
    assert not [k for k in statuses if k[1] not in ("sent", "dead")]
    assert third.sent + second.sent + first.sent == 8
