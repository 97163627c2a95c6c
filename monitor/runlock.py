"""One scheduler per database: a lock the daemon holds for as long as it runs.

PostgreSQL: a session advisory lock, held on a dedicated connection whose
``application_name`` names the holder (host and pid), so a second daemon, or ``status``,
can say who has it. The server drops the lock when the connection dies, so a killed daemon
never leaves it behind. SQLite: an OS file lock (``filelock``) on a file beside the database,
with the holder written to a second file beside it; the kernel drops a dead process's lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from monitor.db import Database
from monitor.errors import MonitorError

# pg_try_advisory_lock(int, int): the pair shows in pg_locks as classid, objid
PG_LOCK = (0x504D, 1)  # "PM", the scheduler
APP_PREFIX = "policy-monitor run"

__all__ = ["LockHeld", "RunLock", "acquire", "holder"]


class LockHeld(MonitorError):
    """Another scheduler runs against this database (exit status 2)."""


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _sqlite_file(db: Database) -> Path | None:
    url = make_url(str(db.url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().resolve()


@dataclass
class RunLock:
    """A held scheduler lock; :meth:`release` (or process exit) lets it go."""

    what: str  # "advisory lock on postgresql://..." or the lock file's path
    _conn: Connection | None = None
    _file: Any = None  # a filelock.FileLock
    _info: Path | None = None

    def healthy(self) -> bool:
        """Whether the lock is still held (a PostgreSQL connection can be cut under us)."""
        if self._conn is None:
            return self._file is None or bool(self._file.is_locked)
        try:
            got = self._conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :a AND objid = :b AND pid = pg_backend_pid()"
                ),
                {"a": PG_LOCK[0], "b": PG_LOCK[1]},
            ).scalar()
        except Exception:
            return False
        return bool(got)

    def release(self) -> None:
        if self._conn is not None:
            # a cut connection has lost the lock already; closing it is all that is left
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), _params())
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None:
            if self._info is not None:
                self._info.unlink(missing_ok=True)
            self._file.release()
            self._file = None


def _params() -> dict[str, int]:
    return {"a": PG_LOCK[0], "b": PG_LOCK[1]}


def acquire(db: Database) -> RunLock:
    """Take the scheduler lock of ``db``, or raise :class:`LockHeld` naming the holder."""
    path = _sqlite_file(db)
    if db.engine.dialect.name == "postgresql":
        return _acquire_pg(db)
    if path is None:  # an in-memory database is private to this process
        return RunLock(what="in-memory database (no lock needed)")
    return _acquire_file(path)


def _acquire_pg(db: Database) -> RunLock:
    conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(text("SELECT set_config('application_name', :n, false)"),
                     {"n": f"{APP_PREFIX} ({_me()})"[:63]})  # fmt: skip
        got = conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), _params()).scalar()
    except Exception:
        conn.close()
        raise
    if not got:
        who = _pg_holder(conn)
        conn.close()
        raise LockHeld(f"another scheduler runs against this database: {who or 'unknown holder'}")
    shown = make_url(str(db.url)).render_as_string(hide_password=True)
    return RunLock(what=f"advisory lock on {shown}", _conn=conn)


def _pg_holder(conn: Connection) -> str | None:
    row = conn.execute(
        text(
            "SELECT a.application_name, a.client_addr, a.backend_start, a.pid"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b"
        ),
        _params(),
    ).first()
    if row is None:
        return None
    name, addr, since, pid = row
    where = f" from {addr}" if addr else ""
    started = f", connected since {since:%Y-%m-%d %H:%M:%S %Z}" if since else ""
    return f"{name or 'a client'} (server pid {pid}{where}{started})"


def _lock_paths(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + ".scheduler.lock"), path.with_name(path.name + ".scheduler")


def _acquire_file(path: Path) -> RunLock:
    from filelock import FileLock, Timeout

    lock_path, info = _lock_paths(path)
    lock = FileLock(str(lock_path), timeout=1.0)  # waits out a ``holder()`` look
    try:
        lock.acquire()
    except Timeout:
        raise LockHeld(
            f"another scheduler runs against this database: {_file_holder(info) or 'unknown'} "
            f"(lock file {lock_path})"
        ) from None
    record = {"holder": f"{APP_PREFIX} ({_me()})", "since": datetime.now(UTC).isoformat()}
    info.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return RunLock(what=str(lock_path), _file=lock, _info=info)


def _file_holder(info: Path) -> str | None:
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return f"{data.get('holder')}, since {data.get('since')}"


def holder(db: Database) -> str | None:
    """Who holds the scheduler lock of ``db`` now, or None when no scheduler runs.

    Reads without taking the lock for PostgreSQL; on SQLite it tries the file lock and lets
    it go at once (a scheduler starting in that instant would wait for nothing: it retries).
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            return _pg_holder(conn)
    path = _sqlite_file(db)
    if path is None:
        return None
    from filelock import FileLock, Timeout

    lock_path, info = _lock_paths(path)
    if not lock_path.exists():
        return None
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return _file_holder(info) or "a scheduler (holder unknown)"
    lock.release()
    return None
