"""The team view in a real browser (Debian's chromium, driven by Playwright).

A team member signs in, sees page-derived text escaped in the queue, acknowledges an event,
confirms a suggested status with its evidence, and is refused a page outside the allowlist.
Every team page is checked for CSP violations (console errors) and by axe-core (no serious
or critical findings), at 1280 and 390 px wide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, Shots, Site, _browser_or_skip

from monitor import accounts, triage
from monitor.db import Database
from monitor.models import Commitment
from monitor.outbox import emit

pytestmark = pytest.mark.slow
PASSWORD = "a long team password"
CONFIG = """
sources:
  - name: nhse
    kind: nhse
    allowed_domains: [england.nhs.uk]
    pages:
      - url: https://www.england.nhs.uk/mental-health/
notify:
  public_base_url: WEB_URL
  slack: {channels: {policy: "#policy"}}
"""


@pytest.fixture
def team_browser() -> Iterator[Any]:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def test_sign_in_triage_and_confirm_in_a_browser(team_browser: Any, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'team.db'}")
    accounts.add_user(db, "ann@example.org", PASSWORD)
    with db.session() as s:
        s.add(Commitment(id="c-crisis", title="Crisis care", pledge="p", source_title="t",
                         source_url="https://www.england.nhs.uk/", status="in_progress"))  # fmt: skip
        plain = emit(s, "page_changed", "k-plain", {
            "url": "https://www.england.nhs.uk/a", "title": "<script>alert(1)</script> Crisis",
            "summary": "funding line revised", "significance": 0.6})  # fmt: skip
        suggested = emit(s, "status_suggested", "k-status", {
            "page_url": "https://www.england.nhs.uk/b", "page_title": "Crisis update",
            "commitment_id": "c-crisis", "commitment_title": "Crisis care",
            "current_status": "in_progress", "suggested_status": "achieved",
            "cue": "has been delivered", "quote": "The service has been delivered."})  # fmt: skip
    assert plain is not None and suggested is not None
    with Site(db, CONFIG) as site:
        ctx = team_browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(site.url + "/team")
        assert page.url.startswith(site.url + "/team/login")
        page.get_by_label("Email address").fill("ann@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Triage").wait_for()
        heading = page.locator(f"h2 a[href='/team/events/{plain}']").inner_text()
        assert "<script>alert(1)</script>" in heading  # shown as text, not run
        page.locator(f"form[action^='/team/events/{plain}/ack']").get_by_role("button").click()
        page.get_by_text(f"Event {plain} acknowledged.").wait_for()
        assert triage.item(db, plain).state == "acknowledged"

        page.goto(f"{site.url}/team/events/{suggested}")
        assert "The service has been delivered." in page.inner_text("main")
        page.get_by_label("Confirm the status as").select_option("achieved")
        page.get_by_role("button", name="Confirm with this evidence").click()
        page.get_by_text("c-crisis is now achieved").wait_for()

        page.goto(site.url + "/team/pages")
        page.get_by_label("Page address").fill("https://evil.example/")
        page.get_by_role("button", name="Watch this page").click()
        page.get_by_text("not in the allowed_domains").wait_for()

        shots = Shots(team_browser)
        cookies = ctx.cookies()
        for name, path in [("team-queue", "/team?state=acknowledged"),
                           ("team-event", f"/team/events/{suggested}"),
                           ("team-pages", "/team/pages"), ("team-rules", "/team/rules")]:  # fmt: skip
            _check_signed_in(shots, site.url + path, name, cookies)
        shots.check(site.url + "/team/login", "team-login")
        ctx.close()
    with db.session() as s:
        assert s.get(Commitment, "c-crisis").status == "achieved"  # type: ignore[union-attr]
    db.dispose()


def _check_signed_in(shots: Shots, url: str, name: str, cookies: list[Any]) -> None:
    """``Shots.check`` opens fresh contexts: give them the signed-in session cookie."""
    original = shots.browser.new_context

    def with_session(**kwargs: Any) -> Any:
        ctx = original(**kwargs)
        ctx.add_cookies(cookies)
        return ctx

    shots.browser.new_context = with_session
    try:
        shots.check(url, name)
    finally:
        shots.browser.new_context = original
