"""Kill the delivery process mid-send (SIGKILL), restart it: nothing lost, nothing twice.

The local Slack server stores a message as soon as it arrives and answers it late, so the
kill lands in the one window that matters: Slack has the message, the database does not
know. The restart (after the claim has gone stale) finds the message by the delivery key
in its metadata and records it instead of posting it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slackserver import SlackServer
from sqlalchemy import select, update

from monitor import settings
from monitor.db import Database
from monitor.models import Delivery, ThreadRef
from monitor.outbox import emit

pytestmark = pytest.mark.slow
TOKEN = "xoxb-kill-test"


def _config(tmp_path: Path, api_url: str, db_url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database: {db_url}\n"
        "notify:\n"
        "  slack:\n"
        "    token_env: KILL_TEST_SLACK_TOKEN\n"
        f"    base_url: {api_url}\n"
        "    channels: {policy: C0POLICY}\n"
        "  routes:\n"
        "    - events: [funding_changed, deadline_changed]\n"
        '      notify: ["slack:policy"]\n'
    )
    return path


def _deliver(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "KILL_TEST_SLACK_TOKEN": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "deliver", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _wait_for(cond: object, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def test_sigkill_mid_send_then_restart_sends_everything_once(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    with db.session() as s:
        for i in range(4):  # one commitment: the first message starts its thread
            kind = "funding_changed" if i % 2 == 0 else "deadline_changed"
            emit(s, kind, f"k{i}", {"commitment_id": "crisis", "summary": f"change {i}"})
    with SlackServer(token=TOKEN, channels={"C0POLICY": "C0POLICY"}, real_ts=True) as slack:
        config = _config(tmp_path, slack.api_url, db_url)
        slack.slow(30.0, times=2)  # the first post is stored, then the answer never comes
        proc = _deliver(config)
        try:
            _wait_for(lambda: len(slack.posts()) == 1)
            time.sleep(0.2)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL
        with db.session(readonly=True) as s:
            states = Counter(s.scalars(select(Delivery.status)))
        assert states == {"sending": 1, "pending": 3}  # killed with Slack holding message 1

        # restarted at once: the claim is not stale yet, so it is left alone
        slack._slow.clear()
        again = subprocess.run(
            [sys.executable, "-m", "monitor", "deliver", "--config", str(config)],
            env={**os.environ, "KILL_TEST_SLACK_TOKEN": TOKEN},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        with db.session(readonly=True) as s:
            assert Counter(s.scalars(select(Delivery.status))) == {"sent": 3, "sending": 1}

        # later: the claim is stale; the restart finds message 1 in the channel
        stale = datetime.now(UTC) - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S + 60)
        with db.session() as s:
            s.execute(update(Delivery).where(Delivery.status == "sending").values(claimed_at=stale))
        last = subprocess.run(
            [sys.executable, "-m", "monitor", "deliver", "--config", str(config)],
            env={**os.environ, "KILL_TEST_SLACK_TOKEN": TOKEN},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert last.returncode == 0, last.stderr
        posts = slack.posts()
        history = slack.messages("C0POLICY")
    keys = Counter(p["metadata"]["event_payload"]["delivery_key"] for p in posts)
    assert len(keys) == 4 and set(keys.values()) == {1}  # every delivery posted exactly once
    assert len(history) == 4
    with db.session(readonly=True) as s:
        rows = list(s.scalars(select(Delivery).order_by(Delivery.id)))
        thread = s.scalars(select(ThreadRef.ref)).all()
    assert [d.status for d in rows] == ["sent"] * 4
    by_key = {m["metadata"]["event_payload"]["delivery_key"]: m["ts"] for m in history}
    assert [d.ref for d in rows] == [by_key[d.key] for d in rows]  # refs are Slack's own ts
    # the thread was opened by the first message whose ts was known: message 1's was not
    # (it was lost with the killed run), so message 2 opened it and 3 and 4 followed in it
    assert thread == [rows[1].ref]
    assert [m.get("thread_ts") for m in history] == [None, None, rows[1].ref, rows[1].ref]


def test_when_the_channel_cannot_be_searched_the_alert_is_sent_again() -> None:
    from notifiers.base import Alert
    from notifiers.slack import SlackNotifier

    alert = Alert(
        1, "funding_changed", {"summary": "x"}, datetime.now(UTC),
        extra={"delivery_key": "1:slack:C1", "unconfirmed_since": datetime.now(UTC)},
    )  # fmt: skip
    with SlackServer(token=TOKEN, real_ts=True) as slack:
        notifier = SlackNotifier(token=TOKEN, base_url=slack.api_url)
        first = notifier.send(alert, "C1")
        assert notifier.send(alert, "C1") == first  # found by its key: not posted again
        slack.fail_with("missing_scope")
        assert notifier.send(alert, "C1") != first  # could not look: sent rather than lost
        assert len(slack.posts()) == 2
