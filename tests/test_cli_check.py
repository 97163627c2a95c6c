"""``check`` as a user runs it: Ctrl-C and SIGTERM mid-crawl, closed pipes, its report."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli import policy_monitor, start_policy_monitor
from localserver import LocalServer, Reply
from sqlalchemy import func, select

from monitor.db import Database
from monitor.models import Snapshot

pytestmark = pytest.mark.slow
MONITOR = [sys.executable, "-m", "monitor"]


def slow_site(n: int = 40, delay: float = 0.3) -> LocalServer:
    routes = {
        f"/p{i}": Reply(
            body=f"<html><body><main><p>Page {i} has £{i} million.</p></main></body></html>".encode(),
            headers={"Content-Type": "text/html"},
            delay_s=delay,
        )
        for i in range(n)
    }
    return LocalServer(routes)


def url_file(tmp: Path, srv: LocalServer) -> Path:
    urls = tmp / "urls.txt"
    urls.write_text("\n".join(srv.url(p) for p in srv.routes) + "\n")
    return urls


def snapshots(db_url: str) -> int:
    db = Database(db_url)
    with db.session(readonly=True) as s:
        n = int(s.scalar(select(func.count()).select_from(Snapshot)) or 0)
    db.dispose()
    return n


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_crawl_stops_promptly_and_keeps_the_pages_done(
    tmp_path: Path, sig: signal.Signals
) -> None:
    db_url = f"sqlite:///{tmp_path / 'pm.db'}"
    with slow_site() as srv:
        proc = start_policy_monitor(
            "check", "--urls", str(url_file(tmp_path, srv)), "--db", db_url, "--concurrency", "2"
        )
        deadline = time.monotonic() + 60
        while srv.hits.total() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 10, f"took {took:.1f} s to stop"
    assert f"{sig.name}: stopping" in err and "Traceback" not in err
    assert "stopped after" in out and "of 40 pages" in out
    kept = snapshots(db_url)
    assert 0 < kept < 40  # the pages in hand were recorded, the rest never fetched


def test_a_second_signal_quits_at_once(tmp_path: Path) -> None:
    with slow_site(delay=2.0) as srv:
        proc = start_policy_monitor(
            "check", "--urls", str(url_file(tmp_path, srv)), "--db",
            f"sqlite:///{tmp_path / 'pm.db'}", "--concurrency", "2",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while srv.hits.total() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and "Traceback" not in err


@pytest.mark.parametrize("mode", [["--output", "jsonl"], [], ["2>&1"]])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, mode: list[str]) -> None:
    with slow_site(delay=0.05) as srv:
        args = ["check", "--urls", str(url_file(tmp_path, srv)), "--db",
                f"sqlite:///{tmp_path / 'pm.db'}"]  # fmt: skip
        redirect = " 2>&1" if mode == ["2>&1"] else f" 2>{tmp_path / 'err.txt'}"
        flags = " ".join(m for m in mode if m != "2>&1")
        command = " ".join([*MONITOR, *args]) + f" {flags}{redirect} | head -1"
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", command + "; echo rc=${PIPESTATUS[0]}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        took = time.monotonic() - started
    first, rc = done.stdout.splitlines()
    assert "p0" in first or "p1" in first or "http" in first
    assert rc == "rc=141", done.stdout
    assert took < 30
    err = (tmp_path / "err.txt").read_text() if mode != ["2>&1"] else ""
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_the_report_is_on_stdout_with_named_noise_and_the_configured_title(
    tmp_path: Path,
) -> None:
    page = "<html><head><title>QS14</title></head><body><main><p>{}</p>{}</main></body></html>"
    with LocalServer(
        {
            "/qs14": Reply(
                body=page.format("Offer a crisis plan.", "").encode(),
                headers={"Content-Type": "text/html"},
            )
        }
    ) as srv:
        cfg = tmp_path / "monitor.yml"
        cfg.write_text(
            f"database: sqlite:///{tmp_path / 'pm.db'}\nfetch: {{obey_robots: false}}\n"
            "sources:\n  - name: nice\n    allowed_domains: [127.0.0.1]\n    pages:\n"
            f"      - url: {srv.url('/qs14')}\n        title: Service user experience (QS14)\n"
        )
        first = policy_monitor("check", "--config", str(cfg))
        srv.routes["/qs14"] = Reply(
            body=page.format("Offer a crisis plan.", "<footer>Rendered 10:01</footer>")
            .encode()
            .replace(b"<footer>", b"<p hidden></p><footer>"),
            headers={"Content-Type": "text/html"},
        )
        second = policy_monitor("check", "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    assert "Service user experience (QS14)" in first.stdout  # the config's title, not <title>
    assert "1 page: 1 new" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "noise only" in second.stdout and srv.url("/qs14") in second.stdout
