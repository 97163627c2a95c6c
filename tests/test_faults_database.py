"""Database faults: a full disk, a read-only file, a dropped or silent PostgreSQL connection.

Each must end in a clear error (exit 2) or a recovery, never in a corrupt database or a lost
snapshot. The disk is "full" through RLIMIT_FSIZE on the subprocess (no root needed).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from sqlalchemy import create_engine, func, select, text

from monitor import settings
from monitor.db import Database
from monitor.errors import DatabaseError
from monitor.models import Snapshot

pytestmark = pytest.mark.slow


def _site(n: int, size: int, rev: int, delay: float = 0.0) -> dict[str, Reply]:
    filler = " ".join(f"word{rev}x{i}" for i in range(size // 10))
    return {
        f"/p{i}": Reply(
            body=f"<html><body><main><h1>Page {i}</h1><p>Funding £{rev} million.</p><p>{filler}</p></main></body></html>".encode(),
            headers={"Content-Type": "text/html; charset=utf-8"},
            delay_s=delay,
        )
        for i in range(n)
    }  # fmt: skip


def _check(
    urls: Path, db: str, *, fsize: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--urls", str(urls), "--db", db,
         "--output", "jsonl", "--workers", "0"],
        capture_output=True, text=True, timeout=timeout, preexec_fn=limit, check=False,
    )  # fmt: skip


def _urls(tmp: Path, srv: LocalServer) -> Path:
    path = tmp / "urls.txt"
    path.write_text("".join(srv.url(p) + "\n" for p in sorted(srv.routes)))
    return path


def _snapshots(url: str) -> int:
    db = Database(url)
    with db.session(readonly=True) as s:
        n = int(s.scalar(select(func.count()).select_from(Snapshot)) or 0)
    db.dispose()
    return n


def test_a_full_disk_stops_with_exit_2_and_a_sound_database(tmp_path: Path) -> None:
    path = tmp_path / "pm.db"
    url = f"sqlite:///{path}"
    with LocalServer(_site(3, 2_000, 1)) as srv:
        urls = _urls(tmp_path, srv)
        first = _check(urls, url)
        assert first.returncode == 0, first.stderr
        before = _snapshots(url)
        assert before == 3
        srv.routes.update(_site(3, 150_000, 2))  # every page grows to ~150 KB
        used = sum(f.stat().st_size for f in tmp_path.glob("pm.db*"))
        full = _check(urls, url, fsize=used + 40_000)
        assert full.returncode == 2, (full.returncode, full.stderr[-2000:])
        assert "cannot take writes" in full.stderr
        assert "Traceback" not in full.stderr
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert _snapshots(url) >= before  # what was stored is still there
        again = _check(urls, url)  # room again: the changes are found, nothing was lost
    assert again.returncode == 0, again.stderr
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    changed = {r["url"] for r in rows if r["status"] == "changed"}
    stored_during_full = _snapshots(url) - before - len(changed)
    assert len(rows) == 3 and stored_during_full >= 0
    assert changed | {r["url"] for r in rows if r["status"] == "unchanged"} == {
        srv.url(p) for p in srv.routes
    }


def test_a_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pm.db"
    with LocalServer(_site(2, 200, 1)) as srv:
        urls = _urls(tmp_path, srv)
        assert _check(urls, f"sqlite:///{path}").returncode == 0
        srv.routes.update(_site(2, 200, 2))
        ro = _check(urls, f"sqlite:///file:{path}?mode=ro&uri=true")
    assert ro.returncode == 2, ro.stderr[-2000:]
    assert "readonly" in ro.stderr or "read-only" in ro.stderr
    assert "Traceback" not in ro.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.postgres
def test_a_transaction_whose_connection_is_killed_runs_again(pg_url: str) -> None:
    db = Database(pg_url)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    attempts: list[int] = []

    def work(s: object) -> int:
        attempts.append(1)
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()  # type: ignore[attr-defined]
        if len(attempts) == 1:
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        s.execute(text("CREATE TABLE IF NOT EXISTS probe (n int)"))  # type: ignore[attr-defined]
        s.execute(text("INSERT INTO probe VALUES (1)"))  # type: ignore[attr-defined]
        return int(pid)

    db.retrying(work)
    assert len(attempts) == 2
    with db.session(readonly=True) as s:
        assert s.execute(text("SELECT count(*) FROM probe")).scalar_one() == 1
    db.dispose()
    admin.dispose()


@contextmanager
def killing(pg_url: str, srv: LocalServer, pages: int) -> Iterator[list[int]]:
    """Terminate every connection to the test database, over and over, while the crawl runs."""
    name = pg_url.rsplit("/", 1)[1]
    admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    killed: list[int] = []
    done = threading.Event()

    def loop() -> None:
        while not done.wait(0.1):
            if not 0 < srv.hits.total() < pages:
                continue
            with admin.connect() as c:
                rows = c.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :d AND pid <> pg_backend_pid()"
                    ),
                    {"d": name},
                ).all()
            killed.extend(1 for r in rows if r[0])

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield killed
    finally:
        done.set()
        thread.join(5)
        admin.dispose()


@pytest.mark.postgres
def test_connections_killed_mid_cycle_lose_no_snapshot(tmp_path: Path, pg_url: str) -> None:
    Database(pg_url).dispose()  # the schema first
    with LocalServer(_site(16, 500, 1, delay=0.15)) as srv, killing(pg_url, srv, 16) as killed:
        proc = _check(_urls(tmp_path, srv), pg_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert killed, "no connection was killed during the cycle"
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["status"] for r in rows) == ["new"] * 16
    assert _snapshots(pg_url) == 16


def test_a_silent_postgresql_server_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers fails within the connect timeout."""
    monkeypatch.setattr(settings, "PG_CONNECT_TIMEOUT_S", 2)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = sock.getsockname()[1]
    try:
        t = time.monotonic()
        with pytest.raises(DatabaseError, match="cannot open the database"):
            Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
        assert time.monotonic() - t < 8
    finally:
        sock.close()
    assert os.environ.get("POLICY_MONITOR_DATABASE_URL") is None
