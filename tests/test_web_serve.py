"""``policy-monitor serve`` and ``policy-monitor demo --serve`` as a user starts them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

pytestmark = pytest.mark.slow


def _wait_for(proc: subprocess.Popen[str], pattern: str, timeout: float = 90) -> str:
    """Read the process's output until ``pattern`` shows; returns what was read."""
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"never saw {pattern!r}; output:\n{seen}")


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_demo_serves_the_web_app_on_its_data(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--serve", "--port", "0",
         "--db", f"sqlite:///{tmp_path / 'demo.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        out = _wait_for(proc, r"Ctrl-C stops")
        url = re.search(r"commitments: (http://127\.0\.0\.1:\d+)/", out)
        assert url, out
        base = url.group(1)
        # links in the demo's mail point at the app being served
        assert f"{base}/subscriptions/confirm?token=" in out
        index = httpx2.get(base + "/")
        assert index.status_code == 200 and "38 of 38 commitments" in index.text
        page = httpx2.get(f"{base}/commitments/nhse-crisis-investment-2019-21")
        assert '<svg class="chart"' in page.text
        change = httpx2.get(f"{base}/changes/1")
        assert "<del>" in change.text and "<ins>" in change.text
        assert httpx2.get(f"{base}/api/openapi.json").json()["openapi"].startswith("3.1")
    finally:
        rc = _stop(proc)
    assert rc == 0


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "POLICY_MONITOR_SECRET": "serve test secret, long enough"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--port", "0", "--db", db,
         "--insecure-cookies"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        out = _wait_for(proc, r"Uvicorn running|Application startup complete")
        base = re.search(r"serving (http://127\.0\.0\.1:\d+)", out)
        assert base, out
        res = httpx2.get(base.group(1) + "/")
        assert res.status_code == 200 and "0 of 0 commitments" in res.text
        assert "unsafe-inline" not in res.headers["content-security-policy"]
    finally:
        rc = _stop(proc, signal.SIGTERM)
    assert rc in (0, 130)


def test_serve_without_a_secret_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POLICY_MONITOR_SECRET"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "serve", "--port", "0",
         "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert "$POLICY_MONITOR_SECRET is not set" in done.stderr
