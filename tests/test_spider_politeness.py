"""The politeness policy in a real Scrapy crawl against loopback servers.

One crawl (a subprocess: see ``tests/fetchprobe.py``) fetches every case with short limits;
each test reads its own outcome. Pure rules of ``monitor.politeness`` are tested at the end.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli import policy_monitor
from fetchprobe import fetch_all
from localserver import LocalServer, Reply
from sqlalchemy import func, select

from monitor import politeness
from monitor.config import FetchConfig
from monitor.db import Database
from monitor.models import ChangeRecord, Snapshot
from spiders.settings import crawl_settings

CONTACT = "policy-team@example.org"
TIMEOUT_S = 0.5
MAX_BODY = 10_000
PDF = b"%PDF-1.4\n" + b"x" * 3000 + b"\n%%EOF\n"


@dataclass
class Crawl:
    results: dict[str, dict[str, Any]]
    log: str
    main: LocalServer
    moved_robots: LocalServer
    broken_robots: LocalServer

    def __getitem__(self, url: str) -> dict[str, Any]:
        return self.results[url]


def main_routes() -> dict[str, Reply | list[Reply]]:
    return {
        "/robots.txt": Reply(200, b"User-agent: *\nDisallow: /private/\n"),
        "/ua": Reply(200, b"hello"),
        "/private/page": Reply(200, b"secret"),
        "/busy": [Reply(429, headers={"Retry-After": "1"}), Reply(200, b"after one second")],
        "/very-busy": [Reply(503, headers={"Retry-After": "3600"}), Reply(200, b"capped")],
        "/big": Reply(200, b"x" * (MAX_BODY * 5)),
        "/bomb": Reply(200, b"0" * (MAX_BODY * 20), gzip=True),
        "/slow": Reply(200, b"late", delay_s=TIMEOUT_S * 6),
        "/truncated": Reply(200, b"y" * 1000, cut_after=100),
        "/reset": Reply(200, b"z" * 1000, cut_after=100, reset=True),
        "/plan.pdf": Reply(200, PDF, {"Content-Type": "application/pdf"}),
        "/old": Reply(301, headers={"Location": "/new"}),
        "/new": Reply(200, b"moved here"),
    }


@pytest.fixture(scope="module")
def crawl() -> Iterator[Crawl]:
    with ExitStack() as stack:
        main = stack.enter_context(LocalServer(main_routes()))
        main.routes["/away"] = Reply(
            302, headers={"Location": main.url("/x").replace("127.0.0.1", "localhost")}
        )
        moved = stack.enter_context(
            LocalServer(
                {
                    "/robots.txt": Reply(301, headers={"Location": "/site/robots.txt"}),
                    "/site/robots.txt": Reply(200, b"User-agent: *\nDisallow: /secret/\n"),
                    "/open": Reply(200, b"open"),
                    "/secret/page": Reply(200, b"secret"),
                }
            )
        )
        broken = stack.enter_context(
            LocalServer({"/robots.txt": Reply(503, b"down"), "/page": Reply(200, b"page")})
        )
        urls = [main.url(p) for p in main_routes() if p != "/robots.txt"]
        urls += [main.url("/away"), moved.url("/open"), moved.url("/secret/page")]
        urls += [broken.url("/page"), main.url("/x").replace("127.0.0.1", "localhost")]
        results, log = fetch_all(
            [{"url": u} for u in urls],
            fetch={
                "contact": CONTACT,
                "timeout_s": TIMEOUT_S,
                "max_body_mb": MAX_BODY / (1024 * 1024),
                "retries": 1,
            },
            RETRY_AFTER_MAX_S=1.5,
            RETRY_AFTER_BASE_S=0.1,
        )
        yield Crawl(results, log, main, moved, broken)


def test_every_target_has_exactly_one_outcome(crawl: Crawl) -> None:
    assert len(crawl.results) == len(main_routes()) - 1 + 5


def test_user_agent_names_the_contact_address(crawl: Crawl) -> None:
    [seen] = [r for r in crawl.main.requests if r.path == "/ua"]
    assert CONTACT in seen.headers["user-agent"]
    assert seen.headers["user-agent"].startswith("policy-monitor/")
    assert crawl[crawl.main.url("/ua")]["status"] == 200


def test_a_redirect_to_a_host_off_the_allowlist_is_not_followed(crawl: Crawl) -> None:
    away = crawl[crawl.main.url("/away")]
    assert away["body_len"] is None and "IgnoreRequest" in away["error"]
    offsite = crawl[crawl.main.url("/x").replace("127.0.0.1", "localhost")]
    assert "IgnoreRequest" in offsite["error"]
    assert crawl.main.hits["/x"] == 0
    assert "not on the allowlist" in crawl.log


def test_a_redirect_inside_the_allowlist_is_followed_and_recorded(crawl: Crawl) -> None:
    moved = crawl[crawl.main.url("/old")]
    assert moved["final_url"] == crawl.main.url("/new")
    assert moved["redirect_urls"] == [crawl.main.url("/old")]


def test_robots_txt_disallow_is_obeyed(crawl: Crawl) -> None:
    assert "robots.txt" in crawl[crawl.main.url("/private/page")]["error"]
    assert crawl.main.hits["/private/page"] == 0
    assert crawl.main.hits["/robots.txt"] == 1


def test_a_robots_txt_that_redirects_is_followed(crawl: Crawl) -> None:
    """Regression: a redirected robots.txt used to disallow everything."""
    assert crawl[crawl.moved_robots.url("/open")]["status"] == 200
    assert "robots.txt" in crawl[crawl.moved_robots.url("/secret/page")]["error"]
    assert crawl.moved_robots.hits["/site/robots.txt"] == 1
    assert crawl.moved_robots.hits["/secret/page"] == 0


def test_an_unreachable_robots_txt_allows_nothing(crawl: Crawl) -> None:
    assert "robots.txt" in crawl[crawl.broken_robots.url("/page")]["error"]
    assert crawl.broken_robots.hits["/page"] == 0


def gap(server: LocalServer, path: str) -> float:
    first, second = (r.at for r in server.requests if r.path == path)
    return second - first


def test_retry_after_is_honoured(crawl: Crawl) -> None:
    busy = crawl[crawl.main.url("/busy")]
    assert (busy["status"], busy["error"]) == (200, None)
    assert gap(crawl.main, "/busy") >= 0.9


def test_a_long_retry_after_is_capped(crawl: Crawl) -> None:
    capped = crawl[crawl.main.url("/very-busy")]
    assert capped["status"] == 200
    assert 1.4 <= gap(crawl.main, "/very-busy") < 10


def test_a_body_over_the_cap_is_refused(crawl: Crawl) -> None:
    for path in ("/big", "/bomb"):
        result = crawl[crawl.main.url(path)]
        assert result["body_len"] is None and result["error"], path
    assert len(gzip.compress(b"0" * (MAX_BODY * 20))) < MAX_BODY  # the bomb is small on the wire


def test_a_slow_answer_times_out_and_is_retried(crawl: Crawl) -> None:
    slow = crawl[crawl.main.url("/slow")]
    assert slow["body_len"] is None and "TimeoutError" in slow["error"]
    assert crawl.main.hits["/slow"] == 2


@pytest.mark.parametrize("path", ["/truncated", "/reset"])
def test_a_truncated_body_is_a_fetch_error(crawl: Crawl, path: str) -> None:
    """Regression: a body shorter than its Content-Length escaped as a page."""
    result = crawl[crawl.main.url(path)]
    assert result["body_len"] is None and result["status"] == 0
    assert result["error"], result


def test_a_pdf_comes_through_whole(crawl: Crawl) -> None:
    pdf = crawl[crawl.main.url("/plan.pdf")]
    assert pdf["content_type"] == "application/pdf"
    assert pdf["body_sha256"] == hashlib.sha256(PDF).hexdigest()


def test_crawl_settings_carry_the_policy() -> None:
    s = crawl_settings(FetchConfig(contact=CONTACT, max_body_mb=2, retries=1, timeout_s=5))
    assert s["USER_AGENT"].endswith(f"(contact: {CONTACT})")
    assert (s["DOWNLOAD_MAXSIZE"], s["RETRY_TIMES"], s["DOWNLOAD_TIMEOUT"]) == (2 * 1024**2, 1, 5)
    assert s["DOWNLOAD_FAIL_ON_DATALOSS"] is True
    assert s["DOWNLOADER_MIDDLEWARES"]["spiders.robots.RobotsMiddleware"] is not None


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)
    assert politeness.retry_after_seconds("120") == 120.0
    assert politeness.retry_after_seconds("Mon, 03 Mar 2025 09:01:30 GMT", now=now) == 90.0
    assert politeness.retry_after_seconds("soon") is None
    assert politeness.retry_after_seconds(None) is None


def test_robots_rules_follow_rfc_9309_statuses() -> None:
    body = b"User-agent: *\nDisallow: /private/\n"
    ua = "policy-monitor/0.1"
    assert politeness.robots_rules(200, body).can_fetch("https://x.example/open", ua)
    assert not politeness.robots_rules(200, body).can_fetch("https://x.example/private/a", ua)
    assert politeness.robots_rules(404).can_fetch("https://x.example/private/a", ua)
    assert not politeness.robots_rules(503).can_fetch("https://x.example/open", ua)
    assert not politeness.robots_rules(None).can_fetch("https://x.example/open", ua)


def test_domain_allowlist_covers_subdomains_only() -> None:
    assert politeness.domain_allowed("https://www.gov.uk/x", ["gov.uk"])
    assert not politeness.domain_allowed("https://notgov.uk/x", ["gov.uk"])
    assert not politeness.domain_allowed("https://evil.example/", [])


def test_a_truncated_body_is_never_a_snapshot_or_a_change(db_url: str, tmp_path: Path) -> None:
    """Regression: the whole check, twice; the second answers are cut off mid-body."""
    page = b"<html><body><main><h2>Funding</h2><p>" + b"The fund is \xc2\xa3261 million. " * 40
    html = {"Content-Type": "text/html"}
    whole = Reply(200, page + b"</p></main></body></html>", html)
    edited = page.replace(b"261", b"300")
    routes: dict[str, Reply | list[Reply]] = {
        "/short": [whole, Reply(200, edited, html, cut_after=300)],
        "/reset": [whole, Reply(200, edited, html, cut_after=300, reset=True)],
    }
    with LocalServer(routes) as srv:
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{srv.url('/short')}\n{srv.url('/reset')}\n")
        runs = [
            policy_monitor("check", "--urls", str(urls), "--db", db_url, "--output", "jsonl")
            for _ in range(2)
        ]
    first, second = ([json.loads(line) for line in r.stdout.splitlines()] for r in runs)
    assert [o["status"] for o in first] == ["new", "new"]
    assert [(o["status"], o["changes"]) for o in second] == [("error", []), ("error", [])]
    db = Database(db_url)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Snapshot)) == 2  # the first run's
        assert s.scalar(select(func.count()).select_from(ChangeRecord)) == 0
    db.dispose()
