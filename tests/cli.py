"""Run ``policy-monitor`` as a user would: a subprocess of this interpreter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any


def policy_monitor(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m monitor ARGS`` and return the finished process (output as text).

    ``env`` adds to (or, with a value of "", removes from) this process's environment.
    """
    environ = dict(os.environ)
    for key, value in (env or {}).items():
        if value:
            environ[key] = value
        else:
            environ.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
    )


def _default_signals() -> None:
    # A test runner started in the background may hand its children SIGINT as "ignored";
    # a user's shell never does, so give the command the terminal's defaults back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_policy_monitor(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start ``python -m monitor ARGS`` without waiting (stdout and stderr piped as text)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args], text=True, preexec_fn=_default_signals, **popen
    )
