"""Snapshot storage: content-addressed, compressed bodies and the latest version of a page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from monitor.body import COMPRESS_LEVEL, compress, decompress, sha256
from monitor.db import lost_connection
from monitor.document import Document
from monitor.models import Blob, Snapshot

__all__ = [
    "COMPRESS_LEVEL",
    "BlobRead",
    "BlobReader",
    "blob_row",
    "body_of",
    "compress",
    "jsonable",
    "latest",
    "put_blob",
    "sha256",
    "stored_body",
    "text_hash",
]


_BLOB = cast(Table, Blob.__table__)
_INSERT_BLOB = insert(_BLOB)  # core, on the table: no autoflush, no ORM bulk step
# compiled once: through the ORM this one-row read cost four times as much
_BLOB_DATA = select(_BLOB.c.data).where(_BLOB.c.sha256 == bindparam("sha256"))


def stored_body(session: Session | Connection, digest: str) -> bytes | None:
    """The compressed body stored under ``digest``, or None."""
    data: bytes | None = session.execute(_BLOB_DATA, {"sha256": digest}).scalar()
    return data


BlobRead = Callable[[str], bytes | None]  # a stored body (compressed) by its hash


class BlobReader:
    """Stored bodies read on one connection kept open, each read its own short transaction.

    For the old bodies of a cycle's changed pages: a session per read cost about four times
    the read itself. A body's row never changes once written (it is keyed by its hash).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def __call__(self, digest: str) -> bytes | None:
        try:
            return self._read(digest)
        except DBAPIError as exc:
            self.close()
            if not lost_connection(exc):
                raise
        return self._read(digest)  # once more, on a new connection

    def _read(self, digest: str) -> bytes | None:
        if self.conn is None:
            self.conn = self.engine.connect().execution_options(policy_monitor_readonly=True)
        data = stored_body(self.conn, digest)
        self.conn.rollback()  # no read transaction held between reads
        return data

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with suppress(DBAPIError):  # a connection the server dropped is closed all the same
                conn.close()


def text_hash(doc: Document) -> str:
    """Hash of what a reader sees; equal hashes mean a markup- or noise-only edit."""
    return sha256(doc.text.encode("utf-8"))


def latest(session: Session, page_id: int) -> Snapshot | None:
    stmt = select(Snapshot).where(Snapshot.page_id == page_id).order_by(Snapshot.id.desc()).limit(1)
    return session.scalar(stmt)


def put_blob(
    session: Session,
    body: bytes,
    digest: str | None = None,
    compressed: bytes | None = None,
    *,
    stored: bool | None = None,
    size: int = 0,
) -> str:
    """Store a body once; later identical bodies (any page) reuse the row.

    ``stored``: whether the caller already knows the row exists (None: look it up).
    ``size``: the body's length, when ``body`` is still encoded (``compressed`` is then the
    decoded body's stored form).
    """
    digest = digest or sha256(body)
    if stored is None:
        stored = session.get(Blob, digest) is not None
    if not stored:
        session.execute(_INSERT_BLOB, blob_row(body, digest, compressed, size))
    return digest


def blob_row(body: bytes, digest: str, compressed: bytes | None, size: int = 0) -> dict[str, Any]:
    """The ``blob`` row of a body; ``size`` when ``body`` is still encoded (then ``compressed``
    is the decoded body's stored form)."""
    data = compressed if compressed else compress(body)
    return {"sha256": digest, "size": size or len(body), "data": data}


def compressed_body_of(session: Session, snapshot: Snapshot) -> bytes:
    blob = session.get(Blob, snapshot.content_hash)
    if blob is None:
        raise LookupError(f"blob {snapshot.content_hash} of snapshot {snapshot.id} is missing")
    return blob.data


def body_of(session: Session, snapshot: Snapshot) -> bytes:
    return decompress(compressed_body_of(session, snapshot))


def jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool | list | dict)}
