"""Per-URL entry times of discovery (``poll_state.stamps``): the migration, and old state."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from monitor.db import Database, downgrade, ensure_schema, upgrade
from monitor.entry_times import updated

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
    stamps = {"u": T.isoformat()}
    assert not updated("u", T, stamps, T)  # the same time: not again
    assert updated("u", T.replace(second=6), stamps, T)
    # dated before the feed's newest entry, but after its own last time: updated
    assert updated("u", T.replace(hour=9, minute=30), {"u": "2025-03-05T09:00"}, T)
    assert not updated("u", None, stamps, T)  # undated: only a re-crawl finds changes


def test_state_from_before_the_stamps_falls_back_to_the_newest_time() -> None:
    assert not updated("v", T, {}, T)
    assert updated("v", T.replace(second=6), {}, T)
    assert not updated("v", T, {}, None) and not updated("v", T.replace(second=6), {}, None)
