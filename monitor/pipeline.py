"""The per-page chain: fetch result -> snapshot -> normalise -> diff -> typed changes -> events.

:class:`Recorder` is the one place the stages are joined. It is fed fetch results as they
arrive, writes in batches, and reports one :class:`PageOutcome` per page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import snapshot as snapshots
from monitor.attachments import attachment_urls
from monitor.change import Analysis
from monitor.db import Database
from monitor.event import emit
from monitor.fetch import FetchResult
from monitor.models import ChangeRecord, Snapshot, WatchedPage
from monitor.watchlist import ensure_pages
from monitor.worker import PageJob, PageWork, compute, run_job

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
_T = TypeVar("_T")


@dataclass
class _Step:
    """A result between its two database steps, with the CPU job it is waiting on."""

    page_id: int
    result: FetchResult
    digest: str
    previous_id: int | None
    job: PageJob


def _keep_validators(page: WatchedPage, result: FetchResult) -> None:
    if result.etag or result.last_modified:
        page.etag, page.last_modified = result.etag, result.last_modified


class Recorder:
    """Turns fetch results into stored snapshots, changes and outbox events."""

    def __init__(
        self,
        db: Database,
        *,
        failures_before_removed: int = 3,
        batch_size: int = 100,
        on_change: ChangeHook | None = None,
        allowed_domains: list[str] | None = None,
    ) -> None:
        self.db = db
        self.failures_before_removed = failures_before_removed
        self.batch_size = batch_size
        self.on_change = on_change
        self.allowed_domains = allowed_domains or []
        self._session: Session | None = None
        self._pending = 0
        self.changed: list[tuple[int, int, Analysis]] = []  # (page_id, change_id, analysis)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.db._sessions()
        return self._session

    def record(self, result: FetchResult) -> PageOutcome:
        """Store one result, doing the CPU work inline."""
        step = self._guard(result, self._begin)
        if isinstance(step, PageOutcome):
            return self._done(step)
        return self._done(self._guard(result, lambda _: self._finish(step, compute(step.job))))

    async def record_async(self, result: FetchResult, pool: Executor | None) -> PageOutcome:
        """Store one result, doing the CPU work in ``pool`` while the crawl goes on."""
        step = self._guard(result, self._begin)
        if isinstance(step, PageOutcome):
            return self._done(step)
        try:
            work = await run_job(pool, step.job)
        except Exception as exc:  # a body that crashes the normaliser is one page's error
            log.exception("failed to analyse %s", result.target.url)
            return self._done(
                PageOutcome(result.target.url, "error", error=f"analysis failed: {exc}")
            )
        return self._done(self._guard(result, lambda _: self._finish(step, work)))

    def _guard(self, result: FetchResult, fn: Callable[[FetchResult], _T]) -> _T | PageOutcome:
        """Run one database step in a savepoint: a failure undoes this page's writes only."""
        try:
            with self.session.begin_nested():
                return fn(result)
        except Exception as exc:  # one bad page must not lose the others
            log.exception("failed to record %s", result.target.url)
            return PageOutcome(result.target.url, "error", error=f"internal error: {exc}")

    def _done(self, outcome: PageOutcome | _Step) -> PageOutcome:
        assert isinstance(outcome, PageOutcome)
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

    def _begin(self, result: FetchResult) -> PageOutcome | _Step:
        """Database step before the CPU work: page state, validators, content-hash dedup."""
        session = self.session
        page = self._page(session, result)
        page.last_checked_at = datetime.now(UTC)
        page.last_status = result.status or None
        if result.error is not None or not (result.ok or result.not_modified):
            return self._failure(session, page, result)
        if page.removed_at is not None:
            page.removed_at = None
        page.consecutive_failures = 0
        page.consecutive_gone = 0
        if result.not_modified:
            return PageOutcome(page.url, "unchanged")
        assert result.body is not None
        self._note_move(session, page, result)
        digest = snapshots.sha256(result.body)
        previous = snapshots.latest(session, page.id)
        if previous is not None and previous.content_hash == digest:
            _keep_validators(page, result)
            return PageOutcome(page.url, "unchanged")
        target = result.target
        job = PageJob(
            page.url,
            result.body,
            result.content_type,
            snapshots.compressed_body_of(session, previous) if previous else None,
            (previous.content_type or "") if previous else "",
            previous.text_hash if previous else None,
            site=target.kind,
            normaliser=target.normaliser,
        )
        return _Step(page.id, result, digest, previous.id if previous else None, job)

    def _finish(self, step: _Step, work: PageWork) -> PageOutcome:
        """Database step after the CPU work: snapshot, change row, events."""
        session = self.session
        page = session.get(WatchedPage, step.page_id)
        assert page is not None
        snap = snapshots.store(
            session, page, step.result, work.doc, step.digest, work.text_hash, work.body_z or None
        )
        # Only now: had the validators been saved before the body, a failed analysis would
        # turn every later fetch into a 304 and the change would never be recorded.
        _keep_validators(page, step.result)
        if work.doc.meta.get("attachments") and self.allowed_domains:
            self._watch_attachments(session, page, work.doc.meta)
        if step.previous_id is None:
            if work.doc.title and not page.title:
                page.title = work.doc.title[:500]
            return PageOutcome(page.url, "new", summary=work.doc.title)
        if work.analysis is None:
            return PageOutcome(page.url, "noise", summary="markup or metadata only")
        return self._compare(session, page, step.previous_id, snap, work)

    def _compare(
        self, session: Session, page: WatchedPage, previous_id: int, snap: Snapshot, work: PageWork
    ) -> PageOutcome:
        analysis = work.analysis
        assert analysis is not None
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
        if not analysis.meaningful:
            return PageOutcome(page.url, "noise", summary=analysis.summary)
        emit(
            session,
            "page_changed",
            f"page_changed:{page.id}:{snap.id}",
            {
                "url": page.url,
                "title": page.title or work.doc.title,
                "summary": analysis.summary,
                "significance": analysis.significance,
                "reasons": analysis.reasons,
                "changes": row.changes,
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
            changes=[c.to_json() for c in analysis.changes],
            summary=analysis.summary,
            significance=analysis.significance,
            change_id=row.id,
        )

    def _watch_attachments(self, session: Session, page: WatchedPage, meta: dict[str, Any]) -> None:
        """PDFs and documents linked from a watched page are watched too, from the next cycle."""
        urls = attachment_urls(meta, page.url, self.allowed_domains)
        if not urls:
            return
        known = set(session.scalars(select(WatchedPage.url).where(WatchedPage.url.in_(urls))))
        fresh = [u for u in urls if u not in known]
        if not fresh or page.source is None:
            return
        for added in ensure_pages(session, page.source, fresh):
            emit(
                session,
                "page_new",
                f"page_new:{added.url}",
                {"url": added.url, "title": f"attachment of {page.title or page.url}"},
                page_id=added.id,
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
                # page.final_url already stops a repeat; the time lets a later move back
                # and forth alert again instead of colliding with the first one's key
                f"page_moved:{page.id}:{final}:{page.last_checked_at}",
                {"url": page.url, "from": page.final_url or page.url, "to": final},
                page_id=page.id,
            )
            page.final_url = final

    def _failure(self, session: Session, page: WatchedPage, result: FetchResult) -> PageOutcome:
        page.consecutive_failures = (page.consecutive_failures or 0) + 1
        error = result.error or f"HTTP {result.status}"
        # Only an unbroken run of 404/410 answers means "removed"; a timeout or a 5xx in
        # between says nothing about the page being gone, so it restarts the count.
        gone = result.status in REMOVED_STATUSES
        page.consecutive_gone = (page.consecutive_gone or 0) + 1 if gone else 0
        if (
            gone
            and page.removed_at is None
            and page.consecutive_gone >= self.failures_before_removed
        ):
            page.removed_at = datetime.now(UTC)
            emit(
                session,
                "page_removed",
                f"page_removed:{page.id}:{page.removed_at.isoformat()}",
                {"url": page.url, "status": result.status, "failures": page.consecutive_gone},
                page_id=page.id,
            )
            error = f"{error}; page removed after {page.consecutive_gone} failed checks"
        return PageOutcome(page.url, "error", error=error)
