"""monitor.schema: a SQLite database's schema brought to the head in a forked child."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli import policy_monitor
from sqlalchemy import create_engine

from monitor.db import Database, current_revision, downgrade, head_revision

# Opens the database through SchemaInChild in a fresh process and reports whether this
# process itself ran a migration (Alembic's command module is imported only to upgrade).
OPEN = """
import sys
from monitor.schema import SchemaInChild
pending = SchemaInChild(sys.argv[1])
forked = bool(pending.pid)
pending.database().dispose()
print(forked, "alembic.command" in sys.modules)
"""


def _open(url: str) -> tuple[bool, bool]:
    done = subprocess.run(
        [sys.executable, "-c", OPEN, url], capture_output=True, text=True, timeout=60, check=True
    )
    forked, migrated_here = done.stdout.split()
    return forked == "True", migrated_here == "True"


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_a_new_database_is_created_by_the_child(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert _open(url) == (True, False)  # forked; no migration in the parent
    assert _revision(url) == head_revision()


def test_an_existing_database_is_checked_here_and_an_outdated_one_upgraded(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    downgrade(db.engine, "-1")
    db.dispose()
    assert _revision(url) != head_revision()
    assert _open(url) == (False, True)  # no child for an existing file: upgraded here
    assert _revision(url) == head_revision()
    assert _open(url) == (False, False)  # at the head: one query, no Alembic


def test_an_empty_file_is_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert _open(f"sqlite:///{path}") == (True, False)
    assert _revision(f"sqlite:///{path}") == head_revision()


def test_no_child_for_a_database_in_memory_or_behind_a_uri(tmp_path: Path) -> None:
    assert _open("sqlite://")[0] is False
    assert _open("sqlite:///:memory:")[0] is False
    uri = f"sqlite:///file:{tmp_path / 'u.db'}?mode=rwc&uri=true"
    assert _open(uri) == (False, True)  # the parent migrates it itself, as before
    assert _revision(uri) == head_revision()


def test_a_failing_child_leaves_the_error_to_the_parent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    urls = tmp_path / "urls.txt"
    urls.write_text("http://127.0.0.1:9/page\n")
    done = policy_monitor("check", "--urls", str(urls), "--db", f"sqlite:///{blocker}/x/pm.db")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(blocker) in done.stderr
