"""The page store: what the chain needs before a page, and saving what it found after.

Pages are loaded many at a time (:func:`load_states`, two queries) and saved a batch per
short transaction, never held open across a fetch. :func:`save` writes the page's state, snapshot, change row, evidence and key-figure
moves, and stages its event drafts; the cycle publishes them when it ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from monitor import outbox
from monitor import snapshot as snapshots
from monitor.chain import PageResult, PageState
from monitor.document import Document
from monitor.event import EventDraft
from monitor.evidence import EvidenceDraft, Registry
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import (
    Blob,
    ChangeRecord,
    Commitment,
    Evidence,
    KeyFigure,
    KeyFigureHistory,
    Snapshot,
    Source,
    WatchedPage,
)
from monitor.watchlist import ensure_pages
from monitor.worker import PageWork

DIFF_EXCERPT_LINES = 12  # lines of the plain-text diff carried in an alert
# Core statements on the tables, not the ORM classes: no autoflush, no ORM bulk machinery
_SNAPSHOT = cast(Table, Snapshot.__table__)
_PAGE = cast(Table, WatchedPage.__table__)
_INSERT_SNAPSHOT = insert(_SNAPSHOT).returning(_SNAPSHOT.c.id)
_INSERT_SNAPSHOTS = insert(_SNAPSHOT)
_INSERT_BLOB = insert(cast(Table, Blob.__table__))


def load_state(session: Session, result: FetchResult) -> PageState:
    """The page as stored; the latest body is read only when the new one differs."""
    target = result.target
    states = load_states(session, [target]) if target.page_id else {}
    if target.page_id not in states:
        raise LookupError(f"no watched page for {target.url}")
    return with_old_body(partial(snapshots.stored_body, session), states[target.page_id], result)


def load_states(session: Session, targets: Sequence[FetchTarget]) -> dict[int, PageState]:
    """The stored states of many pages in two queries (no bodies: see :func:`with_old_body`)."""
    kinds = {t.page_id: t.kind for t in targets if t.page_id}
    if not kinds:
        return {}
    ids = list(kinds)
    pages = session.execute(
        select(
            WatchedPage.id,
            WatchedPage.url,
            WatchedPage.title,
            WatchedPage.final_url,
            WatchedPage.consecutive_failures,
            WatchedPage.consecutive_gone,
            WatchedPage.removed_at,
            Source.name,
            Source.kind,
        )
        .outerjoin(Source, Source.id == WatchedPage.source_id)
        .where(WatchedPage.id.in_(ids))
    )
    newest = (
        select(func.max(Snapshot.id)).where(Snapshot.page_id.in_(ids)).group_by(Snapshot.page_id)
    )
    latest = {
        row.page_id: row
        for row in session.execute(
            select(
                Snapshot.page_id,
                Snapshot.id,
                Snapshot.content_hash,
                Snapshot.text_hash,
                Snapshot.content_type,
            ).where(Snapshot.id.in_(newest))
        )
    }
    out: dict[int, PageState] = {}
    for p in pages:
        snap = latest.get(p.id)
        out[p.id] = PageState(
            page_id=p.id,
            url=p.url,
            title=p.title,
            source=p.name or "",
            kind=p.kind or kinds[p.id],
            final_url=p.final_url,
            consecutive_failures=p.consecutive_failures or 0,
            consecutive_gone=p.consecutive_gone or 0,
            removed=p.removed_at is not None,
            snapshot_id=snap.id if snap else None,
            content_hash=snap.content_hash if snap else None,
            text_hash=snap.text_hash if snap else None,
            content_type=(snap.content_type or "") if snap else "",
        )
    return out


def needs_old_body(state: PageState, result: FetchResult) -> bool:
    """Whether the fetched body is new and differs from a stored version (to compare with)."""
    return state.snapshot_id is not None and result.ok and result.digest != state.content_hash


def with_old_body(read: snapshots.BlobRead, state: PageState, result: FetchResult) -> PageState:
    """The state with its latest body (compressed, ``read`` by hash) if the new one differs."""
    if not needs_old_body(state, result):
        return state
    assert state.content_hash is not None
    body_z = read(state.content_hash)
    if body_z is None:
        raise LookupError(f"blob {state.content_hash} of snapshot {state.snapshot_id} is missing")
    return replace(state, body_z=body_z)


def load_pages(session: Session, page_ids: Iterable[int]) -> list[WatchedPage]:
    """A batch's pages and their sources in two queries (hold the list: the session's map of
    loaded rows is weak, and :func:`save` finds them there without a query)."""
    ids = list(set(page_ids))
    if not ids:
        return []
    stmt = select(WatchedPage).where(WatchedPage.id.in_(ids))
    return list(session.scalars(stmt.options(selectinload(WatchedPage.source))))


def _update_page(session: Session, page: WatchedPage, values: dict[str, Any]) -> None:
    """One UPDATE of the page's columns, and the loaded object told the new values (so what
    reads it later in this session sees them) without the ORM's unit of work."""
    if not values:
        return
    session.execute(update(_PAGE).where(_PAGE.c.id == page.id).values(values))
    for column, value in values.items():
        set_committed_value(page, column, value)


def update_pages(session: Session, updates: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Write many pages' own columns (a 304, the same bytes, a failure): one executemany per
    set of columns, with no ORM objects loaded. A page deleted meanwhile updates no row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for page_id, values in updates:
        groups.setdefault(tuple(sorted(values)), []).append({"_id": page_id, **values})
    for columns, rows in groups.items():
        stmt = (
            update(_PAGE)
            .where(_PAGE.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in columns})
        )
        session.execute(stmt, rows)


def existing_blobs(session: Session, digests: Iterable[str]) -> set[str]:
    """Which of these bodies are stored already (one query for a batch of pages)."""
    wanted = list(set(digests))
    if not wanted:
        return set()
    return set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted))))


def load_registry(session: Session) -> Registry | None:
    """The registry as it stands now, or None when no commitment is tracked."""
    from monitor.commitment import all_commitments, to_spec

    rows = all_commitments(session)
    return Registry.of([to_spec(r) for r in rows]) if rows else None


def save(
    session: Session,
    cycle: str,
    state: PageState,
    found: PageResult,
    *,
    blobs: set[str] | None = None,
) -> list[FetchTarget]:
    """Write one page's result; returns the new attachments to fetch in this same cycle.

    ``blobs``: the digests known to be stored (:func:`existing_blobs`), kept up to date here,
    so a batch of pages asks for them once rather than once a page.
    """
    page = session.get(WatchedPage, state.page_id)
    if page is None:
        raise LookupError(f"no watched page for {state.url}")
    _update_page(session, page, found.updates)
    drafts = list(found.events)
    if found.document is not None and found.work is not None and found.result is not None:
        snap_id, digest = _snapshot(session, page, found, blobs)
        if found.analysis is not None and state.snapshot_id is not None:
            row = _change(session, page, state.snapshot_id, snap_id, found)
            found.outcome.change_id = row.id
            _fill_ids(drafts, row, digest, found)
            record_implications(session, page, row, found.evidence, drafts)
    new_targets = _attachments(session, page, found.attachments, drafts)
    outbox.stage(session, cycle, drafts)
    return new_targets  # flushed by the caller's savepoint or commit


def is_plain(found: PageResult) -> bool:
    """A new version and nothing else: a first version, or a markup-only edit (no change
    row, no event, no linked file to add). Many of these are written by :func:`save_plain`."""
    return (
        found.document is not None
        and found.work is not None
        and found.result is not None
        and found.result.body is not None
        and found.analysis is None
        and not found.events
        and not found.attachments
    )


def save_plain(
    session: Session, items: Sequence[tuple[PageState, PageResult]], blobs: set[str]
) -> None:
    """Write many pages' new versions (all :func:`is_plain`) in three executemany: bodies
    not yet in ``blobs`` (the caller adds them once this went through), snapshots, pages."""
    now = datetime.now(UTC)
    new_blobs: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for state, found in items:
        result, work, doc = found.result, found.work, found.document
        assert result is not None and work is not None and doc is not None
        assert result.body is not None and result.digest is not None
        digest = result.digest
        if digest not in blobs and digest not in new_blobs:
            new_blobs[digest] = snapshots.blob_row(result.body, digest, work.body_z, work.body_size)
        rows.append(_snapshot_row(state.page_id, result, work, doc, now))
    if new_blobs:
        session.execute(_INSERT_BLOB, list(new_blobs.values()))
    if rows:
        session.execute(_INSERT_SNAPSHOTS, rows)
    update_pages(session, [(state.page_id, found.updates) for state, found in items])


def _snapshot_row(
    page_id: int, result: FetchResult, work: PageWork, doc: Document, now: datetime
) -> dict[str, Any]:
    return {
        "page_id": page_id,
        "fetched_at": now,
        "http_status": result.status,
        "etag": result.etag,
        "last_modified": result.last_modified,
        "content_type": result.content_type[:200] or None,
        "content_hash": result.digest,
        "text_hash": work.text_hash,
        "text": doc.text,
        "meta": snapshots.jsonable(doc.meta),
        "final_url": result.final_url,
    }


def _snapshot(
    session: Session, page: WatchedPage, found: PageResult, blobs: set[str] | None
) -> tuple[int, str]:
    """Insert the body (once per content) and the snapshot row; returns (id, content hash).

    Core inserts on the tables, one statement each: a snapshot is written once and never
    changed here, so the ORM (its unit of work, its autoflush) buys nothing.
    """
    result, work, doc = found.result, found.work, found.document
    assert result is not None and work is not None and doc is not None and result.body is not None
    digest = result.digest
    assert digest is not None
    stored = None if blobs is None else digest in blobs
    snapshots.put_blob(
        session, result.body, digest, work.body_z or None, stored=stored, size=work.body_size
    )
    if blobs is not None:
        blobs.add(digest)
    row = _snapshot_row(page.id, result, work, doc, datetime.now(UTC))
    snap_id = session.scalar(_INSERT_SNAPSHOT, row)
    assert snap_id is not None
    return int(snap_id), digest


def _change(
    session: Session, page: WatchedPage, previous_id: int, snap_id: int, found: PageResult
) -> ChangeRecord:
    analysis, work = found.analysis, found.work
    assert analysis is not None and work is not None
    row = ChangeRecord(
        page_id=page.id,
        from_snapshot_id=previous_id,
        to_snapshot_id=snap_id,
        meaningful=analysis.meaningful,
        significance=analysis.significance,
        summary=analysis.summary,
        diff=work.diff,
        changes=[c.to_json() | {"section": c.section} for c in analysis.changes],
        ignored=[{"reason": i.reason, "text": i.text} for i in analysis.ignored],
    )
    session.add(row)
    session.flush()
    return row


def _excerpt(diff: str) -> str:
    lines = [ln for ln in diff.splitlines() if ln.startswith(("- ", "+ "))]
    cut = lines[:DIFF_EXCERPT_LINES]
    return "\n".join(ln[:300] for ln in cut) + ("\n…" if len(lines) > len(cut) else "")


def _fill_ids(
    drafts: list[EventDraft], row: ChangeRecord, content_hash: str, found: PageResult
) -> None:
    """Give the drafts the ids only the database knows."""
    excerpt = _excerpt(found.work.diff if found.work else "")
    ids: dict[str, Any] = {
        "change_id": row.id,
        "from_snapshot_id": row.from_snapshot_id,
        "to_snapshot_id": row.to_snapshot_id,
        "content_hash": content_hash,
        "diff_excerpt": excerpt,
    }
    for d in drafts:
        if d.kind != "page_moved":
            d.change_id = row.id
            d.payload = {**d.payload, **ids}


def record_implications(
    session: Session,
    page: WatchedPage,
    row: ChangeRecord,
    evidence: list[EvidenceDraft],
    drafts: list[EventDraft],
) -> None:
    """Store a change's evidence and key-figure moves; point its drafts at the evidence."""
    now = datetime.now(UTC)
    for e in evidence:
        if session.get(Commitment, e.commitment_id) is None:
            continue  # removed from the registry since the cycle began
        seen = select(Evidence.id).where(
            Evidence.commitment_id == e.commitment_id,
            Evidence.change_id == row.id,
            Evidence.change_index == e.change_index,
        )
        if session.scalar(seen) is not None:
            continue  # this change was already tracked (a replayed cycle)
        item = Evidence(
            commitment_id=e.commitment_id,
            date=(row.detected_at or now).date(),
            kind=e.kind,
            change_id=row.id,
            change_index=e.change_index,
            snapshot_id=row.to_snapshot_id,
            url=page.url,
            quote=e.quote,
            score=e.score,
            reason=e.reason,
            suggested_status=e.suggested_status,
        )
        session.add(item)
        session.flush()
        for d in drafts:
            if d.dedup_key == e.event_key or (
                d.payload.get("commitment_id") == e.commitment_id
                and d.dedup_key.endswith(f":{e.change_index}")
            ):
                d.payload = {**d.payload, "evidence_id": item.id}
                if d.kind == "status_suggested":
                    command = (
                        f"policy-monitor commitments confirm {e.commitment_id} "
                        f"{e.suggested_status} --evidence-id {item.id}"
                    )
                    d.payload["confirm"] = command
        if e.figure_key and e.figure_after is not None:
            _move_figure(session, e, row, now)


def _move_figure(session: Session, e: EvidenceDraft, row: ChangeRecord, now: datetime) -> None:
    """Move a stored key figure, but only from the value the chain saw (never over a newer one)."""
    fig = session.scalar(
        select(KeyFigure).where(
            KeyFigure.commitment_id == e.commitment_id, KeyFigure.key == e.figure_key
        )
    )
    if fig is None or e.figure_after is None or _state(fig) != e.figure_before:
        return
    after = e.figure_after
    if fig.kind == "funding":
        fig.amount_gbp, fig.per_year = after.get("amount_gbp"), bool(after.get("per_year"))
    elif fig.kind == "deadline":
        fig.start_date, fig.end_date = _day(after.get("start")), _day(after.get("end"))
    else:
        fig.value = after.get("value")
    fig.updated_at = now
    session.add(
        KeyFigureHistory(
            figure_id=fig.id,
            recorded_at=now,
            change_id=row.id,
            snapshot_id=row.to_snapshot_id,
            before=e.figure_before or {},
            after=after,
            quote=e.quote,
        )
    )


def _state(fig: KeyFigure) -> dict[str, Any]:
    if fig.kind == "funding":
        return {"amount_gbp": fig.amount_gbp, "per_year": fig.per_year}
    if fig.kind == "deadline":
        return {"start": _iso(fig.start_date), "end": _iso(fig.end_date)}
    return {"value": fig.value, "unit": fig.unit}


def _iso(d: Any) -> str | None:
    return d.isoformat() if d else None


def _day(value: Any) -> Any:
    from datetime import date

    return date.fromisoformat(str(value)[:10]) if value else None


def _attachments(
    session: Session, page: WatchedPage, urls: list[str], drafts: list[EventDraft]
) -> list[FetchTarget]:
    """Linked files not yet watched become watched pages, fetched later in the same cycle."""
    if not urls or page.source is None:
        return []
    known = set(session.scalars(select(WatchedPage.url).where(WatchedPage.url.in_(urls))))
    fresh = [u for u in urls if u not in known]
    if not fresh:
        return []
    added = ensure_pages(session, page.source, fresh)
    for a in added:
        title = f"attachment of {page.title or page.url}"
        drafts.append(
            EventDraft(
                "page_new",
                f"page_new:{a.url}",
                {"url": a.url, "title": title, "source": page.source.name},
                page_id=a.id,
            )
        )
    kind = page.source.kind if isinstance(page.source, Source) else "generic"
    return [FetchTarget(url=a.url, page_id=a.id, kind=kind) for a in added]
