"""``check --config`` with Slack and email routes, delivering to local servers named in the
config: a replayed funding change on a watched page gives one Slack message in the routed
channel (in the commitment's thread), one email to each confirmed immediate subscriber and
none to anyone else, and the next daily digest holds it once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from slackserver import SlackServer
from smtpserver import SMTPServer

from monitor import subscription
from monitor.commitment import load_seed
from monitor.db import Database
from monitor.demo import demo_config
from monitor.digest_period import latest_period
from monitor.models import ThreadRef
from monitor.replay import ReplayServer
from monitor.subscription import Tokens

pytestmark = pytest.mark.slow
SECRET = "check-notify test secret, long enough"
TOKEN = "xoxb-check"
COMMITMENT = "nhse-crisis-investment-2019-21"
THREAD = "1700000000.424242"  # the commitment's thread, opened by an earlier alert


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHECK_SLACK_TOKEN": TOKEN, "CHECK_SECRET": SECRET}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], env=env, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip


def write_config(path: Path, replay: ReplayServer, slack: SlackServer, smtp: SMTPServer) -> None:
    data: dict[str, Any] = demo_config(replay).model_dump(mode="json", exclude_defaults=True)
    data["notify"] = {
        "slack": {"token_env": "CHECK_SLACK_TOKEN", "base_url": slack.api_url,
                  "channels": {"policy": "#policy-alerts", "other": "#elsewhere"}},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                  "sender": "Policy Monitor <alerts@monitor.example>", "list_id": "check.test"},
        "public_base_url": "https://monitor.example",
        "secret_env": "CHECK_SECRET",
        "routes": [
            {"events": ["funding_changed"], "notify": ["slack:policy", "subscribers"]},
            {"events": ["deadline_changed"], "notify": ["slack:other"]},
        ],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_check_delivers_to_slack_subscribers_and_the_digest(
    replay: ReplayServer, db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    load_seed(db)
    tokens = Tokens(SECRET)
    for email, freq, confirm in [
        ("ann@example.org", "immediate", True),
        ("bo@example.org", "immediate", False),
        ("di@example.org", "daily", True),
    ]:
        s = subscription.add(db, email, "commitment", COMMITMENT, freq, tokens)
        if confirm:
            subscription.confirm(db, s.confirm_token, tokens)
    with db.session() as s:
        s.add(ThreadRef(channel="slack", recipient="#policy-alerts", thread_key=COMMITMENT,
                        ref=THREAD))  # fmt: skip
    db.dispose()
    started = datetime.now(UTC)
    cfg = tmp_path / "config.yaml"
    with SlackServer(token=TOKEN) as slack, SMTPServer() as smtp:
        write_config(cfg, replay, slack, smtp)
        first = run("check", "--config", str(cfg), "--db", db_url)
        assert first.returncode == 0, first.stderr
        assert slack.posts() == [] and smtp.messages == []  # a baseline alerts nobody
        replay.site.set_revision(1)
        second = run("check", "--config", str(cfg), "--db", db_url)
        assert second.returncode == 0, second.stderr
        posts = slack.posts()
        mails = [(m.rcpt_tos, m.message) for m in smtp.messages]
        due = latest_period("daily", started + timedelta(days=1), daily_at="08:30",
                            weekly_day="saturday", timezone="Europe/London").end  # fmt: skip
        digests = [run("digest", "--config", str(cfg), "--db", db_url, "--period", "daily",
                       "--now", due.isoformat()) for _ in range(2)]  # fmt: skip
        digest_mails = [(m.rcpt_tos, m.message) for m in smtp.messages[len(mails) :]]
    assert len(posts) == 1
    assert posts[0]["channel"] == "#policy-alerts" and posts[0]["thread_ts"] == THREAD
    assert posts[0]["text"].startswith("Funding changed: £261m for community crisis teams")
    assert [to for to, _ in mails] == [["ann@example.org"]]
    msg = mails[0][1]
    assert msg["Subject"].startswith("Funding changed: £261m")
    assert msg["List-Id"] == "Policy Monitor <check.test>"
    assert msg["List-Unsubscribe"].startswith("<https://monitor.example/subscriptions/unsub")
    for d in digests:
        assert d.returncode == 0, d.stderr
    assert "1 sent" in digests[0].stderr and "1 already sent" in digests[1].stderr
    assert [to for to, _ in digest_mails] == [["di@example.org"]]
    text = digest_mails[0][1].get_body(("plain",)).get_content()
    assert text.count("£261 million -> £300 million") == 1
