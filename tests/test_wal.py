"""SQLite's log is checkpointed by a background thread, never by the committing connection."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor import wal
from monitor.db import CHECKPOINTERS, Database


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _write(db: Database, rows: int, start: int = 0) -> None:
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)"))
    for i in range(start, start + rows):
        with db.session() as s:
            s.execute(text("INSERT INTO t VALUES (:k, :v)"), {"k": i, "v": b"x" * 20_000})


def _frames(path: Path) -> tuple[int, int]:
    """(frames in the log, frames of it already copied into the database)."""
    conn = sqlite3.connect(path)
    try:
        _busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log, done
    finally:
        conn.close()


def test_commits_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.connect() as conn:  # automatic checkpoints are off on our connections
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    checkpointer = CHECKPOINTERS[db.engine]
    _write(db, 300)  # 6 MB: the default would have checkpointed in the writer
    assert _wait(lambda: checkpointer.runs > 0)
    db.dispose()
    assert db.engine not in CHECKPOINTERS
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (300,)
    conn.close()


def test_dispose_checkpoints_what_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal, "INTERVAL_S", 60.0)  # one checkpoint, then a long wait
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    checkpointer = CHECKPOINTERS[db.engine]
    _write(db, 50)
    assert _wait(lambda: checkpointer.runs == 1)
    time.sleep(0.2)
    assert checkpointer.runs == 1  # fifty commits, one checkpoint: none done by a commit
    started = time.monotonic()
    db.dispose()
    assert time.monotonic() - started < 10  # the thread's wait does not hold up the stop
    assert checkpointer.runs == 2  # the last one, for what came after the first
    log, done = _frames(path)
    assert log == done


def test_an_idle_thread_ends_and_the_next_commit_restarts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal, "IDLE_EXIT_S", 0.2)
    monkeypatch.setattr(wal, "INTERVAL_S", 0.0)
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    checkpointer = CHECKPOINTERS[db.engine]
    _write(db, 2)
    first = checkpointer._thread
    assert first is not None and _wait(lambda: not first.is_alive())
    before = checkpointer.runs
    _write(db, 2, start=2)
    assert checkpointer._thread is not first and _wait(lambda: checkpointer.runs > before)
    db.dispose()


def test_memory_databases_have_no_thread() -> None:
    db = Database("sqlite:///:memory:")
    assert db.engine not in CHECKPOINTERS
    db.dispose()
