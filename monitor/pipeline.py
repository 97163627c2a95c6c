"""The per-page chain: fetch result -> snapshot -> normalise -> diff -> typed changes -> events.

:class:`Recorder` is the one place the stages are joined. It is fed fetch results as they
arrive, writes in batches, and reports one :class:`PageOutcome` per page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor import snapshot as snapshots
from monitor.change import Analysis, analyse
from monitor.db import Database
from monitor.diff import Hunk, diff_documents
from monitor.document import Document
from monitor.event import emit
from monitor.fetch import FetchResult
from monitor.models import ChangeRecord, Snapshot, WatchedPage
from monitor.normalise import normalise

log = logging.getLogger(__name__)

STATUSES = ("new", "changed", "unchanged", "noise", "error")
REMOVED_STATUSES = (404, 410)


@dataclass
class PageOutcome:
    """What one check found for one page (the unit of ``check --output jsonl``)."""

    url: str
    status: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    significance: float = 0.0
    error: str | None = None
    change_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "status": self.status, "changes": self.changes}
        if self.summary:
            out["summary"] = self.summary
        if self.status == "changed":
            out["significance"] = round(self.significance, 3)
        if self.error:
            out["error"] = self.error
        return out


ChangeHook = Callable[[Session, WatchedPage, ChangeRecord, Analysis], object]


def _plain_diff(hunks: list[Hunk]) -> str:
    # TODO(lead): switch to monitor.diff.render_text once it lands
    lines: list[str] = []
    for h in hunks:
        lines += [f"- {x}" for x in h.removed] + [f"+ {x}" for x in h.added] + [""]
    return "\n".join(lines)


def _normalise(page: WatchedPage, body: bytes, content_type: str) -> Document:
    return normalise(body, url=page.url, content_type=content_type)


class Recorder:
    """Turns fetch results into stored snapshots, changes and outbox events."""

    def __init__(
        self,
        db: Database,
        *,
        failures_before_removed: int = 3,
        batch_size: int = 100,
        on_change: ChangeHook | None = None,
    ) -> None:
        self.db = db
        self.failures_before_removed = failures_before_removed
        self.batch_size = batch_size
        self.on_change = on_change
        self._session: Session | None = None
        self._pending = 0
        self.changed: list[tuple[int, int, Analysis]] = []  # (page_id, change_id, analysis)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.db._sessions()
        return self._session

    def record(self, result: FetchResult) -> PageOutcome:
        """Store one result; commits every ``batch_size`` results."""
        session = self.session
        try:
            outcome = self._record(session, result)
        except Exception as exc:  # one bad page must not lose the others
            log.exception("failed to record %s", result.target.url)
            session.rollback()
            self._pending = 0
            return PageOutcome(result.target.url, "error", error=f"internal error: {exc}")
        self._pending += 1
        if self._pending >= self.batch_size:
            self.flush()
        return outcome

    def flush(self) -> None:
        if self._session is not None and self._pending:
            self._session.commit()
        self._pending = 0

    def close(self) -> None:
        self.flush()
        if self._session is not None:
            self._session.close()
            self._session = None

    def _page(self, session: Session, result: FetchResult) -> WatchedPage:
        target = result.target
        page = session.get(WatchedPage, target.page_id) if target.page_id else None
        if page is None:
            raise LookupError(f"no watched page for {target.url}")
        return page

    def _record(self, session: Session, result: FetchResult) -> PageOutcome:
        page = self._page(session, result)
        now = datetime.now(UTC)
        page.last_checked_at = now
        page.last_status = result.status or None
        if result.error is not None or not (result.ok or result.not_modified):
            return self._failure(session, page, result)
        if page.removed_at is not None:
            page.removed_at = None
        page.consecutive_failures = 0
        if result.etag or result.last_modified:
            page.etag, page.last_modified = result.etag, result.last_modified
        if result.not_modified:
            return PageOutcome(page.url, "unchanged")
        assert result.body is not None
        self._note_move(session, page, result)
        digest = snapshots.sha256(result.body)
        previous = snapshots.latest(session, page.id)
        if previous is not None and previous.content_hash == digest:
            return PageOutcome(page.url, "unchanged")
        doc = _normalise(page, result.body, result.content_type)
        snap = snapshots.store(session, page, result, doc, digest)
        if previous is None:
            if doc.title and not page.title:
                page.title = doc.title[:500]
            return PageOutcome(page.url, "new", summary=doc.title)
        if previous.text_hash == snap.text_hash:
            return PageOutcome(page.url, "noise", summary="markup or metadata only")
        return self._compare(session, page, previous, snap, doc)

    def _compare(
        self,
        session: Session,
        page: WatchedPage,
        previous: Snapshot,
        snap: Snapshot,
        doc: Document,
    ) -> PageOutcome:
        old_doc = _normalise(
            page, snapshots.body_of(session, previous), previous.content_type or ""
        )
        analysis = analyse(old_doc, doc)
        row = ChangeRecord(
            page_id=page.id,
            from_snapshot_id=previous.id,
            to_snapshot_id=snap.id,
            meaningful=analysis.meaningful,
            significance=analysis.significance,
            summary=analysis.summary,
            diff=_plain_diff(diff_documents(old_doc, doc)) if analysis.meaningful else "",
            changes=[c.to_json() | {"section": c.section} for c in analysis.changes],
            ignored=[{"reason": i.reason, "text": i.text} for i in analysis.ignored],
        )
        session.add(row)
        session.flush()
        changes = [c.to_json() for c in analysis.changes]
        if not analysis.meaningful:
            return PageOutcome(page.url, "noise", changes=[], summary=analysis.summary)
        emit(
            session,
            "page_changed",
            f"page_changed:{page.id}:{snap.id}",
            {
                "url": page.url,
                "title": page.title or doc.title,
                "summary": analysis.summary,
                "significance": analysis.significance,
                "reasons": analysis.reasons,
                "changes": [c.to_json() | {"section": c.section} for c in analysis.changes],
            },
            page_id=page.id,
            change_id=row.id,
        )
        if self.on_change is not None:
            self.on_change(session, page, row, analysis)
        self.changed.append((page.id, row.id, analysis))
        return PageOutcome(
            page.url,
            "changed",
            changes=changes,
            summary=analysis.summary,
            significance=analysis.significance,
            change_id=row.id,
        )

    def _note_move(self, session: Session, page: WatchedPage, result: FetchResult) -> None:
        final = result.final_url
        if not final or final == result.target.request_url:
            if page.final_url and final == result.target.request_url:
                page.final_url = None
            return
        if page.final_url != final:
            emit(
                session,
                "page_moved",
                f"page_moved:{page.id}:{final}",
                {"url": page.url, "from": page.final_url or page.url, "to": final},
                page_id=page.id,
            )
            page.final_url = final

    def _failure(self, session: Session, page: WatchedPage, result: FetchResult) -> PageOutcome:
        page.consecutive_failures = (page.consecutive_failures or 0) + 1
        error = result.error or f"HTTP {result.status}"
        gone = result.status in REMOVED_STATUSES
        if (
            gone
            and page.removed_at is None
            and page.consecutive_failures >= self.failures_before_removed
        ):
            page.removed_at = datetime.now(UTC)
            emit(
                session,
                "page_removed",
                f"page_removed:{page.id}:{page.removed_at.isoformat()}",
                {"url": page.url, "status": result.status, "failures": page.consecutive_failures},
                page_id=page.id,
            )
            error = f"{error}; page removed after {page.consecutive_failures} failed checks"
        return PageOutcome(page.url, "error", error=error)
