"""Issue 13's scale simulation: one baseline cycle, then one feed-driven day, over N mirror pages.

From the repository root, after ``scripts/bootstrap.sh`` made ``.venv`` (run it once, not in CI)::

    .venv/bin/python bench/scale_day.py --n 2000
    .venv/bin/python bench/scale_day.py --n 100000 --db postgresql+psycopg://postgres@127.0.0.1:5432
    .venv/bin/python bench/scale_day.py --n 2000 --db sqlite --db postgresql+psycopg://...

It starts the shared harness mirror (``../shared/bench/mirror.py``, or ``BENCH_DIR``) with 1% of
the pages changed and 1% noise-only edits per revision, then for each ``--db`` in turn (one
mirror, reset to revision 0 before each; ``sqlite`` = a fresh file, else a PostgreSQL server
URL on which a fresh database is made and dropped afterwards):

1. baseline: the first cycle over all N pages, how a deployment loads a large watch list
   (``--first urls``: ``check --urls``, then one feed-driven check at revision 0 that takes the
   feed's baseline and fetches no page; ``--first config``: the pages listed in the config,
   one ``check --config --feed-driven``, which fetches every page never checked);
2. the mirror moves to revision 1, its stats are reset, and the day runs:
   ``check --config --feed-driven`` with the mirror's Atom feed at ``?limit=`` large enough to
   list every substantive edit of the day.

Each command runs under ``/usr/bin/time -v`` (wall, CPU, peak RSS). Requests come from the
mirror's ``/_control/stats``, edits from its ``/_control/truth``; the database is measured
after each step. A table goes to stdout, JSON and logs to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("BENCH_DIR", REPO.parent / "shared" / "bench"))
VENV_BIN = REPO / ".venv" / "bin"
SOURCE = "adhoc"  # the source `check --urls` files pages under; the day's config names it too
YAML_VALUES_PER_PAGE = 3  # {"url": U}: a mapping, a key, a value (monitor.yaml_limits counts them)


@dataclass
class Step:
    """One timed command and what it cost."""

    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    exit_status: int | None = None
    db_bytes: int = 0
    load: str = ""
    mirror: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="mirror pages (default 2000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--change-frac", type=float, default=0.01)
    ap.add_argument("--noise-frac", type=float, default=0.01)
    ap.add_argument(
        "--db",
        action="append",
        help="'sqlite' (default) or a PostgreSQL server URL; repeat to run each in turn",
    )
    ap.add_argument("--first", choices=["urls", "config"], default="urls",
                    help="how the baseline loads the pages (default urls)")  # fmt: skip
    ap.add_argument("--mirror-args", default="", help="extra mirror.py arguments, e.g. --max-kb")
    ap.add_argument("--out", type=Path, help="result folder (default /tmp/bench-results/...)")
    a = ap.parse_args(argv)
    a.db = a.db or ["sqlite"]
    if a.n < 1:
        ap.error("--n must be positive")
    return a


def feed_limit(n: int, change_frac: float) -> int:
    """Feed entries enough for a whole day's substantive edits, with room (never below 100)."""
    return max(100, 2 * math.ceil(n * change_frac))


def day_config(feed: str, host: str, pages: list[str], source: str) -> dict[str, Any]:
    """The config of the feed-driven day: one generic source with the feed (and its pages)."""
    src: dict[str, Any] = {"name": source, "kind": "generic", "allowed_domains": [host]}
    src["feeds"] = [feed]
    if pages:
        src["pages"] = [{"url": u} for u in pages]
    return {"sources": [src]}


def parse_time_v(text: str) -> dict[str, float]:
    """Wall, user+sys CPU seconds, peak RSS (MB) and exit status from GNU time -v's report."""
    out: dict[str, float] = {}
    for raw in text.splitlines():
        line = raw.strip()
        key, _, value = line.rpartition(": ")
        if key == "Maximum resident set size (kbytes)":
            out["peak_rss_mb"] = round(int(value) / 1024, 1)
        elif key in ("User time (seconds)", "System time (seconds)"):
            out["cpu_s"] = round(out.get("cpu_s", 0.0) + float(value), 2)
        elif key == "Exit status":
            out["exit_status"] = int(value)
        elif line.startswith("Elapsed (wall clock) time"):
            secs = 0.0
            for part in line.split("): ", 1)[1].split(":"):
                secs = secs * 60 + float(part)
            out["wall_s"] = round(secs, 2)
    return out


def outcomes(text: str) -> dict[str, str]:
    """url -> status from ``check --output jsonl`` (lines that are not page outcomes skipped)."""
    found = {}
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "url" in row and "status" in row:
            found[row["url"]] = row["status"]
    return found


def page_index(url: str) -> int | None:
    tail = url.rstrip("/").rsplit("/page/", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def score(reported: set[int], truth: dict[str, Any]) -> dict[str, int]:
    true, noise = set(truth["substantive"]), set(truth["noise_only"])
    return {
        "reported": len(reported),
        "true_edits": len(true),
        "edits_reported": len(reported & true),
        "noise_pages": len(noise),
        "noise_reported": len(reported & noise),
        "unchanged_reported": len(reported - true - noise),
    }


def _mb(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f}"


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown: one row per step of each database, then the day's summary per database."""
    lines = [
        "| db | step | requests (pages 200/304, feed) | wall s | CPU s | peak RSS MB | DB MB after |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        for s in run["steps"]:
            m = s["mirror"]
            req = (
                f"{m.get('requests', 0)} ({m.get('page_200', 0)}/{m.get('page_304', 0)}, "
                f"{m.get('feed_requests', 0)})"
            )
            lines.append(
                f"| {run['db_kind']} | {s['name']} | {req} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} "
                f"| {s['peak_rss_mb']:.0f} | {_mb(s['db_bytes'])} |"
            )
    lines += [
        "",
        "| db | N | DB MB before day | after day | growth/day MB | edits reported | noise reported "
        "| unchanged reported | errors |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for run in runs:
        d, sc = run["day"], run["score"]
        lines.append(
            f"| {run['db_kind']} | {run['n']} | {_mb(d['db_before'])} | {_mb(d['db_after'])} "
            f"| {_mb(d['db_after'] - d['db_before'])} "
            f"| {sc['edits_reported']} of {sc['true_edits']} "
            f"| {sc['noise_reported']} of {sc['noise_pages']} | {sc['unchanged_reported']} "
            f"| {run['errors']} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- side effects


def _get(url: str, method: str = "GET") -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with opener.open(req, timeout=600) as r:
        return json.loads(r.read())


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


Mirror = tuple[subprocess.Popen[bytes], dict[str, Any]]


def start_mirror(a: argparse.Namespace, out: Path) -> Mirror:
    ready = out / "mirror.ready"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, str(BENCH / "mirror.py"), "--n", str(a.n), "--seed", str(a.seed)]
    cmd += ["--change-frac", str(a.change_frac), "--noise-frac", str(a.noise_frac)]
    cmd += ["--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready)]
    cmd += a.mirror_args.split()
    log = (out / "mirror.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    while not (ready.exists() and ready.stat().st_size):  # 100,000 pages take minutes to render
        if proc.poll() is not None:
            raise SystemExit(f"mirror failed, see {out / 'mirror.log'}")
        time.sleep(0.5)
    return proc, json.loads(ready.read_text())


def mirror_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Database:
    """A fresh SQLite file or PostgreSQL database for one run, its size, and its removal."""

    def __init__(self, spec: str, workdir: Path) -> None:
        self.spec, self.workdir = spec, workdir
        self.kind = "sqlite" if spec == "sqlite" else "postgresql"
        if self.kind == "sqlite":
            self.path = workdir / "state.db"
            self.url = f"sqlite:///{self.path}"
            return
        from sqlalchemy import create_engine, text

        self.name = f"scale_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(spec.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = f"{spec.rstrip('/')}/{self.name}"

    def size(self) -> int:
        if self.kind == "sqlite":
            files = [self.path, self.path.with_name(self.path.name + "-wal")]
            return sum(f.stat().st_size for f in files if f.exists())
        from sqlalchemy import text

        with self.admin.connect() as c:
            size = c.execute(text("SELECT pg_database_size(:d)"), {"d": self.name})
            return int(size.scalar_one())

    def drop(self) -> None:
        if self.kind == "postgresql":
            from sqlalchemy import text

            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
            self.admin.dispose()


def timed(name: str, args: list[str], workdir: Path, env: dict[str, str], db: Database,
          mirror: str) -> tuple[Step, dict[str, str]]:  # fmt: skip
    """Run one ``policy-monitor`` command under /usr/bin/time -v, from a reset of the stats."""
    _get(f"{mirror}/_control/stats?reset=1")
    step = Step(name, load=load())
    tv, stdout = workdir / f"{name}.time", workdir / f"{name}.jsonl"
    cmd = ["/usr/bin/time", "-v", "-o", str(tv), str(VENV_BIN / "policy-monitor"), *args]
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(cmd[4:])} (load {step.load})",
          file=sys.stderr, flush=True)  # fmt: skip
    with stdout.open("wb") as fo, (workdir / f"{name}.stderr").open("wb") as fe:
        subprocess.run(cmd, stdout=fo, stderr=fe, env=env, check=False, cwd=workdir)
    for key, value in parse_time_v(tv.read_text()).items():
        setattr(step, key, value)
    step.mirror = _get(f"{mirror}/_control/stats")
    step.db_bytes = db.size()
    seen = outcomes(stdout.read_text())
    for status in seen.values():
        step.statuses[status] = step.statuses.get(status, 0) + 1
    return step, seen


def one_run(a: argparse.Namespace, spec: str, mirror: str, out: Path) -> dict[str, Any]:
    workdir = out / ("sqlite" if spec == "sqlite" else "postgresql")
    workdir.mkdir(parents=True, exist_ok=True)
    _get(f"{mirror}/_control/revision?set=0", "POST")
    db = Database(spec, workdir)
    env = os.environ | {
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",  # the mirror is on 127.0.0.1
    }
    urls = [f"{mirror}/page/{i}" for i in range(a.n)]
    (workdir / "urls.txt").write_text("\n".join(urls) + "\n")
    feed = f"{mirror}/feed.atom?limit={feed_limit(a.n, a.change_frac)}"
    pages = urls if a.first == "config" else []
    cfg = day_config(feed, "127.0.0.1", pages, "mirror" if pages else SOURCE)
    (workdir / "config.yml").write_text(json.dumps(cfg, indent=1) + "\n")  # JSON is YAML
    common = ["--db", db.url, "--output", "jsonl"]
    day_cmd = ["check", "--config", "config.yml", "--feed-driven", *common]
    steps: list[Step] = []
    try:
        if a.first == "urls":
            steps.append(timed("baseline", ["check", "--urls", "urls.txt", *common],
                               workdir, env, db, mirror)[0])  # fmt: skip
            steps.append(timed("feed-baseline", day_cmd, workdir, env, db, mirror)[0])
        else:
            steps.append(timed("baseline", day_cmd, workdir, env, db, mirror)[0])
        before = db.size()
        truth = _get(f"{mirror}/_control/revision?set=1", "POST")["truth"]
        day, seen = timed("day", day_cmd, workdir, env, db, mirror)
        steps.append(day)
    finally:
        db.drop()
    reported = {i for u, s in seen.items() if s == "changed" and (i := page_index(u)) is not None}
    counts = ("substantive_count", "noise_only_count", "unchanged_count")
    return {
        "db_kind": db.kind,
        "db_url": db.url,
        "n": a.n,
        "first": a.first,
        "feed": feed,
        "steps": [s.__dict__ for s in steps],
        "day": {"db_before": before, "db_after": day.db_bytes},
        "truth": {k: truth[k] for k in counts},
        "score": score(reported, truth),
        "errors": sum(s.statuses.get("error", 0) for s in steps),
    }


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = a.out or Path(f"/tmp/bench-results/scale-N{a.n}-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    started, load0 = time.time(), load()
    proc, info = start_mirror(a, out)
    print(f"mirror: {info['url']} ready in {time.time() - started:.0f} s, pages {info['page_kb']}",
          file=sys.stderr, flush=True)  # fmt: skip
    runs = []
    try:
        for spec in a.db:
            runs.append(one_run(a, spec, info["url"], out))
            (out / "result.json").write_text(json.dumps(_result(a, info, runs, load0), indent=1))
        info["peak_rss_mb"] = mirror_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    result = _result(a, info, runs, load0)
    (out / "result.json").write_text(json.dumps(result, indent=1))
    text = table(runs) + f"\nload (1/5/15 min) at start {load0}, at end {load()}; mirror {info}\n"
    (out / "table.md").write_text(text)
    print(text)
    print(f"results: {out}", file=sys.stderr)


def _result(a: argparse.Namespace, info: dict[str, Any], runs: list[dict[str, Any]],
            load0: str) -> dict[str, Any]:  # fmt: skip
    args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    return {"args": args, "mirror": info, "load_at_start": load0, "load_now": load(), "runs": runs}


if __name__ == "__main__":
    main()
