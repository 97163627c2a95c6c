"""Helpers for the commitment tests: stored changes to replay."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from monitor import outbox
from monitor.change import Analysis, Change
from monitor.evidence import implications
from monitor.folding import fold
from monitor.models import Blob, ChangeRecord, Event, Evidence, Snapshot, WatchedPage
from monitor.store import load_registry, record_implications

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CRISIS_URL = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"


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


def track(
    session: Session, page: WatchedPage, row: ChangeRecord, analysis: Analysis
) -> list[Event]:
    """What the chain and the store do with a stored change: evidence, figures, events."""
    registry = load_registry(session)
    assert registry is not None
    info = {"id": page.id, "url": page.url, "title": page.title}
    evidence, drafts = implications(registry, info, analysis, f"{page.id}:{row.id}")
    for d in drafts:
        d.change_id = row.id
        d.payload |= {"change_id": row.id, "to_snapshot_id": row.to_snapshot_id}
    record_implications(session, page, row, evidence, drafts)
    ids = outbox.insert(session, fold(drafts))
    for d in drafts:  # as publish does: evidence points at the alert it raised
        for event_id in ids:
            ev = session.get(Event, event_id)
            if ev is not None and ev.dedup_key == d.dedup_key and d.payload.get("evidence_id"):
                item = session.get(Evidence, d.payload["evidence_id"])
                if item is not None and item.event_id is None:
                    item.event_id = ev.id
    session.flush()
    return [e for e in (session.get(Event, i) for i in ids) if e is not None]
