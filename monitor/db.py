"""Database engine, sessions and schema migrations (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
import os
import re
import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import DatabaseError as SAError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from monitor import settings
from monitor.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from monitor.wal import Checkpointer

ENV_VAR = settings.DATABASE_ENV
DEFAULT_URL = settings.DATABASE_URL
URL_HELP = f"Database URL (default: ${ENV_VAR}, then {DEFAULT_URL})."
MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")
log = logging.getLogger(__name__)

# Driver complaints that mean the database cannot take writes at all (not one bad statement).
_UNWRITABLE = (
    "database or disk is full",
    "disk i/o error",
    "attempt to write a readonly database",
    "no space left on device",
    "could not extend file",
    "read-only transaction",
)


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


class DatabaseURL(str):
    """A database URL (a plain ``str`` to every caller) that remembers where it came from.

    ``origin`` reads "--db", "$POLICY_MONITOR_DATABASE_URL", "database: at FILE:LINE" or
    "the default"; :class:`Database` names it in every error.
    """

    origin: str
    given: str  # as the user wrote it (before "postgresql://" gains its driver)

    def __new__(cls, url: str, origin: str = "", given: str = "") -> DatabaseURL:
        obj = super().__new__(cls, url)
        obj.origin, obj.given = origin, given or url
        return obj


def resolve_url(
    explicit: str | None = None, configured: str | None = None, *, configured_at: str = ""
) -> DatabaseURL:
    """Pick the database URL: command line, then environment, then config file, then default.

    ``configured_at`` ("monitor.yml:3", from ``Config.where("database")``) names the line of
    the config's ``database:`` key in errors.
    """
    env = os.environ.get(ENV_VAR)
    if explicit:
        url, origin = explicit, "--db"
    elif env:
        url, origin = env, f"${ENV_VAR}"
    elif configured:
        url, origin = configured, f"database: at {configured_at}" if configured_at else "database:"
    else:
        url, origin = DEFAULT_URL, "the default"
    given = url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return DatabaseURL(url, origin, given)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _problem(exc: BaseException) -> str:
    """The first line of a driver's complaint, without SQLAlchemy's boilerplate."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).removeprefix(
        "connection failed: "
    )


EXPECTED = "expected sqlite:///FILE or postgresql://USER@HOST/NAME"


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a bad URL or an unreachable server into one :class:`DatabaseError` line."""
    shown = _shown(getattr(url, "given", url))
    where = f"database URL {shown} from {getattr(url, 'origin', '') or 'the caller'}"
    try:
        yield
    except NoSuchModuleError as exc:
        scheme = str(url).partition(":")[0]
        raise DatabaseError(f"{where}: unknown kind of database {scheme!r}; {EXPECTED}") from exc
    except ArgumentError as exc:
        raise DatabaseError(f"{where}: not a database URL; {EXPECTED}") from exc
    except ImportError as exc:
        raise DatabaseError(f"{where}: its driver is not installed ({exc})") from exc
    except OSError as exc:  # the SQLite file's folder cannot be made (a file is in the way...)
        problem = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        raise DatabaseError(f"{where}: cannot open the database: {problem}") from exc
    except DBAPIError as exc:
        # connection-level trouble (refused, unreadable file); a failing statement is a bug
        if not isinstance(exc, OperationalError | InterfaceError) and type(exc) is not SAError:
            raise
        raise DatabaseError(f"{where}: cannot open the database: {_problem(exc)}") from exc
    except Exception as exc:
        if not _alembic_error(exc):
            raise
        raise DatabaseError(f"{where}: {_problem(exc)}") from exc


def _alembic_error(exc: BaseException) -> bool:
    """Whether ``exc`` is Alembic's ``CommandError`` (Alembic is imported only to migrate)."""
    module = sys.modules.get("alembic.util.exc")
    return module is not None and isinstance(exc, module.CommandError)


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


def dialect_insert(dialect: str, table: Any) -> Any:
    """An INSERT for ``table`` with ON CONFLICT, in the dialect's own form.

    Only the dialect in use is imported: loading ``sqlalchemy.dialects.postgresql`` loads
    every PostgreSQL driver's module too (about 60 ms of a SQLite run's start).
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL and foreign keys, its folder is created if missing.

    PostgreSQL gets a connect timeout (an unreachable server fails in seconds, not minutes)
    and a ping on checkout (a connection the server dropped is replaced, not used).
    """
    if (
        url.startswith("sqlite:///")
        and not url.startswith("sqlite:///:memory:")
        and not url.startswith("sqlite:///file:")
    ):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql"):
        engine = create_engine(
            url,
            future=True,
            pool_pre_ping=True,
            connect_args={"connect_timeout": settings.PG_CONNECT_TIMEOUT_S},
        )
    else:
        engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        path = engine.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            from monitor.wal import Checkpointer

            checkpointer = Checkpointer(path)
            CHECKPOINTERS[engine] = checkpointer
            event.listen(engine, "connect", _no_auto_checkpoint)
            event.listen(engine, "commit", checkpointer.after_commit)
    return engine


# The engines whose log a background thread checkpoints (monitor.wal), and their threads.
CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def _no_auto_checkpoint(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's thread does it


def open_engine(url: str) -> Engine:
    """An engine whose database answered once; errors as in :func:`database_errors`."""
    with database_errors(url):
        engine = make_engine(url)
        with engine.connect():
            pass
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser reads "%" as interpolation: escaped, or a percent-encoded URL fails here
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$""", re.M)
_QUOTED = re.compile(r"""^["']([^"']+)["']$""")


def head_revision() -> str | None:
    """The head revision id, read from the scripts' text without importing them.

    Each script in ``migrations/versions`` declares ``revision = "ID"`` and
    ``down_revision = "ID"`` (or ``None``). The head is the one revision no other names as
    its parent. ``None`` when that is not a single plain chain (a merge, a tuple, an
    expression): the caller then asks Alembic itself.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        text = script.read_text("utf-8")
        found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(text)}
        rev = _QUOTED.match(found.get("revision", ""))
        down = found.get("down_revision", "")
        parent = _QUOTED.match(down)
        if rev is None or (parent is None and down != "None"):
            return None
        revisions.add(rev.group(1))
        if parent is not None:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _stored_revisions(engine: Engine) -> list[str]:
    """The revision ids in ``alembic_version`` (none for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return []
        return [row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty or outdated database to the latest schema.

    The usual case, a database already at the head, costs one query and no Alembic import;
    Alembic loads its scripts only when the stored revision is not the head read from them.
    """
    head = head_revision()
    if head is not None and _stored_revisions(engine) == [head]:
        return
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current_revision(engine) != head:
        upgrade(engine)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` means the server dropped the connection (restart, terminated backend)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unwritable(exc: BaseException) -> str | None:
    """The driver's words when ``exc`` means the database cannot be written (disk full...)."""
    if not isinstance(exc, DBAPIError):
        return None
    problem = _problem(exc)
    return problem if any(p in problem.lower() for p in _UNWRITABLE) else None


class Database:
    """An engine plus a session factory; the one seam through which storage is reached."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        with database_errors(url):  # a bad URL or a dead server: one line naming the URL's origin
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
            except BaseException as exc:
                s.rollback()
                problem = unwritable(exc)
                if problem:
                    raise DatabaseError(
                        f"database {_shown(getattr(self.url, 'given', self.url))} cannot take "
                        f"writes: {problem}; the transaction was rolled back, nothing half-written"
                    ) from exc
                raise

    def retrying(self, work: Callable[[Session], T], *, readonly: bool = False) -> T:
        """Run ``work`` in one transaction; once more if the connection was lost mid-way.

        A server restart or ``pg_terminate_backend`` drops the connection under a
        transaction; the pool is invalidated and the same work runs again on a new one.
        ``work`` must have no effects outside the session.
        """
        try:
            with self.session(readonly=readonly) as s:
                return work(s)
        except DBAPIError as exc:
            if not lost_connection(exc):
                raise
            log.warning(
                "database connection lost (%s); running the transaction again", _problem(exc)
            )
        with self.session(readonly=readonly) as s:
            return work(s)

    def dispose(self) -> None:
        self.engine.dispose()
        checkpointer = CHECKPOINTERS.pop(self.engine, None)
        if checkpointer is not None:
            checkpointer.stop()
