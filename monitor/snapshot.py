"""Snapshot storage: content-addressed, compressed bodies and the latest version of a page."""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.document import Document
from monitor.fetch import FetchResult
from monitor.models import Blob, Snapshot, WatchedPage

COMPRESS_LEVEL = 6


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_hash(doc: Document) -> str:
    """Hash of what a reader sees; equal hashes mean a markup- or noise-only edit."""
    return sha256(doc.text.encode("utf-8"))


def latest(session: Session, page_id: int) -> Snapshot | None:
    stmt = select(Snapshot).where(Snapshot.page_id == page_id).order_by(Snapshot.id.desc()).limit(1)
    return session.scalar(stmt)


def compress(body: bytes) -> bytes:
    return zlib.compress(body, COMPRESS_LEVEL)


def put_blob(
    session: Session, body: bytes, digest: str | None = None, compressed: bytes | None = None
) -> str:
    """Store a body once; later identical bodies (any page) reuse the row."""
    digest = digest or sha256(body)
    if session.get(Blob, digest) is None:
        data = compressed if compressed is not None else compress(body)
        session.add(Blob(sha256=digest, size=len(body), data=data))
        session.flush()
    return digest


def compressed_body_of(session: Session, snapshot: Snapshot) -> bytes:
    blob = session.get(Blob, snapshot.content_hash)
    if blob is None:
        raise LookupError(f"blob {snapshot.content_hash} of snapshot {snapshot.id} is missing")
    return blob.data


def body_of(session: Session, snapshot: Snapshot) -> bytes:
    return zlib.decompress(compressed_body_of(session, snapshot))


def _jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if isinstance(v, str | int | float | bool | list | dict)}


def store(
    session: Session,
    page: WatchedPage,
    result: FetchResult,
    doc: Document,
    digest: str,
    text_digest: str | None = None,
    compressed: bytes | None = None,
) -> Snapshot:
    """Add a snapshot for a fetched body whose hash differs from the page's latest."""
    assert result.body is not None
    put_blob(session, result.body, digest, compressed)
    snap = Snapshot(
        page_id=page.id,
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        content_type=result.content_type[:200] or None,
        content_hash=digest,
        text_hash=text_digest or text_hash(doc),
        text=doc.text,
        meta=_jsonable(doc.meta),
        final_url=result.final_url,
    )
    session.add(snap)
    session.flush()
    return snap
