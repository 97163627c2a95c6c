"""The schema check at start-up: the head read from the scripts' text, Alembic only to migrate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from monitor import db as dbmod
from monitor.db import (
    Database,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
)

OPEN_AND_REPORT = """
import sys
from monitor.db import Database
Database(sys.argv[1]).dispose()
print(sorted(m for m in sys.modules if m == "alembic" or m.startswith("alembic.")))
"""


def test_head_read_from_text_is_alembics_head() -> None:
    engine = create_engine("sqlite://")
    try:
        real = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    finally:
        engine.dispose()
    assert real is not None
    assert head_revision() == real


def _open_in_fresh_process(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_REPORT, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_database_at_head_opens_without_alembic(db_url: str) -> None:
    url = db_url.replace("postgresql://", "postgresql+psycopg://")
    assert _open_in_fresh_process(url) != "[]"  # empty: Alembic creates the schema
    assert _open_in_fresh_process(url) == "[]"  # at head: one query, no Alembic


def test_outdated_database_is_upgraded(db_url: str) -> None:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        ensure_schema(engine)
        head = current_revision(engine)
        downgrade(engine, "-1")
        assert current_revision(engine) != head
        ensure_schema(engine)
        assert current_revision(engine) == head
        Database(str(engine.url.render_as_string(hide_password=False))).dispose()
    finally:
        engine.dispose()


def _script(folder: Path, name: str, body: str) -> None:
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    (folder / "versions" / f"{name}.py").write_text(body, encoding="utf-8")


@pytest.mark.parametrize(
    ("scripts", "expected"),
    [
        ({"a": 'revision = "a"\ndown_revision = None\n'}, "a"),
        (
            {
                "a": "revision = 'a'\ndown_revision = None\n",
                "b": 'revision: str = "b"\ndown_revision: str | None = "a"\n',
            },
            "b",
        ),
        (  # two heads: let Alembic decide
            {
                "a": 'revision = "a"\ndown_revision = None\n',
                "b": 'revision = "b"\ndown_revision = "a"\n',
                "c": 'revision = "c"\ndown_revision = "a"\n',
            },
            None,
        ),
        (  # a merge revision names a tuple
            {
                "a": 'revision = "a"\ndown_revision = None\n',
                "b": 'revision = "b"\ndown_revision = ("a", "x")\n',
            },
            None,
        ),
        (  # a parent no script declares
            {"b": 'revision = "b"\ndown_revision = "gone"\n'},
            None,
        ),
        ({"a": "down_revision = None\n"}, None),  # no revision line
    ],
)
def test_head_revision_falls_back_when_unsure(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scripts: dict[str, str],
    expected: str | None,
) -> None:
    for name, body in scripts.items():
        _script(tmp_path, name, body)
    monkeypatch.setattr(dbmod, "MIGRATIONS", tmp_path)
    assert head_revision() == expected
