"""Pages per hour per ``policy-monitor worker``, and the database load per page.

For each worker count: a fresh PostgreSQL database, the benchmark mirror
(``../shared/bench/mirror.py``), a cold crawl of every page through the queue, then
revision 1 and a change crawl. Prints wall seconds, pages/hour per worker, the workers'
CPU seconds per page, and from ``pg_stat_database`` the transactions and rows per page.

    .venv/bin/python bench/queue_throughput.py --pages 1000 --workers 1 2 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from monitor.config import load_config
from monitor.db import Database
from monitor.jobs import Work
from monitor.queue import QueueExecutor, make_app
from monitor.queue_schema import ensure_queue_schema

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "bench" / "mirror.py"
ADMIN = os.environ.get(
    "POLICY_MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# the machine's capacity, not a site's politeness: AutoThrottle off, 16 requests at once
FETCH = "fetch: {contact: bench@example.org, autothrottle: false, per_domain_concurrency: 16}"
STATS = (
    "xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted"
)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(db: Database, name: str) -> dict[str, int]:
    with db.engine.connect() as c:
        row = c.execute(
            text(f"SELECT {STATS} FROM pg_stat_database WHERE datname = :n"), {"n": name}
        )
        return dict(row.mappings().one())


def _idle(db: Database) -> bool:
    with db.engine.connect() as c:
        n = c.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        ).scalar()
    return not n


def _crawl(db: Database, config: Path) -> None:
    async def go() -> None:
        app = make_app(db.url)
        async with app.open_async():
            await QueueExecutor(app, db, load_config(config)).submit(Work("crawl", source="mirror"))

    asyncio.run(go())


def _round(db: Database, name: str, config: Path, pids: list[int]) -> dict[str, float]:
    cpu0, st0, t0 = sum(map(_cpu_s, pids)), _stats(db, name), time.monotonic()
    _crawl(db, config)
    while not _idle(db):
        time.sleep(0.1)
    wall = time.monotonic() - t0
    cpu = sum(map(_cpu_s, pids)) - cpu0
    time.sleep(1.5)  # pg_stat_database is flushed about once a second
    st1 = _stats(db, name)
    return {"wall_s": wall, "cpu_s": cpu, **{k: st1[k] - st0[k] for k in st0}}


def run(pages: int, workers: int, kb: tuple[int, int], work: Path) -> dict[str, object]:
    name = f"pm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    ready = work / f"mirror-{name}.json"
    mirror = subprocess.Popen(
        [sys.executable, str(MIRROR), "--n", str(pages), "--port", "0", "--min-kb", str(kb[0]),
         "--max-kb", str(kb[1]), "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    db = Database(url)
    try:
        while not ready.exists():
            time.sleep(0.05)
        base = json.loads(ready.read_text())["url"].rstrip("/")
        config = work / f"{name}.yaml"
        lines = [
            f"database: {url}",
            FETCH,
            "sources:",
            "  - {name: mirror, kind: generic, allowed_domains: [127.0.0.1], pages: [",
        ]
        lines += [f"      {{url: '{base}/page/{i}'}}," for i in range(pages)] + ["    ]}"]  # fmt: skip
        config.write_text("\n".join(lines) + "\n")
        ensure_queue_schema(db.engine)
        for _ in range(workers):
            cmd = [sys.executable, "-m", "monitor", "worker", "--config", str(config)]
            procs.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        time.sleep(3)  # imports and start-up are not part of a cycle
        pids = [p.pid for p in procs]
        cold = _round(db, name, config, pids)
        with urllib.request.urlopen(f"{base}/_control/revision?set=1", timeout=10):
            pass
        change = _round(db, name, config, pids)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
        mirror.terminate()
        mirror.wait(10)
        db.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"pages": pages, "workers": workers, "cold": cold, "change": change}


def _line(r: dict[str, object], which: str) -> str:
    d: dict[str, float] = r[which]  # type: ignore[assignment]
    n, w = int(r["pages"]), int(r["workers"])  # type: ignore[call-overload]
    per_h = n / d["wall_s"] * 3600 / w
    return (
        f"| {w} | {which} | {d['wall_s']:.1f} | {per_h:,.0f} | {d['cpu_s'] / n * 1000:.1f} | "
        f"{d['xact_commit'] / n:.1f} | {(d['tup_fetched']) / n:.0f} | "
        f"{(d['tup_inserted'] + d['tup_updated'] + d['tup_deleted']) / n:.1f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--kb", type=int, nargs=2, default=[20, 200], help="page sizes, min max")
    a = ap.parse_args()
    if not MIRROR.is_file():
        sys.exit(f"the benchmark mirror is not at {MIRROR}")
    print(f"load average before: {os.getloadavg()[0]:.2f}; pages {a.pages}, {a.kb[0]}-{a.kb[1]} KB")
    print("| workers | cycle | wall s | pages/h per worker | worker CPU ms/page "
          "| transactions/page | rows fetched/page | rows written/page |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for w in a.workers:
            r = run(a.pages, w, (a.kb[0], a.kb[1]), Path(tmp))
            print(_line(r, "cold"))
            print(_line(r, "change"), flush=True)


if __name__ == "__main__":
    main()
