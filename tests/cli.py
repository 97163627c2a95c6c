"""Run ``policy-monitor`` as a user would: a subprocess of this interpreter."""

from __future__ import annotations

import subprocess
import sys


def policy_monitor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m monitor ARGS`` and return the finished process (output as text)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
