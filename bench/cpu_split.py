"""Where one command's CPU goes: per process and thread, and how idle the machine was.

Usage::

    .venv/bin/python bench/cpu_split.py -- policy-monitor check --urls U --db sqlite:///x.db

It runs the command (output discarded) and every 20 ms reads ``/proc/<pid>/task/*/stat`` of
the command and its child processes, and ``/proc/stat`` for the whole machine. Printed: the
CPU seconds of the command's main thread, its other threads (Python names them only inside
the process, so they are summed), and each child process; and the machine's idle share in
each quarter second of the run (a share near 0% means the cores were saturated, near 50%
on two cores that one core had nothing to do).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(c) for c in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def _thread_cpu(pid: int) -> dict[int, float]:
    seen: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return seen
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        seen[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return seen


def _idle() -> tuple[int, int]:
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best: dict[tuple[int, int], float] = {}  # (pid, tid) -> the last CPU seconds read
    shares: list[str] = []
    start = last = time.monotonic()
    mark = _idle()
    while proc.poll() is None:
        for pid in [proc.pid, *_children(proc.pid)]:
            for tid, cpu in _thread_cpu(pid).items():
                best[(pid, tid)] = max(best.get((pid, tid), 0.0), cpu)
        if time.monotonic() - last >= 0.25:
            now = _idle()
            share = (now[0] - mark[0]) / max(1, now[1] - mark[1])
            shares.append(f"{time.monotonic() - start:.2f}s:{share:.0%}")
            mark, last = now, time.monotonic()
        time.sleep(0.02)
    split: dict[str, float] = {}
    for (pid, tid), cpu in best.items():
        name = (
            ("main thread" if tid == pid else "other threads")
            if pid == proc.pid
            else f"child {pid}"
        )
        split[name] = split.get(name, 0.0) + cpu
    print(f"exit {proc.returncode}, wall {time.monotonic() - start:.2f} s")
    for name, cpu in sorted(split.items(), key=lambda kv: -kv[1]):
        print(f"{cpu:7.2f} s  {name}")
    print(f"{sum(split.values()):7.2f} s  in all")
    print("machine idle:", " ".join(shares))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
