"""Helpers for the commitment tests: throwaway databases and stored changes to replay."""

from __future__ import annotations

import hashlib
import os
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor.change import Analysis, Change
from monitor.db import Database
from monitor.models import Blob, ChangeRecord, Snapshot, WatchedPage

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
PG_ADMIN_URL = os.environ.get(
    "POLICY_MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CRISIS_URL = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except OperationalError as exc:
        return str(exc).splitlines()[0]


@contextmanager
def temp_pg_database() -> Iterator[str]:
    """Create ``pm_test_<random>`` beside the admin database; drop it afterwards."""
    name = f"pm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def open_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """Yield a migrated database on ``backend`` ('sqlite' or 'postgresql')."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'commitments.db'}")
        yield db
        db.dispose()
        return
    problem = pg_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {problem}")
    with temp_pg_database() as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def corpus_dir() -> Path:
    """The shared corpus, or a skip with the reason."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (it lives beside the repository)")
    return CORPUS


def _snapshot(session: Session, page: WatchedPage, body: str) -> Snapshot:
    raw = body.encode()
    digest = hashlib.sha256(raw).hexdigest()
    if session.get(Blob, digest) is None:
        session.add(Blob(sha256=digest, size=len(raw), data=zlib.compress(raw)))
    snap = Snapshot(
        page_id=page.id, http_status=200, content_hash=digest, text_hash=digest, text=body, meta={}
    )
    session.add(snap)
    session.flush()
    return snap


def store_change(
    session: Session, url: str, changes: list[Change], *, old: str = "old", new: str = "new"
) -> tuple[WatchedPage, ChangeRecord, Analysis]:
    """Store a page, two snapshots and a change row as the pipeline would."""
    page = session.query(WatchedPage).filter_by(url=url).one_or_none()
    if page is None:
        page = WatchedPage(url=url, active=True, consecutive_failures=0)
        session.add(page)
        session.flush()
    before, after = _snapshot(session, page, old), _snapshot(session, page, new)
    analysis = Analysis(True, 0.8, f"{len(changes)} change(s)", changes)
    row = ChangeRecord(
        page_id=page.id,
        from_snapshot_id=before.id,
        to_snapshot_id=after.id,
        meaningful=True,
        significance=0.8,
        summary=analysis.summary,
        diff="",
        changes=[c.to_json() for c in changes],
        ignored=[],
    )
    session.add(row)
    session.flush()
    return page, row, analysis
