"""Run the peers and policy-monitor on one mirror, in one go, and print the table with ratios.

From the repository root, after ``scripts/bootstrap.sh`` made ``.venv``::

    .venv/bin/python bench/compare_peers.py                 # N = 1,000, seed 42, SQLite
    .venv/bin/python bench/compare_peers.py --n 10000 --peers scrapy_floor
    .venv/bin/python bench/compare_peers.py --db postgresql+psycopg://postgres@127.0.0.1:5432

It uses the shared harness (``../shared/bench``, or ``BENCH_DIR``): one mirror, then each
runner in turn (never two at once): urlwatch + html2text, the bare Scrapy floor, then
``policy-monitor check`` twice, over the URL list and feed-driven (``--feed-driven`` with the
mirror's Atom feed). Results, the load average and the table go to ``--out``.
With ``--db`` a PostgreSQL server URL, each policy-monitor run gets a fresh database on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("BENCH_DIR", REPO.parent / "shared" / "bench"))
VENV_BIN = REPO / ".venv" / "bin"
CHECK = "policy-monitor check --db {db} --output jsonl"
GOALS = {"cold": 1.3, "change": 1.2}  # times the Scrapy floor's, issue 13


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_mirror(n: int, seed: int, out: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = out / "mirror.ready"
    ready.unlink(missing_ok=True)
    log = (out / "mirror.log").open("wb")
    cmd = [sys.executable, str(BENCH / "mirror.py"), "--n", str(n), "--seed", str(seed)]
    cmd += ["--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(3000):  # large N takes a while to render
        if ready.exists() and ready.stat().st_size:
            return proc, str(json.loads(ready.read_text())["url"])
        if proc.poll() is not None:
            raise SystemExit(f"mirror failed, see {out / 'mirror.log'}")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("mirror not ready")


def fresh_db(server: str | None, workdir: Path) -> str:
    if not server:
        return f"sqlite:///{workdir}/state.db"
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server.rstrip('/')}/{name}"


def run(
    runner: str, args: list[str], env: dict[str, str], loads: dict[str, str], name: str
) -> None:
    loads[name] = load()
    print(f"=== {name} (load {loads[name]})", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(BENCH / f"run_{runner}.py"), *args], env=env, check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--peers", default="urlwatch-html2text scrapy_floor")
    ap.add_argument("--modes", default="urls feed", help="policy-monitor runs: urls, feed")
    ap.add_argument("--db", help="a PostgreSQL server URL (default: SQLite in the workdir)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = a.out or Path(f"/tmp/bench-results/compare-N{a.n}-{stamp}")
    work = Path(f"/tmp/bench-work/compare-N{a.n}-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        # the mirror is on 127.0.0.1, which the address guard refuses unless told
        "POLICY_MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    # An installed package has its bytecode compiled at install time (pip does it); an
    # editable one is compiled on first import, and never cached where the environment sets
    # PYTHONDONTWRITEBYTECODE (as this machine does). Compile ours once, untimed, as pip would.
    packages = [str(REPO / p) for p in ("monitor", "spiders", "watchers", "notifiers")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
    mirror, url = start_mirror(a.n, a.seed, out)
    loads: dict[str, str] = {}
    try:
        base = ["--n", str(a.n), "--mirror", url]
        for peer in a.peers.split():
            if peer.startswith("urlwatch"):
                variant = "html2text" if peer.endswith("html2text") else "raw"
                run("urlwatch", [*base, "--variant", variant, "--workdir", str(work / peer),
                                 "--out", str(out / f"{peer}.json")], env, loads, peer)  # fmt: skip
            else:
                run(peer, [*base, "--workdir", str(work / peer), "--out", str(out / f"{peer}.json")],
                    env, loads, peer)  # fmt: skip
        for mode in a.modes.split():
            name = "policy-monitor" if mode == "urls" else "policy-monitor-feed"
            wd = work / name
            wd.mkdir(parents=True, exist_ok=True)
            check = CHECK.format(db=fresh_db(a.db, wd))
            extra = ["--check", check + " --urls {urls_file}"]
            if mode == "feed":
                setup = (
                    f"{sys.executable} {REPO / 'bench' / 'feed_config.py'} {{urls_file}} {{feed}}"
                )
                extra = ["--setup", setup + " > {workdir}/config.yml",
                         "--check", check + " --config {workdir}/config.yml --feed-driven"]  # fmt: skip
            run("cli", [*base, "--name", name, *extra, "--workdir", str(wd),
                        "--out", str(out / f"{name}.json")], env, loads, name)  # fmt: skip
    finally:
        mirror.terminate()
        mirror.wait()
    (out / "load.json").write_text(json.dumps(loads, indent=1))
    table = subprocess.run([sys.executable, str(BENCH / "report.py"), str(out)],
                           capture_output=True, text=True).stdout  # fmt: skip
    text = (
        table + "\n" + ratios(out, a.n) + f"\nload averages (1/5/15 min) at each start: {loads}\n"
    )
    (out / "table.txt").write_text(text)
    print(text)
    print(f"results: {out}", file=sys.stderr)


def _read(out: Path, name: str) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ratios(out: Path, n: int) -> str:
    """Our times over each peer's from the same run, and the issue's goals, met or not."""
    ours, feed = _read(out, "policy-monitor"), _read(out, "policy-monitor-feed")
    lines = ["| policy-monitor / peer | cold | change |", "|---|---:|---:|"]
    for peer in ("urlwatch-html2text", "scrapy_floor"):
        other = _read(out, peer)
        if ours and other:
            c = ours["cold"]["seconds"] / other["cold"]["seconds"]
            h = ours["change"]["seconds"] / other["change"]["seconds"]
            lines.append(f"| {peer} | {c:.2f}x | {h:.2f}x |")
    floor = _read(out, "scrapy_floor")
    if ours and floor:
        for cycle, goal in GOALS.items():
            r = ours[cycle]["seconds"] / floor[cycle]["seconds"]
            lines.append(
                f"goal {cycle} <= {goal}x floor: {r:.2f}x, {'met' if r <= goal else 'NOT met'}"
            )
    for run in (ours, feed):
        if run:
            s, m = run["change"]["score"], run["change"]["mirror"]
            lines.append(
                f"{run['tool']}: reported {s['true_positives']} of {s['truly_changed']} edits, "
                f"{s['noise_flagged']} noise pages; change-cycle requests: "
                f"{m.get('page_requests')} pages + {m.get('feed_requests')} feed; "
                f"peak RSS {run['peak_rss_mb']} MB (goal {150 if n <= 1000 else 200})"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
