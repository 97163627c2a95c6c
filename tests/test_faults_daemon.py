"""``kill -9`` of ``policy-monitor run`` mid-delivery and mid-digest, then a restart.

Real subprocesses, a local Slack server that stores a message and holds its answer, and a
local SMTP server that stores a digest's DATA and holds its answer: the kill lands in the
window where the far side has the message and the database does not know. Mid-crawl:
``tests/test_daemon.py::test_sigkill_mid_cycle_then_restart_loses_nothing``.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from localserver import LocalServer, Reply
from slackserver import SlackServer
from smtpserver import Received as Mail
from smtpserver import SMTPServer
from sqlalchemy import select, text, update
from test_daemon import FAST, TOKEN, Run, _page, _wait, _write_config

from monitor import settings, subscription
from monitor.config import Config
from monitor.daemon import JOBSTORE_TABLE
from monitor.db import Database
from monitor.digest_job import period_for
from monitor.models import Delivery, DigestSend, Event, Snapshot, StagedEvent, WatchedPage
from monitor.outbox import emit
from monitor.smtp_server import _Inbox
from monitor.subscription import Tokens

pytestmark = pytest.mark.slow
SIGNING = "digest-kill-test-signing-secret"
ADDRESSES = ["ann@example.org", "bob@example.org", "cat@example.org"]


class _HoldingInbox(_Inbox):
    """Keeps every message; holds the answer to the ``hold``-th (digest) until released."""

    def __init__(self, hold: int, digests_only: bool) -> None:
        super().__init__(set(), set())
        self.hold, self.release = hold, threading.Event()
        self.digests_only = digests_only

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        held = self.digests() if self.digests_only else self.messages
        if len(held) == self.hold and held[-1] is self.messages[-1]:
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return answer

    def digests(self) -> list[Mail]:
        return [m for m in self.messages if _is_digest(m)]


def _is_digest(mail: Mail) -> bool:
    return " digest, " in str(mail.message["Subject"])  # not the confirmation emails


class HoldingSMTP(SMTPServer):
    def __init__(self, hold: int, digests_only: bool = True) -> None:
        super().__init__()
        self.inbox = self.holding = _HoldingInbox(hold, digests_only)
        self._controller.handler = self.inbox


def _set_due(db: Database, key: str, when: datetime) -> None:
    """As if the daemon had been down at ``key``'s due time: its stored next run is ``when``."""
    with db.engine.begin() as conn:
        state = conn.execute(
            text(f"SELECT job_state FROM {JOBSTORE_TABLE} WHERE id = :id"), {"id": key}
        ).scalar_one()
        job = pickle.loads(state)
        job["next_run_time"] = when
        conn.execute(
            text(f"UPDATE {JOBSTORE_TABLE} SET job_state = :s, next_run_time = :t WHERE id = :id"),
            {"s": pickle.dumps(job, pickle.HIGHEST_PROTOCOL), "t": when.timestamp(), "id": key},
        )


@dataclass
class DigestKill:
    db_url: str
    config: Path
    log: Path
    after_restart: list[Mail]  # what the SMTP server had once the restarted daemon settled
    smtp: HoldingSMTP


@pytest.fixture(scope="module")
def digest_kill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DigestKill]:
    """Three daily subscribers; the daemon is killed while the second digest's DATA is held."""
    tmp = tmp_path_factory.mktemp("digest")
    db_url = f"sqlite:///{tmp / 'monitor.db'}"
    log = tmp / "run.log"
    routes = {"/a": _page("Crisis lines", "The helpline opens in March 2026.")}
    with (
        pytest.MonkeyPatch.context() as mp,
        HoldingSMTP(hold=2) as smtp,
        LocalServer(routes) as site,
    ):
        mp.setenv("DIGEST_KILL_SECRET", SIGNING)
        source = {"name": "site", "kind": "generic", "allowed_domains": ["127.0.0.1"],
                  "pages": [{"url": site.url("/a")}]}  # fmt: skip
        data: dict[str, Any] = {
            "database": db_url,
            "fetch": {"autothrottle": False},
            "sources": [source],
            "notify": {
                "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "timeout_s": 60,
                          "sender": "alerts@monitor.example"},
                "digest": {"daily_at": "08:30", "timezone": "UTC"},
                "public_base_url": "https://monitor.example",
                "secret_env": "DIGEST_KILL_SECRET",
            },
        }  # fmt: skip
        config = tmp / "monitor.yml"
        config.write_text(yaml.safe_dump(data))
        db = Database(db_url)
        tokens = Tokens(SIGNING)
        for address in ADDRESSES:
            sub = subscription.add(db, address, "source", "site", "daily", tokens)
            subscription.confirm(db, sub.confirm_token, tokens)
        period = period_for(Config.model_validate(data), "daily", datetime.now(UTC))
        with db.session() as s:
            for i in range(3):
                emit(s, "funding_changed", f"f{i}", {"source": "site", "summary": f"change {i}"})
        with db.session() as s:  # written during the period the latest digest covers
            s.execute(update(Event).values(created_at=period.start + timedelta(hours=1)))

        first = Run(config, log, *FAST)  # stores its jobs: the digest is due tomorrow
        first.wait_done("crawl:site")
        assert first.stop() == 0
        _set_due(db, "digest:daily", datetime.now(UTC) - timedelta(minutes=5))
        run = Run(config, log, *FAST)  # the digest is overdue: it runs at once
        try:
            _wait(lambda: len(smtp.holding.digests()) == 2, f"the second digest:\n{run.text()}")
            time.sleep(0.2)
            run.proc.kill()  # SIGKILL while the server holds the answer to digest 2
            run.proc.wait()
        finally:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
        smtp.holding.release.set()
        again = Run(config, log, *FAST)
        try:
            again.wait_done("crawl:site", 2)  # settled: recovered, delivery rounds ran (quietly)
            # the day's digest the killed run began, sent to the subscriber it had not reached
            again.wait_done("digest:daily")
            after = smtp.holding.digests()
            assert again.stop() == 0
        finally:
            if again.proc.poll() is None:
                again.proc.kill()
                again.proc.wait()
        db.dispose()
        yield DigestKill(db_url, config, log, after, smtp)


def _to(mails: list[Mail]) -> Counter[str]:
    return Counter(a for m in mails for a in m.rcpt_tos)


def test_a_restart_sends_no_digest_twice(digest_kill: DigestKill) -> None:
    """The digest in flight is not resent at once; the restart sends the rest; the one in
    flight is resent, once, after the stale-claim window, under the same Message-ID."""
    import subprocess
    import sys

    assert _to(digest_kill.after_restart) == Counter(ADDRESSES)  # the third's; nothing twice
    cmd = [sys.executable, "-m", "monitor", "digest", "--config", str(digest_kill.config)]
    env = {**os.environ, "DIGEST_KILL_SECRET": SIGNING}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    mails = digest_kill.smtp.holding.digests()
    assert _to(mails) == Counter(ADDRESSES)  # a manual run sends none again
    monitor_db = Database(digest_kill.db_url)
    try:
        with monitor_db.session(readonly=True) as s:
            states = Counter(s.scalars(select(DigestSend.status)))
        assert states == {"sent": 2, "sending": 1}  # digest 2: the server has it, we cannot know
        stale = datetime.now(UTC) - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S + 60)
        with monitor_db.session() as s:
            s.execute(update(DigestSend).values(claimed_at=stale))
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        with monitor_db.session(readonly=True) as s:
            assert Counter(s.scalars(select(DigestSend.status))) == {"sent": 3}
    finally:
        monitor_db.dispose()
    mails = digest_kill.smtp.holding.digests()
    assert _to(mails) == Counter({ADDRESSES[0]: 1, ADDRESSES[1]: 2, ADDRESSES[2]: 1})
    ids = [m.message["Message-ID"] for m in mails if ADDRESSES[1] in m.rcpt_tos]
    assert len(ids) == 2 and ids[0] == ids[1]  # the resend is the same message: clients collapse it


def test_a_restart_finishes_an_interrupted_digest(digest_kill: DigestKill) -> None:
    """The killed run's trigger had moved to tomorrow; the restart still sends the rest."""
    assert ADDRESSES[2] in _to(digest_kill.after_restart)
    assert "the daily digest a stopped run began is sent to the rest" in digest_kill.log.read_text()


def _count(db: Database, model: type[Any]) -> int:
    from sqlalchemy import func

    with db.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _kill(run: Run) -> None:
    run.proc.kill()
    run.proc.wait()


def test_sigkill_mid_crawl_then_mid_delivery_loses_nothing_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    """Killed while a page trickles in, restarted; killed while Slack holds a message's
    answer, restarted: every page version stored once, every alert posted once."""
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    log = tmp_path / "run.log"
    routes = {
        "/a": _page("Crisis lines", "The helpline will open to all ages by March 2026."),
        "/b": _page("Crisis beds", "Funding of £20 million is available for crisis beds."),
        "/slow": _page("Slow page", "This page answers slowly."),
    }
    with LocalServer(routes) as srv, SlackServer(token=TOKEN, real_ts=True) as slack:
        pages = [{"url": srv.url(p), "title": p} for p in routes]
        source = {"name": "site", "kind": "generic", "allowed_domains": ["127.0.0.1"]}
        config = _write_config(
            tmp_path / "monitor.yml",
            {"fetch": {"autothrottle": False}, "sources": [{**source, "pages": pages}]},
            db_url,
            slack,
        )
        db = Database(db_url)
        run = Run(config, log, *FAST)
        try:
            run.wait_done("crawl:site")  # the baseline: three pages, one version each
            srv.routes["/a"] = _page("Crisis lines", "The helpline will open to all by May 2027.")
            srv.routes["/b"] = _page("Crisis beds", "Funding of £35 million is available now.")
            slow = _page("Slow page", "This page answers slowly, and has changed.")
            srv.routes["/slow"] = Reply(**{**vars(slow), "trickle_s": 0.3})  # ~6 s to arrive
            hits = srv.hits["/slow"]
            _wait(lambda: _count(db, StagedEvent) >= 2 and srv.hits["/slow"] > hits, "mid-crawl")
            _kill(run)  # SIGKILL while /slow is still arriving
        finally:
            if run.proc.poll() is None:
                _kill(run)
        assert slack.posts() == [] and _count(db, Snapshot) == 5  # /slow's new body is not in

        srv.routes["/slow"] = slow
        slack.slow(30.0, times=1)  # the first alert is stored by Slack, its answer held
        again = Run(config, log, *FAST)
        try:
            _wait(lambda: len(slack.posts()) == 1, f"the first alert:\n{again.text()}")
            time.sleep(0.2)
            _kill(again)  # SIGKILL while Slack holds the answer
            assert "an interrupted cycle left behind" in again.text()
        finally:
            if again.proc.poll() is None:
                _kill(again)
        with db.session(readonly=True) as s:
            assert Counter(s.scalars(select(Delivery.status)))["sending"] == 1  # Slack has it
        slack._slow.clear()
        with db.session() as s:  # later: the killed run's claim has gone stale
            stale = datetime.now(UTC) - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S + 60)
            s.execute(update(Delivery).values(claimed_at=stale))
        last = Run(config, log, *FAST)
        try:
            last.wait_done("crawl:site", 2)  # /slow's new version is fetched by the re-crawl
            events = _count(db, Event)

            def all_sent() -> bool:
                with db.session(readonly=True) as s:
                    return set(s.scalars(select(Delivery.status))) == {"sent"}

            _wait(all_sent, f"every delivery sent:\n{last.text()}")
            assert last.stop() == 0
        finally:
            if last.proc.poll() is None:
                _kill(last)
        posts = slack.posts()
        with db.session(readonly=True) as s:
            versions = Counter(
                s.scalars(
                    select(WatchedPage.url).join(Snapshot, Snapshot.page_id == WatchedPage.id)
                )
            )
            deliveries = _count(db, Delivery)
        db.dispose()
    assert versions == {srv.url(p): 2 for p in routes}  # every version, each once
    keys = Counter(p["metadata"]["event_payload"]["delivery_key"] for p in posts)
    assert events >= 2 and deliveries == events == len(keys)
    assert set(keys.values()) == {1}  # each alert posted once: the held one found, not resent


def test_sigkill_mid_alert_email_resends_it_once_under_its_message_id(tmp_path: Path) -> None:
    """An alert email whose DATA the server took when the daemon died: not resent while the
    claim is fresh; once it is stale, sent again once, under the same Message-ID."""
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    log = tmp_path / "run.log"
    routes = {"/b": _page("Crisis beds", "Funding of £20 million is available for crisis beds.")}
    with LocalServer(routes) as srv, HoldingSMTP(hold=1, digests_only=False) as smtp:
        source = {"name": "site", "kind": "generic", "allowed_domains": ["127.0.0.1"],
                  "pages": [{"url": srv.url("/b")}]}  # fmt: skip
        data = {
            "database": db_url,
            "fetch": {"autothrottle": False},
            "sources": [source],
            "notify": {
                "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "timeout_s": 60,
                          "sender": "alerts@monitor.example", "recipients": ["team@nhs.example"]},
                "routes": [{"events": ["*"], "notify": ["email"]}],
            },
        }  # fmt: skip
        config = tmp_path / "monitor.yml"
        config.write_text(yaml.safe_dump(data))
        db = Database(db_url)
        run = Run(config, log, *FAST)
        try:
            run.wait_done("crawl:site")
            srv.routes["/b"] = _page("Crisis beds", "Funding of £35 million is available now.")
            _wait(lambda: len(smtp.messages) == 1, f"the alert email:\n{run.text()}")
            time.sleep(0.2)
            _kill(run)  # SIGKILL while the server holds its answer
        finally:
            if run.proc.poll() is None:
                _kill(run)
        smtp.holding.release.set()
        again = Run(config, log, *FAST)
        try:
            again.wait_done("crawl:site", 2)
            assert len(smtp.messages) == 1  # the claim is fresh: not sent again yet
            with db.session() as s:  # later: the claim is stale
                stale = datetime.now(UTC) - timedelta(seconds=settings.DELIVERY_STALE_CLAIM_S + 60)
                s.execute(update(Delivery).values(claimed_at=stale))
            _wait(lambda: len(smtp.messages) == 2, f"the resend:\n{again.text()}")
            again.wait_done("crawl:site", again.done("crawl:site") + 1)  # a delivery round or two
            assert again.stop() == 0
        finally:
            if again.proc.poll() is None:
                _kill(again)
        with db.session(readonly=True) as s:
            assert list(s.scalars(select(Delivery.status))) == ["sent"]
        db.dispose()
        mails = list(smtp.messages)
    assert len(mails) == 2  # at most one resend, and only after the stale-claim window
    assert mails[0].message["Message-ID"] == mails[1].message["Message-ID"]
