"""The public web app in a real browser (Debian's chromium, driven by Playwright).

A reader follows a commitment, gets the confirmation on a local SMTP server, confirms; a
funding change is replayed and ``policy-monitor check`` runs; the change shows on the
commitment page and in the email; one click unsubscribes. axe-core runs in the main pages
(no serious or critical violations) and screenshots are kept at 1280 and 390 px wide.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from smtpserver import SMTPServer

from monitor.commitment import load_seed
from monitor.config import parse_config
from monitor.db import Database
from monitor.demo import demo_config
from monitor.replay import ReplayServer
from monitor.subscription import listing
from monitor.web import WebSettings, create_app
from monitor.web.serving import address, bind

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("POLICY_MONITOR_ARTIFACTS", REPO / "test-artifacts")) / "browser"
DOCS_IMG = REPO / "docs" / "img"
SECRET = "browser test secret, long enough"
COMMITMENT = "nhse-crisis-investment-2019-21"
READER = "reader@example.org"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
MAX_SHOT_PX = 3000  # the index is long: its screenshot shows the top
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing under CI=true (.ci/run installs it with apt-get)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")


class Site:
    """The app under uvicorn in a thread, on a socket bound first."""

    def __init__(self, db: Database, config_text: str) -> None:
        import uvicorn

        self.sock = bind("127.0.0.1", 0)
        self.url = address(self.sock)
        config = parse_config(config_text.replace("WEB_URL", self.url))
        settings = WebSettings(secret=SECRET, base_url=self.url, secure_cookies=False)
        app = create_app(db, config, settings=settings)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> Site:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _config(replay: ReplayServer, smtp: SMTPServer) -> str:
    data: dict[str, Any] = demo_config(replay).model_dump(mode="json", exclude_defaults=True)
    data["notify"] = {
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                  "sender": "Policy Monitor <alerts@monitor.example>"},
        "public_base_url": "WEB_URL",
        "secret_env": "BROWSER_SECRET",
        "routes": [{"events": ["funding_changed"], "notify": ["subscribers"]}],
    }  # fmt: skip
    return yaml.safe_dump(data, sort_keys=False)


def _check(config: Path, db_url: str) -> None:
    env = {**os.environ, "BROWSER_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config), "--db", db_url],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _mail_to(smtp: SMTPServer, to: str, subject: str, timeout: float = 20) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got in smtp.messages:
            if to in got.rcpt_tos and subject in str(got.message["Subject"]):
                return got.message
        time.sleep(0.1)
    seen = [(m.rcpt_tos, str(m.message["Subject"])) for m in smtp.messages]
    raise AssertionError(f"no mail to {to} about {subject!r}; got {seen}")


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def _link(text: str, path: str) -> str:
    found = re.search(rf"(http://127\.0\.0\.1:\d+{re.escape(path)}\?token=[\w.\-]+)", text)
    assert found, f"no {path} link in:\n{text}"
    return found.group(1)


@pytest.fixture
def browser() -> Iterator[Any]:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Shots:
    """Screenshots at both widths, and axe-core's verdict, for each main page."""

    def __init__(self, browser: Any) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.browser = browser
        self.taken: list[Path] = []
        self.axe_counts: dict[str, Any] = {}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(self, url: str, name: str) -> None:
        for width, (w, h) in WIDTHS.items():
            ctx = self.browser.new_context(viewport={"width": w, "height": h})
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.goto(url)
            path = ARTIFACTS / f"web-{name}-{width}.png"
            tall = page.evaluate("document.documentElement.scrollHeight")
            clip = {"x": 0, "y": 0, "width": w, "height": min(tall, MAX_SHOT_PX)}
            page.screenshot(path=str(path), full_page=True, clip=clip)
            self.taken.append(path)
            if width == "desktop":
                options = {"runOnly": {"type": "tag", "values": WCAG}}
                result = self.axe.run(page, options=options).response
                found = result["violations"]
                self.axe_counts[name] = {
                    "passes": len(result.get("passes", [])),
                    "incomplete": [v["id"] for v in result.get("incomplete", [])],
                    "violations": [(v["id"], v["impact"], len(v["nodes"])) for v in found],
                }
                bad = [(v["id"], v["impact"], v["help"]) for v in found
                       if v["impact"] in ("serious", "critical")]  # fmt: skip
                assert bad == [], f"{name}: {bad}"
            # a CSP violation (an inline style or script) shows up as a console error
            assert errors == [], f"{name} at {width}: {errors}"
            ctx.close()

    def publish(self) -> None:
        """Keep axe's findings beside the screenshots; copy the screenshots into docs/img
        when asked (POLICY_MONITOR_DOCS_IMG=1)."""
        (ARTIFACTS / "axe.json").write_text(json.dumps(self.axe_counts, indent=1))
        if os.environ.get("POLICY_MONITOR_DOCS_IMG") == "1":
            for path in self.taken:
                shutil.copy(path, DOCS_IMG / path.name)


def test_follow_confirm_change_unsubscribe(browser: Any, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'web.db'}"
    db = Database(db_url)
    load_seed(db)
    cfg = tmp_path / "config.yaml"
    with ReplayServer() as replay, SMTPServer() as smtp:
        text = _config(replay, smtp)
        with Site(db, text) as site:
            cfg.write_text(text.replace("WEB_URL", site.url))
            _check(cfg, db_url)  # the baseline: nothing to alert
            shots = Shots(browser)
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

            page.goto(site.url + "/")
            page.get_by_role("link", name=re.compile("£261m for community crisis teams")).click()
            assert page.get_by_role("heading", level=1).inner_text().startswith("£261m")
            page.get_by_label("Email address").fill(READER)
            page.get_by_label("Each change as it happens").check()
            page.get_by_role("button", name="Follow this policy").click()
            page.get_by_role("heading", name="Check your email").wait_for()

            confirmation = _mail_to(smtp, READER, "Confirm your Policy Monitor alerts")
            page.goto(_link(_text(confirmation), "/subscriptions/confirm"))
            page.get_by_role("button", name="Confirm").click()
            page.get_by_role("heading", name="You are following this policy").wait_for()
            assert [f.status for f in listing(db, READER)] == ["confirmed"]

            replay.site.set_revision(1)  # the funding line is raised
            _check(cfg, db_url)
            alert = _mail_to(smtp, READER, "Funding changed")
            alert_text = _text(alert)
            assert "£261 million -> £300 million" in alert_text

            page.goto(f"{site.url}/commitments/{COMMITMENT}")
            timeline = page.locator("#evidence").locator("..")
            assert "Funding raised by £39 million" in timeline.inner_text()
            assert page.locator("svg.chart").count() == 1
            assert "£300m" in page.locator("#figure-crisis-investment").inner_text()
            page.get_by_role("link", name="See the change, before and after").first.click()
            assert page.locator(".passage del").first.inner_text().endswith("261")
            assert page.locator(".passage ins").first.inner_text().endswith("300")
            change_url = page.url

            unsubscribe = _link(alert_text, "/subscriptions/unsubscribe")
            page.goto(unsubscribe)
            page.get_by_role("button", name="Unsubscribe").click()
            page.get_by_role("heading", name="You have unsubscribed").wait_for()
            assert [f.status for f in listing(db, READER)] == ["unsubscribed"]

            shots.check(site.url + "/", "index")
            shots.check(f"{site.url}/commitments/{COMMITMENT}", "commitment")
            shots.check(change_url, "change")
            shots.check(unsubscribe, "unsubscribe")
            shots.publish()
    db.dispose()
