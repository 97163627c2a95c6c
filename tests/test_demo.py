"""The demo command end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_offline_and_prints_the_alerts(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--db", f"sqlite:///{tmp_path}/demo.db"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    out = proc.stdout
    assert elapsed < 30
    assert out.count("ALERT") == 7
    assert "loaded 38 tracked commitments" in out
    assert "funding changed: £261m for community crisis teams" in out
    assert "deadline changed: Urgent mental health help through NHS 111" in out
    assert "suggested status: at_risk" in out and "--evidence EVENT_ID" not in out
    assert "discovered a new page in a feed" in out and "crisis-alternatives-funding-2026" in out
    assert "£261 million" in out and "£300 million" in out
    assert "2023/24" in out and "2024/25" in out
    assert "1.4.2" in out  # the NICE recommendation that was added
    assert "Rendered" not in out and "cookies" not in out  # noise never reaches an alert
    last_round = out.split("nothing changed")[1].split("what the local Slack server")[0]
    assert "4 unchanged" in last_round
    assert "ALERT" not in last_round
    # the notifications, as the local Slack and SMTP servers received them
    slack = out.split("what the local Slack server received")[1].split("what the local SMTP")[0]
    assert slack.count("slack #policy-alerts:") == 2
    assert "Funding changed: £261m for community crisis teams" in slack
    mail = out.split("what the local SMTP server received")[1].split("daily digest due")[0]
    assert mail.count("Confirm your Policy Monitor alerts") == 3
    assert mail.count("email to ann@example.org: Funding changed") == 1
    assert "email to bo@example.org: Funding" not in mail  # never confirmed
    assert "email to di@example.org: Funding" not in mail  # daily: the digest instead
    assert "the confirmation email ann@example.org received" in out
    assert "subscriptions/confirm?token=" in out
    assert "1 sent; run again: 0 sent, 1 already sent" in out
    digest = out.split("the daily digest di@example.org received")[1]
    assert "daily digest" in digest and ": 1 change" in digest
    assert digest.count("£261 million -> £300 million") == 1
    assert "Unsubscribe: https://monitor.demo.test/subscriptions/unsubscribe?token=" in digest
