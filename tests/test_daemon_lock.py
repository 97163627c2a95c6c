"""One scheduler per database: the lock, its holder, and a lock cut from under the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from monitor.db import Database
from monitor.runlock import LockHeld, acquire, holder


def test_second_scheduler_is_refused_and_named(db_url: str) -> None:
    db = Database(db_url)
    assert holder(db) is None
    lock = acquire(db)
    try:
        assert lock.healthy()
        who = holder(db)
        assert who is not None and f"pid {os.getpid()}" in who
        other = Database(db_url)
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
            acquire(other)
        other.dispose()
    finally:
        lock.release()
    assert holder(db) is None
    again = acquire(db)  # released: the next scheduler gets it
    again.release()
    db.dispose()


def test_lock_of_a_killed_process_is_free(db_url: str) -> None:
    """The OS (SQLite) or the server (PostgreSQL) drops the lock when its holder dies."""
    code = (
        "import os, sys\n"
        "from monitor.db import Database\n"
        "from monitor.runlock import acquire\n"
        f"lock = acquire(Database({db_url!r}))\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    db = Database(db_url)
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            who = holder(db)
            assert who is not None and f"pid {proc.pid}" in who
            with pytest.raises(LockHeld):
                acquire(db)
        finally:
            proc.kill()
    for _ in range(50):  # PostgreSQL notices the dead connection within moments
        if holder(db) is None:
            break
        time.sleep(0.1)
    lock = acquire(db)
    lock.release()
    db.dispose()


@pytest.mark.postgres
def test_a_cut_connection_is_a_lost_lock(pg_url: str) -> None:
    db = Database(pg_url)
    lock = acquire(db)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE 'policy-monitor run%' AND datname = current_database()"
            )
        )
    admin.dispose()
    assert not lock.healthy()
    lock.release()  # the connection is gone: releasing neither raises nor hangs
    again = acquire(db)
    again.release()
    db.dispose()
