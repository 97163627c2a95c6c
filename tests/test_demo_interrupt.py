"""Ctrl-C during the demo's crawl: the demo stops within seconds with status 130.

Scrapy's crawler ignored a stop that came while its engine was still opening, and that
crawl then never ended, so the demo waited for ever; and a stop between two crawls let the
demo carry on (and serve). Each case interrupts at a different point of the crawl.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
from cli import start_policy_monitor

pytestmark = pytest.mark.slow
BOUND_S = 15.0  # from the signal to the exit; measured under 1 s on the 2-core machine


@pytest.mark.parametrize(
    ("mode", "marker", "delay"),
    [
        ("--no-serve", "revision 0:", 0.0),  # a crawl is being opened
        ("--no-serve", "revision 1:", 0.05),  # during the poll or the crawl
        ("--no-serve", "checked 3 pages", 0.0),  # between two steps
        ("--serve", "revision 2:", 0.0),
    ],
)
def test_ctrl_c_during_the_demo_crawl_exits_130_promptly(
    mode: str, marker: str, delay: float
) -> None:
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    with start_policy_monitor("demo", mode, "--port", "0", env=env) as proc:
        took, err, out = _interrupt(proc, marker, delay)
    assert proc.returncode == 130, (took, err)
    assert "interrupted (SIGINT)" in err and "Traceback" not in err, err
    assert "daily digest due" not in out and "the web app, on the demo data" not in out, out


def _interrupt(proc: subprocess.Popen[str], marker: str, delay: float) -> tuple[float, str, str]:
    """SIGINT once ``marker`` is printed (and ``delay`` later); (seconds to exit, stderr, stdout)."""
    assert proc.stdout is not None and proc.stderr is not None
    before: list[str] = []
    for line in proc.stdout:
        before.append(line)
        if marker in line:
            break
    else:
        proc.wait(10)
        raise AssertionError(f"the demo ended before {marker!r}:\n{''.join(before)}")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    after: list[str] = []
    drain = threading.Thread(target=lambda: after.extend(proc.stdout or ()), daemon=True)
    drain.start()
    try:
        proc.wait(BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"still running {BOUND_S:g} s after SIGINT at {marker!r}") from None
    took = time.monotonic() - sent
    drain.join(5)
    return took, proc.stderr.read(), "".join(after)
