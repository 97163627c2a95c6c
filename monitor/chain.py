"""One page's whole path, in one function: :func:`follow`.

fetch result -> snapshot -> document -> analysis -> commitment matches -> events, returned
as data. Nothing here touches the database or the network: the store loads a
:class:`PageState` before and saves the :class:`PageResult` after (``monitor.store``), and
the cycle decides what spans pages before any event is written (``monitor.folding``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from monitor import settings
from monitor.attachments import attachment_urls
from monitor.body import sha256
from monitor.change import Analysis
from monitor.document import Document
from monitor.errors import BodyRefused, EmptyBody, PageTooComplex
from monitor.event import EventDraft
from monitor.evidence import EvidenceDraft, Registry, implications
from monitor.fetch import FetchResult
from monitor.folding import change_to_data
from monitor.worker import PageJob, PageWork, compute


@dataclass(frozen=True)
class PageState:
    """What the store knew of a page before this fetch."""

    page_id: int
    url: str
    title: str | None = None
    source: str = ""
    kind: str = "generic"
    final_url: str | None = None
    consecutive_failures: int = 0
    consecutive_gone: int = 0
    removed: bool = False
    snapshot_id: int | None = None  # the latest snapshot, if any
    content_hash: str | None = None
    text_hash: str | None = None
    content_type: str = ""
    body_z: bytes | None = None  # the latest body, loaded only when the new one differs


@dataclass
class PageOutcome:
    """What one check found for one page (the unit of ``check --output jsonl``)."""

    url: str
    status: str  # new, changed, unchanged, noise, error
    changes: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    significance: float = 0.0
    error: str | None = None
    change_id: int | None = None
    title: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "status": self.status, "changes": self.changes}
        if self.summary:
            out["summary"] = self.summary
        if self.status == "changed":
            out["significance"] = round(self.significance, 3)
        if self.error:
            out["error"] = self.error
        if self.matches:
            out["commitments"] = self.matches
        return out


@dataclass
class PageResult:
    """Everything one fetch of one page implies, for the store to save in one transaction."""

    outcome: PageOutcome
    updates: dict[str, Any] = field(default_factory=dict)  # columns of the watched page
    document: Document | None = None  # set when a new snapshot is to be stored
    work: PageWork | None = None
    analysis: Analysis | None = None  # set when a change row is to be stored
    evidence: list[EvidenceDraft] = field(default_factory=list)
    events: list[EventDraft] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # linked files to watch
    result: FetchResult | None = None

    @property
    def digest(self) -> str | None:
        if self.result is None or self.document is None:
            return None
        return self.result.digest


def job_for(result: FetchResult, before: PageState) -> PageJob | None:
    """The CPU work a fetch needs (normalise, compare), or None when it needs none."""
    if not result.ok or result.body is None:
        return None
    if before.content_hash is not None and result.digest == before.content_hash:
        return None  # the same bytes again (a first version is hashed in the worker)
    return PageJob(
        before.url,
        result.body,
        result.content_type,
        before.body_z,
        before.content_type,
        before.text_hash,
        site=result.target.kind,
        normaliser=result.target.normaliser,
        encoding=result.encoding,
        max_size=result.max_size,
        old_content_hash=before.content_hash,
    )


def follow(
    result: FetchResult,
    before: PageState,
    registry: Registry | None = None,
    *,
    now: datetime,
    work: PageWork | None = None,
    allowed_domains: tuple[str, ...] = (),
    failures_before_removed: int = settings.FAILURES_BEFORE_REMOVED,
    failures_before_error: int = settings.FAILURES_BEFORE_ERROR,
) -> PageResult:
    """Follow one fetched page to the events it implies.

    ``work`` is the CPU step done elsewhere (a process pool); without it, it is done here.
    """
    url = before.url
    updates: dict[str, Any] = {"last_checked_at": now, "last_status": result.status or None}
    if result.error is not None or not (result.ok or result.not_modified):
        return _failure(
            result, before, updates, now, failures_before_removed, failures_before_error
        )
    updates |= {"consecutive_failures": 0, "consecutive_gone": 0, "removed_at": None}
    events = _moved(result, before, updates, now)
    if result.not_modified:
        return PageResult(PageOutcome(url, "unchanged"), updates, events=events, result=result)
    assert result.body is not None
    job = job_for(result, before)
    if job is None:  # the same bytes again
        updates |= _validators(result)
        return PageResult(PageOutcome(url, "unchanged"), updates, events=events, result=result)
    try:
        work = work or compute(job)
        if work.body_digest and (result.encoding or "digest" not in vars(result)):
            result.digest = work.body_digest  # hashed where the body was decoded
    except (PageTooComplex, BodyRefused) as exc:  # a failed check, not an empty page
        if isinstance(exc, PageTooComplex):
            error = f"unreadable page: {exc}"
        elif isinstance(exc, EmptyBody):
            error = f"HTTP {result.status} with an empty body"  # as for a body sent plain
        else:
            error = f"unusable body: {exc}"
        unread = FetchResult(result.target, result.status, error=error)
        return _failure(
            unread, before, updates, now, failures_before_removed, failures_before_error
        )
    if work.same_bytes:  # decoded, it was the stored body again
        updates |= _validators(result)
        return PageResult(PageOutcome(url, "unchanged"), updates, events=events, result=result)
    # The validators are saved only with the body: had they been saved without it, a failed
    # analysis would turn every later fetch into a 304 and the change would never be seen.
    updates |= _validators(result)
    out = PageResult(
        PageOutcome(url, "new"), updates, work.doc, work, None, events=events, result=result
    )
    if allowed_domains and work.doc.meta.get("attachments"):
        out.attachments = attachment_urls(work.doc.meta, url, allowed_domains)
    title = before.title or work.doc.title or None
    if before.snapshot_id is None:
        if title and not before.title:
            updates["title"] = title[:500]
        out.outcome.summary = title or ""  # the configured title before the page's own
        return out
    analysis = work.analysis
    if analysis is None:
        out.outcome = PageOutcome(url, "noise", summary="markup or metadata only")
        return out
    out.analysis = analysis
    if not analysis.meaningful:
        out.outcome = PageOutcome(url, "noise", summary=analysis.summary)
        return out
    key_base = f"{before.page_id}:{before.snapshot_id}:{job_digest(result)[:16]}"
    changes = [c.to_json() | {"section": c.section} for c in analysis.changes]
    page = {"id": before.page_id, "url": url, "title": title}
    out.events.append(
        EventDraft(
            "page_changed",
            f"page_changed:{key_base}",
            {
                "url": url,
                "title": title,
                "source": before.source,
                "summary": analysis.summary,
                "significance": analysis.significance,
                "reasons": analysis.reasons,
                "changes": changes,
                "fetched_at": now.isoformat(),
                "diff_excerpt": "",
            },
            page_id=before.page_id,
            site=_site(url),
            changes=[change_to_data(c) for c in analysis.changes],
        )
    )
    if registry is not None:
        out.evidence, commitment_events = implications(registry, page, analysis, key_base)
        for e in commitment_events:
            e.payload |= {"source": before.source, "fetched_at": now.isoformat()}
        out.events.extend(commitment_events)
    matches = [
        {
            "id": e.commitment_id,
            "score": round(e.score, 3),
            "reason": e.reason,
            "change_index": e.change_index,
        }
        for e in out.evidence
    ]
    out.outcome = PageOutcome(
        url,
        "changed",
        [c.to_json() for c in analysis.changes],
        analysis.summary,
        analysis.significance,
        matches=matches,
    )
    return out


def job_digest(result: FetchResult) -> str:
    return result.digest or sha256(b"")


def _site(url: str) -> str:
    return urlsplit(url).netloc


def _validators(result: FetchResult) -> dict[str, Any]:
    if result.etag or result.last_modified:
        return {"etag": result.etag, "last_modified": result.last_modified}
    return {}


def _moved(
    result: FetchResult, before: PageState, updates: dict[str, Any], now: datetime
) -> list[EventDraft]:
    """A redirect to a new address is a move (once per new address); coming back clears it."""
    final, requested = result.final_url, result.target.request_url
    if not final or final == requested:
        if before.final_url and final == requested:
            updates["final_url"] = None
        return []
    if before.final_url == final:
        return []
    updates["final_url"] = final
    return [
        EventDraft(
            "page_moved",
            # the time lets a later move back and forth alert again
            f"page_moved:{before.page_id}:{final}:{now.isoformat()}",
            {
                "url": before.url,
                "from": before.final_url or before.url,
                "to": final,
                "title": before.title,
                "source": before.source,
            },
            page_id=before.page_id,
        )
    ]


def _failure(
    result: FetchResult,
    before: PageState,
    updates: dict[str, Any],
    now: datetime,
    failures_before_removed: int,
    failures_before_error: int = settings.FAILURES_BEFORE_ERROR,
) -> PageResult:
    error = result.error or (
        f"HTTP {result.status} with an empty body" if result.blank else f"HTTP {result.status}"
    )
    # Only an unbroken run of 404/410 answers means "removed"; a timeout or a 5xx in
    # between says nothing about the page being gone, so it restarts the count.
    gone = result.status in settings.REMOVED_STATUSES
    count = before.consecutive_gone + 1 if gone else 0
    failures = before.consecutive_failures + 1
    updates |= {"consecutive_failures": failures, "consecutive_gone": count}
    events = []
    if not gone and failures == failures_before_error:  # once per unbroken run of failures
        events.append(
            EventDraft(
                "page_unreachable",
                f"page_unreachable:{before.page_id}:{now.isoformat()}",
                {
                    "url": before.url,
                    "title": before.title,
                    "status": result.status or None,
                    "failures": failures,
                    "error": error,
                    "summary": f"{failures} failed checks in a row; the last: {error}",
                    "source": before.source,
                },
                page_id=before.page_id,
            )
        )
    if gone and not before.removed and count >= failures_before_removed:
        updates["removed_at"] = now
        events.append(
            EventDraft(
                "page_removed",
                f"page_removed:{before.page_id}:{now.isoformat()}",
                {
                    "url": before.url,
                    "title": before.title,
                    "status": result.status,
                    "failures": count,
                    "source": before.source,
                },
                page_id=before.page_id,
            )
        )
        error = f"{error}; page removed after {count} failed checks"
    outcome = PageOutcome(before.url, "error", error=error)
    return PageResult(outcome, updates, events=events, result=result)
