"""``policy-monitor run`` as a real subprocess against local sites and a local Slack server.

It polls, re-crawls on schedule, delivers each alert once, refuses a second scheduler and
stops cleanly on SIGTERM; after a SIGKILL in the middle of a cycle the restart loses nothing
and sends nothing twice. (Stored jobs across restarts: ``test_daemon_schedule.py``.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from localserver import LocalServer, Reply
from slackserver import SlackServer
from sqlalchemy import func, select

from monitor.db import Database
from monitor.demo import demo_config
from monitor.models import Event, StagedEvent
from monitor.replay import ReplayServer

pytestmark = pytest.mark.slow
TOKEN = "xoxb-daemon-test"
FAST = ["--poll-seconds", "1", "--crawl-seconds", "2", "--deliver-seconds", "1"]


def _wait(cond: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Run:
    """One ``policy-monitor run`` subprocess; its stderr goes to a file we read as it grows."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        self.start = log.stat().st_size if log.exists() else 0
        env = {**os.environ, "DAEMON_TEST_SLACK_TOKEN": TOKEN}
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(config), *args],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def text(self) -> str:
        return self.log.read_text()[self.start :]

    def done(self, key: str) -> int:
        """How many runs of ``key`` finished."""
        return len(re.findall(rf" done {re.escape(key)} in ", self.text()))

    def wait_done(self, key: str, count: int = 1, timeout: float = 20.0) -> None:
        _wait(lambda: self.done(key) >= count, f"{count} runs of {key}:\n{self.text()}", timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {timeout:g} s after {sig!r}:\n{self.text()}"
            ) from None


def _write_config(path: Path, data: dict[str, Any], db_url: str, slack: SlackServer) -> Path:
    data = {
        **data,
        "database": db_url,
        "notify": {
            "slack": {
                "token_env": "DAEMON_TEST_SLACK_TOKEN",
                "base_url": slack.api_url,
                "channels": {"policy": "C0POLICY"},
            },
            "routes": [{"events": ["*"], "notify": ["slack:policy"]}],
        },
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _texts(slack: SlackServer) -> list[str]:
    return [str(p.get("text")) for p in slack.posts()]


def test_run_polls_recrawls_delivers_once_and_stops_cleanly(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'monitor.db'}"
    log = tmp_path / "run.log"
    with ReplayServer() as site, SlackServer(token=TOKEN) as slack:
        base = demo_config(site).model_dump(mode="json", exclude_defaults=True)
        nice = next(src for src in base["sources"] if src["name"] == "demo-nice")
        nice["pages"][0]["schedule"] = {"every_minutes": 30}  # a page on its own schedule
        config = _write_config(tmp_path / "monitor.yml", base, db_url, slack)
        run = Run(config, log, *FAST)
        try:
            run.wait_done("crawl:demo-nhse")  # the baseline
            run.wait_done("discover:demo-nhse")
            second = subprocess.Popen(  # meanwhile, a second scheduler tries its luck
                [sys.executable, "-m", "monitor", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            site.site.set_revision(1)  # a funding line raised: found by the re-crawl
            _wait(lambda: any("Funding raised" in t for t in _texts(slack)), "the funding alert")
            site.site.set_revision(3)  # new page in the feed; NICE and gov.uk pages edited
            _wait(lambda: len(slack.posts()) >= 4, f"four alerts: {_texts(slack)}")
            assert any(t.startswith("New page") for t in _texts(slack))
            page_job = re.search(r"done (crawl:demo-nice:[0-9a-f]{12}) in", run.text())
            assert page_job is not None  # the NICE page is crawled by a job of its own
            assert re.search(r"done crawl:demo-nice in \S+ .*\"pages\": 0", run.text())
            crawls = run.done(page_job[1])
            run.wait_done(page_job[1], crawls + 1)  # one more re-crawl, on schedule
            texts = _texts(slack)
            assert len(texts) == 4 and len(set(texts)) == 4  # each alert once
            with _db(db_url) as db, db.session(readonly=True) as s:
                events = s.scalar(select(func.count()).select_from(Event))
            assert events == 4
            _, refused = second.communicate(timeout=60)
            assert second.returncode == 2
            assert "another scheduler runs against this database" in refused
            assert f"pid {run.proc.pid}" in refused
            assert run.stop() == 0
            assert "stopped cleanly (SIGTERM)" in run.text()
        finally:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


class _db:
    """``with _db(url) as db``: a Database disposed afterwards."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    def __enter__(self) -> Database:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.dispose()


def _page(title: str, text: str) -> Reply:
    body = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main><h1>{title}</h1>"
        f"<p>{text}</p></main></body></html>"
    ).encode()
    return Reply(body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def test_sigkill_mid_cycle_then_restart_loses_nothing(tmp_path: Path, db_url: str) -> None:
    log = tmp_path / "run.log"
    routes = {
        "/a": _page("Crisis lines", "The helpline will open to all ages by March 2026."),
        "/b": _page("Crisis beds", "Funding of £20 million is available for crisis beds."),
        "/slow": _page("Slow page", "This page answers slowly."),
    }
    with LocalServer(routes) as srv, SlackServer(token=TOKEN) as slack:
        pages = [{"url": srv.url(p), "title": p} for p in routes]
        source = {"name": "site", "kind": "generic", "allowed_domains": ["127.0.0.1"]}
        config = _write_config(
            tmp_path / "monitor.yml",
            {"fetch": {"autothrottle": False}, "sources": [{**source, "pages": pages}]},
            db_url,
            slack,
        )
        run = Run(config, log, *FAST)
        try:
            run.wait_done("crawl:site")  # the baseline
            srv.routes["/a"] = _page(
                "Crisis lines", "The helpline will open to all ages by May 2027."
            )
            srv.routes["/b"] = _page(
                "Crisis beds", "Funding of £35 million is available for crisis beds."
            )
            srv.routes["/slow"] = Reply(**{**vars(routes["/slow"]), "delay_s": 3.0})
            db = Database(db_url)

            def staged() -> int:
                with db.session(readonly=True) as s:
                    return int(s.scalar(select(func.count()).select_from(StagedEvent)) or 0)

            _wait(lambda: staged() >= 2, "the two changed pages staged mid-cycle")
            time.sleep(0.2)
            run.proc.kill()  # SIGKILL: the cycle never finishes
            run.proc.wait()
            assert slack.posts() == []
        finally:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()

        srv.routes["/slow"] = routes["/slow"]
        again = Run(config, log, *FAST)
        try:
            _wait(lambda: len(slack.posts()) >= 2, f"the alerts after restart:\n{again.text()}")
            assert "an interrupted cycle left behind" in again.text()
            before = again.done("crawl:site")
            again.wait_done("crawl:site", before + 1)
            with db.session(readonly=True) as s:
                events = int(s.scalar(select(func.count()).select_from(Event)) or 0)
                left = int(s.scalar(select(func.count()).select_from(StagedEvent)) or 0)
            texts = _texts(slack)
            assert left == 0
            assert len(texts) == events >= 2 and len(set(texts)) == len(texts)
            assert any("/a: Deadline slipped" in t for t in texts), texts
            assert any("/b: Funding raised" in t for t in texts), texts

            # SIGTERM while a page is slow: no new work, but the request in flight finishes
            # (Scrapy lets it), the pages are recorded and the cycle's events written
            srv.routes["/a"] = _page(
                "Crisis lines", "The helpline will open to all ages by June 2028."
            )
            srv.routes["/slow"] = Reply(**{**vars(routes["/slow"]), "delay_s": 3.0})
            _wait(lambda: staged() >= 1, "the changed page staged")
            t0 = time.monotonic()
            assert again.stop() == 0
            assert time.monotonic() - t0 < 3.0 + 12.0  # the slow answer, then a prompt exit
            assert "stopped cleanly (SIGTERM)" in again.text()
            with db.session(readonly=True) as s:
                assert s.scalar(select(func.count()).select_from(Event)) == events + 1
                assert s.scalar(select(func.count()).select_from(StagedEvent)) == 0
        finally:
            if again.proc.poll() is None:
                again.proc.kill()
                again.proc.wait()
            db.dispose()
