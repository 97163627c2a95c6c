"""snapshot.BlobReader: old bodies read on one kept connection, no transaction left open."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text

from monitor import snapshot as snapshots
from monitor.body import decompress
from monitor.db import Database


def _stored(db: Database, *bodies: bytes) -> list[str]:
    with db.session() as s:
        return [snapshots.put_blob(s, b) for b in bodies]


def test_reads_stored_bodies_and_none_for_an_unknown_hash(db_url: str) -> None:
    db = Database(db_url)
    first, second = _stored(db, b"<p>one</p>", b"<p>two</p>")
    read = snapshots.BlobReader(db.engine)
    try:
        assert decompress(read(first) or b"") == b"<p>one</p>"
        assert decompress(read(second) or b"") == b"<p>two</p>"
        assert read("0" * 64) is None
        # a body stored after the reader connected is seen: no read snapshot is kept
        (third,) = _stored(db, b"<p>three</p>")
        assert decompress(read(third) or b"") == b"<p>three</p>"
    finally:
        read.close()
        db.dispose()


def test_no_transaction_is_held_between_reads(db_url: str) -> None:
    db = Database(db_url)
    (digest,) = _stored(db, b"<p>body</p>")
    read = snapshots.BlobReader(db.engine)
    try:
        read(digest)
        assert read.conn is not None
        assert not read.conn.in_transaction()
        dbapi = read.conn.connection.dbapi_connection
        if db.engine.dialect.name == "sqlite":
            assert dbapi is not None and not dbapi.in_transaction
            # a writer's checkpoint can copy the whole log back: no reader pins it
            other = sqlite3.connect(db.engine.url.database or "")
            try:
                busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                other.close()
            assert busy == 0
        else:
            with db.engine.connect() as c:
                pid = read.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                read.conn.rollback()
                state = c.execute(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                ).scalar_one()
            assert state == "idle"
    finally:
        read.close()
        db.dispose()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced(pg_url: str) -> None:
    db = Database(pg_url)
    (digest,) = _stored(db, b"<p>kept</p>")
    read = snapshots.BlobReader(db.engine)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        read(digest)
        assert read.conn is not None
        pid = read.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        read.conn.rollback()
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert decompress(read(digest) or b"") == b"<p>kept</p>"
        assert read.conn is not None
        assert read.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    finally:
        read.close()
        admin.dispose()
        db.dispose()
