"""Memory of planning a URL-list check: ``watchlist.plan_targets`` over N URLs.

Usage: ``.venv/bin/python bench/plan_memory.py --n 10000 [--db URL]``

Registers N URLs in a fresh SQLite file (or the given database), then plans them again as
the second cycle of a check does, and prints, for each call, the peak of Python allocations
(``tracemalloc``, deterministic) and the process's peak RSS after it (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from monitor.config import Config
from monitor.db import Database
from monitor.watchlist import plan_targets


def _plan(db: Database, urls_file: str) -> dict[str, float]:
    tracemalloc.start()
    started = time.process_time()
    targets = plan_targets(db, Config(), urls_file, None)
    cpu = time.process_time() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"targets": len(targets), "peak_alloc_mb": peak / 2**20, "rss_mb": rss, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = Path(tmp) / "urls.txt"
        lines = (f"https://www.gov.uk/guidance/page-{i:06d}-of-the-mirror" for i in range(args.n))
        urls.write_text("\n".join(lines) + "\n", encoding="utf-8")
        db = Database(args.db or f"sqlite:///{tmp}/plan.db")
        try:
            first = _plan(db, str(urls))  # registers every page
            second = _plan(db, str(urls))  # all known: the usual cycle
        finally:
            db.dispose()
    print(json.dumps({"n": args.n, "register": first, "plan": second}, indent=1))


if __name__ == "__main__":
    main()
