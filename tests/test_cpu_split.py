"""``bench/cpu_split.py`` counts a command's CPU by thread and by child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "cpu_split.py"

BUSY = """
import os, threading, time
def spin(s):
    end = time.process_time() + s
    while time.process_time() < end: pass
t = threading.Thread(target=spin, args=(0.3,)); t.start(); t.join()
if os.fork() == 0:
    spin(0.3); os._exit(0)
os.wait()
time.sleep(0.1)
"""


def test_the_split_names_the_thread_the_child_and_the_idle_machine() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--", sys.executable, "-c", BUSY],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = {line.split("s  ", 1)[1]: float(line.split()[0]) for line in out.splitlines()
            if "s  " in line}  # fmt: skip
    assert rows["other threads"] >= 0.2, out  # the spinning thread, sampled every 20 ms
    assert any(name.startswith("child ") and cpu >= 0.2 for name, cpu in rows.items()), out
    assert rows["in all"] >= rows["other threads"] + 0.2, out
    assert out.startswith("exit 0") and "machine idle:" in out
