"""Database engine, sessions and schema migrations (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from monitor import settings

ENV_VAR = settings.DATABASE_ENV
DEFAULT_URL = settings.DATABASE_URL
MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


def resolve_url(explicit: str | None = None, configured: str | None = None) -> str:
    """Pick the database URL: command line, then environment, then config file, then default."""
    url = explicit or os.environ.get(ENV_VAR) or configured or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A second writer (another command, the web app) waits for the lock instead of failing.
    cur.execute(f"PRAGMA busy_timeout={settings.SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()
    # pysqlite starts transactions lazily and on its own terms, which breaks SAVEPOINT;
    # take over: no implicit BEGIN from the driver, we emit it when SQLAlchemy begins.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # A writing transaction takes the write lock up front (IMMEDIATE), where the busy timeout
    # applies: a deferred one that reads and then writes fails at once (SQLITE_BUSY) when
    # another writer committed in between. Our transactions are short, so waiting is cheap.
    # Read-only sessions stay deferred and, in WAL mode, never wait for a writer.
    readonly = conn.get_execution_options().get("policy_monitor_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL and foreign keys, its folder is created if missing."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty or outdated database to the latest schema."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current_revision(engine) != head:
        upgrade(engine)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


class Database:
    """An engine plus a session factory; the one seam through which storage is reached."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            ensure_schema(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(policy_monitor_readonly=True)
        self._readers = sessionmaker(reader, expire_on_commit=False)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A transactional session: committed on success, rolled back on error.

        Keep it short, and never open across network I/O. ``readonly`` sessions do not take
        SQLite's write lock (PostgreSQL needs no such hint).
        """
        with (self._readers if readonly else self._sessions)() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
