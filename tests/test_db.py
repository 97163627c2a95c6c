"""Migrations on both databases."""

from __future__ import annotations

from cli import policy_monitor
from sqlalchemy import create_engine

from monitor.db import Database, current_revision, downgrade, ensure_schema, table_names, upgrade

CORE = {"source", "watched_page", "blob", "snapshot", "change", "event"}


def test_empty_database_is_upgraded_on_open(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert table_names(db.engine) >= CORE
        assert current_revision(db.engine) is not None
    finally:
        db.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        upgrade(engine)
        head = current_revision(engine)
        downgrade(engine, "base")
        assert not (CORE & table_names(engine))
        assert current_revision(engine) is None
        ensure_schema(engine)
        assert current_revision(engine) == head
        assert table_names(engine) >= CORE
    finally:
        engine.dispose()


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        ensure_schema(engine)
        rev = current_revision(engine)
        ensure_schema(engine)
        assert current_revision(engine) == rev
    finally:
        engine.dispose()


def test_db_commands(db_url: str) -> None:
    def run(*args: str) -> str:
        proc = policy_monitor("db", *args, "--db", db_url)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert run("current") == "empty"
    upgraded = run("upgrade").splitlines()
    head = upgraded[0].removeprefix("database at revision ")
    # on PostgreSQL the task queue's tables come with the schema, once
    assert upgraded[1:] == (
        ["task queue tables created (procrastinate)"] if db_url.startswith("postgresql") else []
    )
    assert run("upgrade").splitlines()[1:] == []
    assert run("current") == head != "empty"
    assert run("downgrade", "base") == "database at revision empty"
