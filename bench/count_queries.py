"""Run one ``policy-monitor`` command and count its SQL statements, commits and CPU time.

Deterministic where wall time is not (the machine is shared):
``python bench/count_queries.py check --urls URLS --db sqlite:///x.db --output jsonl``.
The counts go to stderr as one JSON line; the command's own output is untouched.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

COUNTS = {"statements": 0, "commits": 0, "savepoints": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _statement(*_args: object) -> None:
    COUNTS["statements"] += 1


@event.listens_for(Engine, "commit")
def _commit(*_args: object) -> None:
    COUNTS["commits"] += 1


@event.listens_for(Engine, "savepoint")
def _savepoint(*_args: object) -> None:
    COUNTS["savepoints"] += 1


def _report(started: float) -> None:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = COUNTS | {
        "wall_s": round(time.perf_counter() - started, 2),
        "cpu_main_s": round(me.ru_utime + me.ru_stime, 2),
        "cpu_workers_s": round(kids.ru_utime + kids.ru_stime, 2),
        "peak_rss_mb": round(me.ru_maxrss / 1024, 1),
    }
    print(json.dumps(out), file=sys.stderr, flush=True)


def main() -> None:
    from monitor import cli

    started = time.perf_counter()
    code = cli.run(sys.argv[1:])
    sys.stdout.flush()
    _report(started)
    os._exit(code)


if __name__ == "__main__":
    main()
