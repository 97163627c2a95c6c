"""The task queue's tables (procrastinate's schema) in our PostgreSQL database.

procrastinate ships its schema as one SQL file. It is applied once, when its jobs table is
absent, under an advisory lock so that two workers starting together do not both apply it.
SQLite has no queue: everything runs in-process there.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

SCHEMA_LOCK = 7_302_911  # pg_advisory_xact_lock key: one schema set-up at a time


def has_queue(engine: Engine) -> bool:
    """Whether this database can carry the task queue (PostgreSQL only)."""
    return engine.dialect.name == "postgresql"


def queue_installed(engine: Engine) -> bool:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
    return found is not None


def ensure_queue_schema(engine: Engine) -> bool:
    """Apply procrastinate's schema if it is missing; True when this call applied it.

    Idempotent: a second call, or a second process racing this one, finds the tables and
    does nothing. Not for SQLite (raises ``ValueError``).
    """
    from procrastinate.schema import SchemaManager

    if not has_queue(engine):
        raise ValueError(f"the task queue needs PostgreSQL, not {engine.dialect.name}")
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # psycopg sends a parameterless statement as is: several statements, '%' untouched
        conn.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
    return True
