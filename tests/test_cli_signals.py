"""SIGINT and SIGTERM stop a command promptly and say so; a second Ctrl-C quits at once.

Real processes, real signals, time bounds. The command under test blocks reading a FIFO that
never delivers data: a stand-in for a slow network read or a lock that is never released.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli import start_policy_monitor

pytestmark = pytest.mark.slow
PROMPT = 5.0  # seconds a stopped command may take to exit


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "never.yaml"
    os.mkfifo(path)
    yield path


def _until_reading(proc: subprocess.Popen[str], fifo: Path) -> int:
    """Wait until the command is blocked reading the FIFO; return our (silent) writer's fd."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds once a reader waits
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            time.sleep(0.05)
            continue
        _until_blocked_in_read(proc.pid)
        return writer
    raise AssertionError("the command never opened the FIFO")


def _until_blocked_in_read(pid: int) -> None:
    """The reader's open() has returned; wait until it sleeps in read(), not on its way there.

    A signal that lands between the two system calls is handled (in C) before the read
    starts, and nothing then interrupts the read: that is not the blocked command this file
    tests. The kernel names where a task sleeps in /proc/PID/wchan ("...pipe_read").
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            where = Path(f"/proc/{pid}/wchan").read_text()
        except OSError:
            where = ""
        if "pipe_read" in where or where in ("", "0"):  # "0": this kernel does not say
            break
        time.sleep(0.01)
    if "pipe_read" not in where:
        time.sleep(0.5)  # no word from the kernel: give the read time to start


def _stopped_by(proc: subprocess.Popen[str], sig: int) -> tuple[int, str, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=PROMPT * 4)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints where every thread is
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        raise AssertionError(
            f"still running {PROMPT * 4:.0f} s after {sig!r}; its threads:\n{err[-4000:]}"
        ) from None
    return proc.returncode, err, time.monotonic() - started


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_blocked_command_stops_on_the_signal_and_says_so(
    sig: int, fifo: Path, tmp_path: Path
) -> None:
    proc = start_policy_monitor(
        "commitments",
        "import",
        str(fifo),
        "--db",
        f"sqlite:///{tmp_path}/x.db",
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    writer = _until_reading(proc, fifo)
    try:
        code, err, took = _stopped_by(proc, sig)
    finally:
        os.close(writer)
    assert code == 130
    assert f"interrupted ({signal.Signals(sig).name})" in err
    assert "Traceback" not in err
    assert took < PROMPT


SCRIPT_THREAD = """
import sys, threading
held = threading.Lock()
held.acquire()
threading.Thread(target=held.acquire).start()   # not a daemon: waits for ever
sys.argv = ["policy-monitor", "commitments", "import", sys.argv[1], "--db", sys.argv[2]]
from monitor.cli import main
main()
"""


def test_a_thread_waiting_on_a_lock_does_not_keep_a_stopped_command_alive(
    fifo: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT_THREAD, str(fifo), f"sqlite:///{tmp_path}/x.db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = _until_reading(proc, fifo)
    try:
        code, err, took = _stopped_by(proc, signal.SIGTERM)
    finally:
        os.close(writer)
    assert (code, took < PROMPT) == (130, True), err
    assert "interrupted (SIGTERM)" in err


SCRIPT_GRACEFUL = """
import sys, time
from monitor.terminal import Interrupted, graceful_interrupts, install_signal_handlers
from monitor.terminal import raise_if_interrupted
install_signal_handlers()
asked = []
with graceful_interrupts(asked.append):
    print("ready", flush=True)
    while not asked:
        time.sleep(0.02)
    print("winding down", flush=True)
    if sys.argv[1] == "slow":
        time.sleep(60)   # a wind-down that takes too long: the second Ctrl-C must win
try:
    raise_if_interrupted()
except Interrupted as exc:
    print("stopped by", exc.name, flush=True)
    sys.exit(130)
"""


def _graceful(mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT_GRACEFUL, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


def test_a_graceful_command_winds_down_then_reports_the_interrupt() -> None:
    proc = _graceful("quick")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=PROMPT * 4)
    assert out.splitlines() == ["winding down", "stopped by SIGINT"]
    assert "SIGINT: stopping (press Ctrl-C again to quit at once)" in err
    assert proc.returncode == 130


def test_a_second_ctrl_c_quits_at_once() -> None:
    proc = _graceful("slow")
    assert proc.stdout is not None
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline() == "winding down\n"
    assert proc.poll() is None  # the first Ctrl-C asked; the command is still finishing
    code, err, took = _stopped_by(proc, signal.SIGINT)
    assert (code, took < PROMPT) == (130, True)
    assert "interrupted again: quitting at once" in err


def test_ctrl_c_to_the_process_group_stops_a_batch_without_worker_tracebacks(
    tmp_path: Path,
) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("## Care\n\n" + "We will invest £261m by 2023/24.\n\n" * 3, encoding="utf-8")
    new.write_text("## Care\n\n" + "We will invest £300m by 2024/25.\n\n" * 3, encoding="utf-8")
    line = json.dumps({"id": 1, "old": str(old), "new": str(new)}) + "\n"
    (tmp_path / "pairs.jsonl").write_text(line * 20000, encoding="utf-8")
    proc = start_policy_monitor(
        "compare", "--batch", str(tmp_path / "pairs.jsonl"), "--workers", "2",
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith('{"id": 1')  # the pool is at work
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    try:
        _, err = proc.communicate(timeout=PROMPT * 6)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the batch did not stop") from None
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted (SIGINT)" in err
    assert time.monotonic() - started < PROMPT * 2
