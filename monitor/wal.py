"""SQLite's write-ahead log, checkpointed by a background thread rather than by the writer.

In WAL mode a commit appends to the ``-wal`` file; now and then the log is copied back into
the database file and both are synced (a *checkpoint*). By default the connection whose
commit crosses 1,000 pages does that itself, so a cycle that stores 90 MB stalls its event
loop about twenty times. Here every connection of the engine has automatic checkpoints off,
and a commit only wakes a thread that runs a ``PASSIVE`` checkpoint on its own connection (at
most one every :data:`INTERVAL_S`). A passive checkpoint never blocks readers or writers, and
SQLite releases the GIL while it copies and syncs. Durability is unchanged: what a commit
wrote to the log stays there until a checkpoint has copied it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

from monitor import settings

INTERVAL_S = 0.5  # at most one checkpoint this often
IDLE_EXIT_S = 30.0  # a thread with no commit to follow this long ends (the next one restarts it)
log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints one SQLite file's log from a daemon thread, woken by commits."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.runs = 0  # checkpoints done (for tests and metrics)
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def after_commit(self, _conn: object = None) -> None:
        """A commit went into the log: let the thread copy it back in a moment."""
        if self._halt.is_set():
            return
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._start()  # first commit, or a forked child (threads do not survive fork)
        self._wake.set()

    def stop(self, *, final: bool = True) -> None:
        """Stop the thread; with ``final``, checkpoint what is left, here and now."""
        self._halt.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout=30)
        if final:
            self._checkpoint_once()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={settings.SQLITE_BUSY_TIMEOUT_MS}")
        return conn

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wake.wait(IDLE_EXIT_S) or self._halt.is_set():
                    return
                self._wake.clear()
                conn = conn or self._connect()
                self._passive(conn)
                self._halt.wait(INTERVAL_S)  # commits meanwhile are taken by the next one
        except sqlite3.Error as exc:  # the file went away, the disk failed: writers will say
            log.warning("checkpointing %s stopped: %s", self.path, exc)
        finally:
            if conn is not None:
                conn.close()

    def _passive(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.runs += 1

    def _checkpoint_once(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error:
            return
        try:
            self._passive(conn)
        except sqlite3.Error as exc:
            log.warning("checkpointing %s failed: %s", self.path, exc)
        finally:
            conn.close()
