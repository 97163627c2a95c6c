"""Spider middlewares in a real Scrapy crawl (subprocess) against a loopback server."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from localserver import LocalServer, Reply
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from monitor.politeness import backoff_delay
from spiders.middlewares import AllowlistMiddleware

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).parent / "fixtures" / "sources" / "crawl_probe.py"


def crawl(spec: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["url"]: r for r in rows}, proc.stderr


def test_backoff_delay_prefers_retry_after_and_caps() -> None:
    assert backoff_delay("5", 0, base_s=1, cap_s=60) == 5
    assert backoff_delay("600", 0, base_s=1, cap_s=60) == 60
    assert backoff_delay(None, 3, base_s=1, cap_s=60) == 8
    assert backoff_delay("garbage", 1, base_s=2, cap_s=60) == 4


def test_allowlist_middleware_drops_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    crawler = get_crawler(Spider, {"FETCH_ALLOWED_DOMAINS": ["www.gov.uk", "nice.org.uk"]})
    mw = AllowlistMiddleware.from_crawler(crawler)
    mw.process_request(Request("https://www.gov.uk/x"))  # allowed: no exception
    mw.process_request(Request("https://www.nice.org.uk/guidance/ng1"))
    assert mw.dropped == 0
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest):
        mw.process_request(Request("https://evil.example/"))
    assert "not on the allowlist" in caplog.text and "evil.example" in caplog.text
    assert mw.dropped == 1


def test_crawl_with_retry_after_redirects_304_and_allowlist() -> None:
    routes: dict[str, Reply | list[Reply]] = {
        "/busy": [Reply(429, headers={"Retry-After": "1"}), Reply(200, b"finally")],
        "/old": Reply(301, headers={"Location": "/new"}),
        "/new": Reply(200, b"new home"),
        "/cond": Reply(200, b"same as before", etag='"abc"'),
        "/leave": Reply(302, headers={"Location": "http://localhost:1/offsite"}),
        "/gone": Reply(410, b"gone"),
    }
    with LocalServer(routes) as srv:
        urls = [srv.url(p) for p in ("/busy", "/old", "/cond", "/leave", "/gone")]
        offsite = srv.url("/secret").replace("127.0.0.1", "localhost")
        out, stderr = crawl(
            {
                "urls": [*urls, offsite],
                "allowed": ["127.0.0.1"],
                "etags": {srv.url("/cond"): '"abc"'},
                "settings": {"RETRY_AFTER_MAX_S": 2.0},
            }
        )
        busy = out[srv.url("/busy")]
        assert (busy["status"], busy["retry_times"]) == (200, 1)
        assert busy["elapsed"] >= 1.0
        assert srv.hits["/busy"] == 2
        moved = out[srv.url("/old")]
        assert moved["final_url"] == srv.url("/new")
        assert moved["redirect_urls"] == [srv.url("/old")]
        assert (out[srv.url("/cond")]["status"], out[srv.url("/cond")]["body"]) == (304, 0)
        assert srv.bodies["/cond"] == 0
        assert out[srv.url("/leave")]["error"] == "IgnoreRequest"
        assert out[offsite]["error"] == "IgnoreRequest"
        assert srv.hits["/secret"] == 0
        assert out[srv.url("/gone")]["status"] == 410
        assert "not on the allowlist" in stderr
