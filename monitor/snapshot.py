"""Snapshot storage: content-addressed, compressed bodies and the latest version of a page."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from monitor.body import COMPRESS_LEVEL, compress, decompress, sha256
from monitor.document import Document
from monitor.models import Blob, Snapshot

__all__ = [
    "COMPRESS_LEVEL",
    "body_of",
    "compress",
    "jsonable",
    "latest",
    "put_blob",
    "sha256",
    "text_hash",
]


_INSERT_BLOB = insert(
    cast(Table, Blob.__table__)
)  # core, on the table: no autoflush, no ORM bulk step


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
        data = compressed if compressed is not None else compress(body)
        row = {"sha256": digest, "size": size or len(body), "data": data}
        session.execute(_INSERT_BLOB, row)
    return digest


def compressed_body_of(session: Session, snapshot: Snapshot) -> bytes:
    blob = session.get(Blob, snapshot.content_hash)
    if blob is None:
        raise LookupError(f"blob {snapshot.content_hash} of snapshot {snapshot.id} is missing")
    return blob.data


def body_of(session: Session, snapshot: Snapshot) -> bytes:
    return decompress(compressed_body_of(session, snapshot))


def jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool | list | dict)}
