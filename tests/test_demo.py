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
    assert elapsed < 60
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
    last_round = out.split("nothing changed")[1]
    assert "4 unchanged" in last_round
    assert "ALERT" not in last_round
