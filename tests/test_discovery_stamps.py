"""Per-URL entry times of discovery (``poll_state.stamps``): the migration, and old state."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from monitor.db import Database, downgrade, ensure_schema, upgrade
from monitor.discover import _Before, _updated
from monitor.polling import Candidate

T = datetime(2025, 3, 5, 10, 0, 5, tzinfo=UTC)


def test_the_stamps_migration_goes_down_and_up(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.db import Base

    ensure_schema(db.engine)
    with db.engine.connect() as conn:  # the migration makes exactly what the model declares
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "poll_state" in repr(d)] == []

    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("poll_state")}

    assert "stamps" in columns()
    downgrade(db.engine, "0007_team")
    assert "stamps" not in columns() and "seen" in columns()
    upgrade(db.engine)
    assert "stamps" in columns()


def test_each_url_is_compared_with_its_own_time() -> None:
    before = _Before(high_water=T, seen=("u", "v"), baseline=False, stamps={"u": T.isoformat()})
    assert not _updated(Candidate("u", updated=T), before)  # the same time: not again
    assert _updated(Candidate("u", updated=T.replace(second=6)), before)
    # an entry dated before the feed's newest, but after its own last time, is updated
    older = _Before(high_water=T, seen=("u",), baseline=False, stamps={"u": "2025-03-05T09:00"})
    assert _updated(Candidate("u", updated=T.replace(hour=9, minute=30)), older)
    assert not _updated(Candidate("u", updated=None), before)  # undated: only a re-crawl


def test_state_from_before_the_stamps_falls_back_to_the_newest_time() -> None:
    legacy = _Before(high_water=T, seen=("v",), baseline=False)
    assert not _updated(Candidate("v", updated=T), legacy)
    assert _updated(Candidate("v", updated=T.replace(second=6)), legacy)
