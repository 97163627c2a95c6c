"""The schema check (and, for a new database, its creation) in a forked child process.

A command that opens its database only after importing the crawl (Scrapy, the chain: about
half a second of one core) can have the schema brought to the head meanwhile on the other
core. A new SQLite database's migrations cost about 0.15 s, mostly importing Alembic; the
child is forked only for a database file that does not exist yet (or is empty).

The child does only what :func:`monitor.db.ensure_schema` does, and says nothing: if it
fails in any way, :meth:`SchemaInChild.database` opens the database the usual way, which
does the work again and reports any problem as it always has.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path

from monitor.db import CHECKPOINTERS, Database, ensure_schema, make_engine

log = logging.getLogger(__name__)


class SchemaInChild:
    """Started at once; :meth:`database` waits for the child and opens the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = 0
        # A new SQLite file only: a server that does not answer would be waited for twice
        # (its connect timeout in the child, then here). And fork only from a process with
        # one thread: a lock another thread held at the fork would stay held in the child.
        if (
            not _new_sqlite_file(url)
            or "fork" not in multiprocessing.get_all_start_methods()
            or threading.active_count() > 1
        ):
            return
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os._exit(_upgrade(url))
        self.pid = pid

    def database(self) -> Database:
        """The database, its schema at the head: the child's work used if it succeeded."""
        done = False
        if self.pid:
            pid, self.pid = self.pid, 0
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped elsewhere: its outcome is unknown
                status = -1
            done = status == 0
            if not done:
                log.debug("schema child exited with status %s; checking here", status)
        return Database(self.url, migrate=not done)


def _new_sqlite_file(url: str) -> bool:
    """A SQLite database in a file of its own (not in memory, not a URI's options) that does
    not exist yet, or is empty. An existing one at the head costs one query to check, less
    than forking."""
    if not url.startswith("sqlite:///"):
        return False
    path = url.removeprefix("sqlite:///")
    if not path or path.startswith((":memory:", "file:")) or "?" in path:
        return False
    try:
        return Path(path).expanduser().stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:  # unreadable: the usual path reports it
        return False


def _upgrade(url: str) -> int:
    """The child's work: 0 when the schema is at the head."""
    try:
        # Ctrl-C reaches the whole process group: the parent decides, the child finishes
        # (a migration is one transaction; cut short, the parent's own check redoes it).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        engine = make_engine(url)
        checkpointer = CHECKPOINTERS.pop(engine, None)
        if checkpointer is not None:
            checkpointer.stop(final=False)  # the log is left to the parent's own checkpoints
        try:
            ensure_schema(engine)
        finally:
            engine.dispose()
        return 0
    except BaseException:  # any failure: the parent does it again, and reports it
        return 1
