"""Three ``policy-monitor worker`` processes on PostgreSQL, 1,000 pages, one worker SIGKILLed.

The pages come from the benchmark mirror (``../shared/bench/mirror.py``, small pages so the
test stays fast). A cold crawl, then revision 1 (100 substantive and 100 noise-only edits)
and a second crawl, during which a worker is killed with SIGKILL while it runs a crawl task.
The other two put that task back in the queue once its heartbeat is stale and run it again.
(A stale deliver task is superseded by a waiting one and ends "aborted", by design: the
victim is the first worker found mid-crawl, not one that may have moved on to delivering.)
Afterwards every page has exactly the snapshots its edits call for, every substantive edit
raised one event, and the local Slack server received each alert exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slackserver import SlackServer
from sqlalchemy import text

from monitor.config import load_config
from monitor.db import Database
from monitor.jobs import Work
from monitor.queue import QueueExecutor, make_app
from monitor.queue_schema import ensure_queue_schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "mirror.py"
PAGES = 1000
TOKEN = "xoxb-queue-test"
STARTED = re.compile(r"task (\d+) started: (\w+)")


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    if not MIRROR.is_file():
        pytest.skip(f"benchmark mirror not found at {MIRROR} (it lives beside the repository)")
    ready = tmp_path / "mirror.json"
    args = ["--n", str(PAGES), "--port", "0", "--min-kb", "4", "--max-kb", "8"]
    proc = subprocess.Popen(
        [sys.executable, str(MIRROR), *args, "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # the killed worker's connections reset: not news
    )
    try:
        _wait_for(ready.exists, 30)
        yield json.loads(ready.read_text())["url"].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_for(cond: Callable[[], object], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _config(tmp_path: Path, base: str, db_url: str, slack_api: str) -> Path:
    lines = [
        f"database: {db_url}",
        "fetch: {contact: test@example.org, autothrottle: false, per_domain_concurrency: 16}",
        "notify:",
        "  slack:",
        "    token_env: QUEUE_TEST_SLACK_TOKEN",
        f"    base_url: {slack_api}",
        "    channels: {policy: C0POLICY}",
        "  routes:",
        '    - {events: ["*"], notify: ["slack:policy"]}',
        "sources:",
        "  - name: mirror",
        "    kind: generic",
        "    allowed_domains: [127.0.0.1]",
        "    pages:",
        *(f"      - url: {base}/page/{i}" for i in range(PAGES)),
    ]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _workers(config: Path, tmp_path: Path, n: int) -> list[tuple[subprocess.Popen[str], Path]]:
    env = {**os.environ, "QUEUE_TEST_SLACK_TOKEN": TOKEN}
    out = []
    for i in range(n):
        log = tmp_path / f"worker{i}.log"
        cmd = [sys.executable, "-m", "monitor", "-v", "worker", "--config", str(config)]
        with log.open("w") as err:
            proc = subprocess.Popen(
                [*cmd, "--heartbeat", "1", "--stalled-after", "6"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )
        out.append((proc, log))
    return out


def _crawl(db: Database, url: str, config: Path) -> int:
    async def go() -> int:
        app = make_app(url)
        async with app.open_async():
            executor = QueueExecutor(app, db, load_config(config))
            await executor.submit(Work("crawl", source="mirror"))
            return executor.deferred

    return asyncio.run(go())


def _jobs(db: Database) -> dict[str, int]:
    with db.engine.connect() as c:
        rows = c.execute(text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"))
        return {str(k): int(v) for k, v in rows}


def _idle(db: Database) -> bool:
    jobs = _jobs(db)
    return not jobs.get("todo") and not jobs.get("doing")


def _running(log: Path, kind: str = "crawl") -> str | None:
    """The task of ``kind`` a worker's log says it started and has not finished."""
    lines = log.read_text().splitlines()
    started = [m.groups() for line in lines if (m := STARTED.search(line))]
    if started and started[-1][1] == kind:
        task = started[-1][0]
        if not any(f"task {task} done" in line for line in lines):
            return task
    return None


def _mid_crawl(
    workers: list[tuple[subprocess.Popen[str], Path]],
) -> tuple[int, str, subprocess.Popen[str]]:
    """A worker that has been in one crawl task for 0.1 s and still is (a 50-page task can
    take under 0.3 s: one seen starting may be delivering by the time it is killed)."""
    end = time.monotonic() + 120
    while time.monotonic() < end:
        found = _crawling(workers)
        if found is not None:
            time.sleep(0.1)  # some of its pages are in, the others not
            index, task = found
            if _running(workers[index][1]) == task:
                return index, task, workers[index][0]
        time.sleep(0.02)
    raise AssertionError("no worker was seen in the middle of a crawl task")


def _crawling(workers: list[tuple[subprocess.Popen[str], Path]]) -> tuple[int, str] | None:
    """The first worker found in the middle of a crawl task, and that task."""
    for i, (_, log) in enumerate(workers):
        task = _running(log)
        if task is not None:
            return i, task
    return None


def _truth(base: str) -> dict[str, list[int]]:
    with urllib.request.urlopen(f"{base}/_control/revision?set=1", timeout=10) as resp:
        truth = json.load(resp)["truth"]
    return {"substantive": truth["substantive"], "noise_only": truth["noise_only"]}


def test_three_workers_one_killed_every_page_and_alert_exactly_once(
    pg_url: str, mirror: str, tmp_path: Path
) -> None:
    db = Database(pg_url)
    try:
        _run(db, pg_url, mirror, tmp_path)
    finally:
        db.dispose()


def _run(db: Database, pg_url: str, mirror: str, tmp_path: Path) -> None:
    ensure_queue_schema(db.engine)  # what `policy-monitor db upgrade` or `run` does
    with SlackServer(token=TOKEN, channels={"C0POLICY": "C0POLICY"}, real_ts=True) as slack:
        config = _config(tmp_path, mirror, pg_url, slack.api_url)
        workers = _workers(config, tmp_path, 3)
        try:
            started = time.monotonic()
            batches = _crawl(db, pg_url, config)
            assert batches == PAGES // 50 + 1  # page ids start at 1: buckets 0..20
            _wait_for(lambda: _idle(db), 240)
            cold = time.monotonic() - started

            truth = _truth(mirror)
            started = time.monotonic()
            assert _crawl(db, pg_url, config) == batches
            # A crawl is killed half-way (a worker may be past its crawls, on a deliver task).
            index, killed, victim = _mid_crawl(workers)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            _wait_for(lambda: _idle(db), 240)
            _wait_for(lambda: _settled(db), 60)
            change = time.monotonic() - started
        finally:
            for proc, _ in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(30) for proc, _ in workers]
        print(f"cold crawl {cold:.1f} s, change crawl with a kill {change:.1f} s")
        assert codes.pop(index) == -signal.SIGKILL and codes == [0, 0]  # SIGTERM: finished

        with db.engine.connect() as c:
            attempts = dict(c.execute(text("SELECT id, attempts FROM procrastinate_jobs")).all())
            statuses = Counter(c.execute(text("SELECT status FROM procrastinate_jobs")).scalars())
            snapshots = dict(
                c.execute(
                    text(
                        "SELECT p.url, count(s.id) FROM watched_page p"
                        " LEFT JOIN snapshot s ON s.page_id = p.id GROUP BY p.url"
                    )
                ).all()
            )
            events = c.execute(
                text("SELECT e.kind, p.url FROM event e JOIN watched_page p ON p.id = e.page_id")
            ).all()
            deliveries = Counter(c.execute(text("SELECT status FROM delivery")).scalars())
            keys = set(c.execute(text("SELECT key FROM delivery")).scalars())
            staged = c.execute(text("SELECT count(*) FROM staged_event")).scalar()

    assert attempts[int(killed or 0)] >= 1, "the killed worker's task ran again"
    assert set(statuses) == {"succeeded"}, statuses
    assert staged == 0
    edited = {f"{mirror}/page/{i}" for i in truth["substantive"] + truth["noise_only"]}
    assert len(snapshots) == PAGES
    wrong = {u: n for u, n in snapshots.items() if n != (2 if u in edited else 1)}
    assert not wrong, f"pages with the wrong number of snapshots: {list(wrong.items())[:5]}"
    changed = Counter(url for kind, url in events if kind == "page_changed")
    assert set(changed) == {f"{mirror}/page/{i}" for i in truth["substantive"]}
    assert set(changed.values()) == {1}
    assert deliveries == {"sent": len(keys)} and len(keys) >= len(events)
    posted = Counter(
        m["metadata"]["event_payload"]["delivery_key"] for m in slack.messages("C0POLICY")
    )
    assert set(posted) == keys and set(posted.values()) == {1}, "each alert posted once"


def _settled(db: Database) -> bool:
    """Every event routed and every delivery sent (the deliver tasks have run)."""
    with db.engine.connect() as c:
        waiting = c.execute(
            text("SELECT count(*) FROM event WHERE status IN ('pending', 'routed')")
        ).scalar()
        unsent = c.execute(text("SELECT count(*) FROM delivery WHERE status != 'sent'")).scalar()
    return not waiting and not unsent and _idle(db)
