"""The page store: what the chain needs before a page, and saving what it found after.

Each page is loaded and saved in its own short transaction, never held open across a
fetch. :func:`save` writes the page's state, snapshot, change row, evidence and key-figure
moves, and stages its event drafts; the cycle publishes them when it ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import outbox
from monitor import snapshot as snapshots
from monitor.body import sha256
from monitor.chain import PageResult, PageState
from monitor.event import EventDraft
from monitor.evidence import EvidenceDraft, Registry
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import (
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

DIFF_EXCERPT_LINES = 12  # lines of the plain-text diff carried in an alert


def load_state(session: Session, result: FetchResult) -> PageState:
    """The page as stored; the latest body is read only when the new one differs."""
    target = result.target
    page = session.get(WatchedPage, target.page_id) if target.page_id else None
    if page is None:
        raise LookupError(f"no watched page for {target.url}")
    source = page.source
    latest = snapshots.latest(session, page.id)
    body_z = None
    body = result.body if result.ok else None
    if latest is not None and body is not None and sha256(body) != latest.content_hash:
        body_z = snapshots.compressed_body_of(session, latest)
    return PageState(
        page_id=page.id,
        url=page.url,
        title=page.title,
        source=source.name if source else "",
        kind=source.kind if source else target.kind,
        final_url=page.final_url,
        consecutive_failures=page.consecutive_failures or 0,
        consecutive_gone=page.consecutive_gone or 0,
        removed=page.removed_at is not None,
        snapshot_id=latest.id if latest else None,
        content_hash=latest.content_hash if latest else None,
        text_hash=latest.text_hash if latest else None,
        content_type=(latest.content_type or "") if latest else "",
        body_z=body_z,
    )


def load_registry(session: Session) -> Registry | None:
    """The registry as it stands now, or None when no commitment is tracked."""
    from monitor.commitment import all_commitments, to_spec

    rows = all_commitments(session)
    return Registry.of([to_spec(r) for r in rows]) if rows else None


def save(session: Session, cycle: str, state: PageState, found: PageResult) -> list[FetchTarget]:
    """Write one page's result; returns the new attachments to fetch in this same cycle."""
    page = session.get(WatchedPage, state.page_id)
    assert page is not None
    for column, value in found.updates.items():
        setattr(page, column, value)
    drafts = list(found.events)
    if found.document is not None and found.work is not None and found.result is not None:
        snap = _snapshot(session, page, found)
        if found.analysis is not None and state.snapshot_id is not None:
            row = _change(session, page, state.snapshot_id, snap, found)
            found.outcome.change_id = row.id
            _fill_ids(drafts, row, snap, found)
            record_implications(session, page, row, found.evidence, drafts)
    new_targets = _attachments(session, page, found.attachments, drafts)
    outbox.stage(session, cycle, drafts)
    session.flush()
    return new_targets


def _snapshot(session: Session, page: WatchedPage, found: PageResult) -> Snapshot:
    result, work, doc = found.result, found.work, found.document
    assert result is not None and work is not None and doc is not None and result.body is not None
    digest = sha256(result.body)
    snapshots.put_blob(session, result.body, digest, work.body_z or None)
    snap = Snapshot(
        page_id=page.id,
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        content_type=result.content_type[:200] or None,
        content_hash=digest,
        text_hash=work.text_hash,
        text=doc.text,
        meta=snapshots.jsonable(doc.meta),
        final_url=result.final_url,
    )
    session.add(snap)
    session.flush()
    return snap


def _change(
    session: Session, page: WatchedPage, previous_id: int, snap: Snapshot, found: PageResult
) -> ChangeRecord:
    analysis, work = found.analysis, found.work
    assert analysis is not None and work is not None
    row = ChangeRecord(
        page_id=page.id,
        from_snapshot_id=previous_id,
        to_snapshot_id=snap.id,
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
    drafts: list[EventDraft], row: ChangeRecord, snap: Snapshot, found: PageResult
) -> None:
    """Give the drafts the ids only the database knows."""
    excerpt = _excerpt(found.work.diff if found.work else "")
    ids: dict[str, Any] = {
        "change_id": row.id,
        "from_snapshot_id": row.from_snapshot_id,
        "to_snapshot_id": snap.id,
        "content_hash": snap.content_hash,
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
