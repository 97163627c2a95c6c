"""``run --queue-workers 0`` schedules only; a separate worker does the crawls; SIGTERM mid-task.

The page answers slowly, so the worker is inside a crawl task when it gets SIGTERM: it
finishes that task (marked succeeded, its pages stored), then exits with status 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from sqlalchemy import text

from monitor.db import Database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
FAST = ["--poll-seconds", "1", "--crawl-seconds", "2", "--deliver-seconds", "1"]


def _wait(cond: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _page(text_: str, delay: float = 0.0) -> Reply:
    body = f"<html><body><main><h1>Page</h1><p>{text_}</p></main></body></html>".encode()
    return Reply(body=body, headers={"Content-Type": "text/html"}, delay_s=delay)


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "-v", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=dict(os.environ),
        )


def test_run_schedules_only_and_a_worker_finishes_its_task_on_sigterm(
    pg_url: str, tmp_path: Path
) -> None:
    routes = {"/a": _page("Funding of £20 million."), "/slow": _page("Slow.", delay=3.0)}
    with LocalServer(routes) as srv:
        config = tmp_path / "monitor.yml"
        config.write_text(
            f"database: {pg_url}\n"
            "fetch: {autothrottle: false}\n"
            "sources:\n"
            "  - name: site\n"
            "    kind: generic\n"
            "    allowed_domains: [127.0.0.1]\n"
            f"    pages: [{{url: '{srv.url('/a')}'}}, {{url: '{srv.url('/slow')}'}}]\n"
        )
        db = Database(pg_url)  # `db upgrade` first: two first starts would race to migrate
        run_log, worker_log = tmp_path / "run.log", tmp_path / "worker.log"
        run = _start(["run", "--config", str(config), "--queue-workers", "0", *FAST], run_log)
        worker = _start(["worker", "--config", str(config)], worker_log)
        try:
            started = re.compile(r"task (\d+) started: crawl:site ")
            _wait(lambda: started.search(worker_log.read_text()), "a crawl task in the worker")
            task = started.search(worker_log.read_text()).group(1)  # type: ignore[union-attr]
            time.sleep(0.5)  # the slow page is still on its way
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0  # a stop by SIGTERM is a normal end, as for run
            log = worker_log.read_text()
            assert f"task {task} done: crawl:site " in log.split("SIGTERM")[1], log
            assert "stopped cleanly (SIGTERM)" in log, log
            with db.engine.connect() as c:
                status = c.execute(
                    text("SELECT status::text FROM procrastinate_jobs WHERE id = :i"),
                    {"i": int(task)},
                ).scalar()
                snapshots = c.execute(text("SELECT count(*) FROM snapshot")).scalar()
            assert status == "succeeded" and snapshots == 2
            assert run.poll() is None
            # the scheduler ran no task itself: it only queued them
            assert "started: crawl" not in run_log.read_text()
        finally:
            for proc in (worker, run):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            assert run.wait(30) == 0
            worker.wait(30)
            db.dispose()
