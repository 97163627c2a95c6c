"""Fetch through the real Scrapy crawl in a subprocess (``fixtures/sources/fetch_probe.py``).

Twisted's reactor starts once per process, so each call runs one crawl job in a fresh
interpreter and hands back the JSON lines it printed, plus its log (stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).parent / "fixtures" / "sources" / "fetch_probe.py"


def run_probe(spec: dict[str, Any], timeout: float = 90) -> tuple[list[dict[str, Any]], str]:
    """Run the probe with ``spec``; fail with its log if it does not exit cleanly."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return rows, proc.stderr


def fetch_all(
    targets: list[dict[str, Any]], *, fetch: dict[str, Any] | None = None, **settings: Any
) -> tuple[dict[str, dict[str, Any]], str]:
    """Fetch ``targets`` (FetchTarget fields) in one crawl; results by target URL, and the log."""
    rows, log = run_probe({"targets": targets, "fetch": fetch or {}, "settings": settings})
    return {r["url"]: r for r in rows}, log


def poll_jobs(
    jobs: list[dict[str, Any]], *, fetch: dict[str, Any] | None = None
) -> list[list[dict[str, Any]]]:
    """Run discovery jobs (``db``, ``config``, ``polls``) one after another in one crawl job.

    Returns, per job, one PollReport (as a dict) per poll.
    """
    rows, _ = run_probe({"jobs": jobs, "fetch": fetch or {"retries": 0}}, timeout=180)
    out: list[list[dict[str, Any]]] = [[] for _ in jobs]
    for row in rows:
        out[row.pop("job")].append(row)
    assert [len(r) for r in out] == [j.get("polls", 1) for j in jobs]
    return out
