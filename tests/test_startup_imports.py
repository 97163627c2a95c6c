"""Start-up: the schema head read from the scripts' text, and what a one-page check imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from localserver import LocalServer, Reply
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


RUN_CHECK_AND_REPORT = """
import atexit, sys
from monitor.cli import main
unwanted = ("alembic", "aiohttp", "tldextract", "pypdf", "notifiers", "jinja2", "feedparser")
atexit.register(lambda: print(sorted({m.split(".")[0] for m in sys.modules} & set(unwanted))))
sys.argv = ["policy-monitor", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_one_page_check_imports_no_migrations_notifiers_or_discovery(tmp_path: Path) -> None:
    body = b"<html><body><main><p>Funding of \xc2\xa35 million.</p></main></body></html>"
    with LocalServer({"/p": Reply(body=body, headers={"Content-Type": "text/html"})}) as srv:
        urls = tmp_path / "urls.txt"
        urls.write_text(srv.url("/p") + "\n")
        args = ["check", "--urls", str(urls), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
        runs = [
            subprocess.run(
                [sys.executable, "-c", RUN_CHECK_AND_REPORT, *args, "--output", "jsonl"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            for _ in range(2)
        ]
    first, second = (r.stdout.strip().splitlines() for r in runs)
    assert '"status": "new"' in first[0] and '"status": "unchanged"' in second[0]
    # the empty database was migrated, by a forked child (monitor.schema), not by the check
    assert first[-1] == "[]"
    assert second[-1] == "[]"
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
