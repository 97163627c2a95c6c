"""Snapshot retention: keep every version that changed, drop what only re-rendered.

A page gets a new snapshot whenever its bytes differ, and pages re-render (a footer time, a
cookie-banner id) far more often than their text changes. :func:`compact` walks each page's
versions in order and drops:

- a *re-render*: a version whose reader-visible text (``text_hash``) equals the version kept
  before it. The change row into it goes too, and the change out of it is pointed at the kept
  version, whose text is the same, so its diff still holds;
- with ``older_than``, any version fetched before the cut-off;
- blobs (raw bodies) that no snapshot refers to any more.

Never dropped: a page's first and latest version, and any version that an event, a piece of
evidence, a key-figure move or a staged draft cites (directly or through its change row). A
change whose older end went for age alone keeps its diff and loses the pointer (NULL).
One short transaction per page, which first locks the page's row: a cycle saving that page
at the same time waits for it (or it for the cycle), and what cites the page's versions,
staged drafts included, is read inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.models import (
    Blob,
    ChangeRecord,
    Event,
    Evidence,
    KeyFigureHistory,
    Snapshot,
    StagedEvent,
    WatchedPage,
)

PAYLOAD_SNAPSHOT_KEYS = ("from_snapshot_id", "to_snapshot_id")


@dataclass
class RetentionReport:
    """What a compaction dropped (or, dry, would drop), and what it kept on purpose."""

    pages: int = 0
    snapshots_before: int = 0
    rerenders: int = 0  # versions dropped because their text equals the one kept before
    aged: int = 0  # versions dropped for the age limit
    kept_cited: int = 0  # versions the age limit would take but something cites
    changes: int = 0
    changes_repointed: int = 0
    blobs: int = 0
    bytes_freed: int = 0  # stored text, diffs and compressed bodies, as the database holds them
    dry_run: bool = False

    @property
    def snapshots(self) -> int:
        return self.rerenders + self.aged

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__) | {"snapshots": self.snapshots}


@dataclass
class _Version:
    id: int
    fetched_at: datetime
    text_hash: str
    text_bytes: int
    content_hash: str


def parse_age(value: str) -> timedelta:
    """``365d``, ``12w``, ``48h`` or ``90m`` (a plain number is days)."""
    from monitor.errors import InputError

    raw = value.strip().lower()
    units = {"d": 86400, "w": 7 * 86400, "h": 3600, "m": 60}
    unit = raw[-1] if raw and raw[-1] in units else "d"
    number = raw[:-1] if raw and raw[-1] in units else raw
    try:
        amount = float(number)
    except ValueError:
        raise InputError(f"--older-than {value!r}: expected a number of days, like 365d") from None
    if amount <= 0:
        raise InputError(f"--older-than {value!r}: must be more than zero")
    return timedelta(seconds=amount * units[unit])


def _cited_by_payload(s: Session) -> tuple[set[int], set[int]]:
    """Snapshot and change ids named in events' payloads (written once, never edited)."""
    changes: set[int] = set()
    snaps: set[int] = set()
    for payload in s.scalars(select(Event.payload)):
        if isinstance(payload, dict):
            snaps.update(_ints(payload.get(k) for k in PAYLOAD_SNAPSHOT_KEYS))
            changes.update(_ints([payload.get("change_id")]))
    return snaps, changes


def _cited_on_page(s: Session, page_id: int, changes: set[int]) -> set[int]:
    """This page's snapshot ids that anything points at, read in the page's own transaction.

    ``changes`` (cited by payloads) gains the page's changes that rows cite, and the ends
    of every cited change count as cited snapshots.
    """
    own_changes = select(ChangeRecord.id).where(ChangeRecord.page_id == page_id)
    own_snaps = select(Snapshot.id).where(Snapshot.page_id == page_id)
    cited = set(changes)
    for column in (Event.change_id, Evidence.change_id, KeyFigureHistory.change_id):
        cited.update(i for i in s.scalars(select(column).where(column.in_(own_changes))) if i)
    staged = select(StagedEvent.change_id).where(StagedEvent.change_id.in_(own_changes))
    cited.update(i for i in s.scalars(staged) if i)
    snaps: set[int] = set()
    for column in (Evidence.snapshot_id, KeyFigureHistory.snapshot_id):
        snaps.update(i for i in s.scalars(select(column).where(column.in_(own_snaps))) if i)
    ends = select(ChangeRecord.id, ChangeRecord.from_snapshot_id, ChangeRecord.to_snapshot_id)
    for change_id, a, b in s.execute(ends.where(ChangeRecord.page_id == page_id)):
        if change_id in cited:
            changes.add(change_id)
            snaps.update(i for i in (a, b) if i)
    return snaps


def _ints(values: Iterable[Any]) -> list[int]:
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _plan(
    versions: list[_Version], cited: set[int], cutoff: datetime | None, report: RetentionReport
) -> tuple[dict[int, int], set[int]]:
    """Which versions go: re-renders (mapped to the version kept before them) and aged ones."""
    rerender_of: dict[int, int] = {}
    aged: set[int] = set()
    if len(versions) < 3:
        return rerender_of, aged
    kept_as: dict[int, int] = {versions[0].id: versions[0].id}  # version -> kept, same text
    last = versions[-1].id
    prev = versions[0]
    for v in versions[1:]:
        protected = v.id == last or v.id in cited
        old = cutoff is not None and _aware(v.fetched_at) < cutoff
        same_as = kept_as.get(prev.id) if v.text_hash == prev.text_hash else None
        if not protected and same_as is not None:
            rerender_of[v.id] = kept_as[v.id] = same_as
        elif not protected and old:
            aged.add(v.id)
        else:
            kept_as[v.id] = v.id
            if old and v.id != last:
                report.kept_cited += 1
        prev = v
    return rerender_of, aged


def compact(
    db: Database,
    *,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionReport:
    """Drop re-rendered versions (and, with ``older_than``, old ones), then orphaned blobs.

    ``progress(pages_done, pages)`` is called after each page.
    """
    now = now or datetime.now(UTC)
    cutoff = now - older_than if older_than is not None else None
    report = RetentionReport(dry_run=dry_run)
    with db.session(readonly=True) as s:
        cited_snaps, cited_changes = _cited_by_payload(s)
        page_ids = list(s.scalars(select(WatchedPage.id).order_by(WatchedPage.id)))
        report.snapshots_before = s.scalar(select(func.count()).select_from(Snapshot)) or 0
    bodies: set[str] = set()  # bodies the kept versions still need
    for done, page_id in enumerate(page_ids, 1):
        with db.session(readonly=dry_run) as s:
            bodies |= _compact_page(s, page_id, cited_snaps, cited_changes, cutoff, report, dry_run)
        if progress is not None:
            progress(done, len(page_ids))
    with db.session(readonly=dry_run) as s:
        _drop_blobs(s, report, bodies if dry_run else None)
    return report


def _compact_page(
    s: Session,
    page_id: int,
    cited_snaps: set[int],
    cited_changes: set[int],
    cutoff: datetime | None,
    report: RetentionReport,
    dry_run: bool,
) -> set[str]:
    """Compact one page; returns the bodies its remaining versions use.

    The page's row is locked first, so a cycle saving this page waits (or we wait for it):
    what cites its versions is read after any such save.
    """
    if not dry_run:
        s.execute(select(WatchedPage.id).where(WatchedPage.id == page_id).with_for_update())
    cited_changes = set(cited_changes)
    cited_snaps = cited_snaps | _cited_on_page(s, page_id, cited_changes)
    rows = s.execute(
        select(
            Snapshot.id,
            Snapshot.fetched_at,
            Snapshot.text_hash,
            func.length(Snapshot.text),
            Snapshot.content_hash,
        )
        .where(Snapshot.page_id == page_id)
        .order_by(Snapshot.id)
    )
    versions = [_Version(i, f, h, n or 0, c) for i, f, h, n, c in rows]
    report.pages += 1
    rerender_of, aged = _plan(versions, cited_snaps, cutoff, report)
    gone = set(rerender_of) | aged
    bodies = {v.content_hash for v in versions if v.id not in gone}
    if not gone:
        return bodies
    report.rerenders += len(rerender_of)
    report.aged += len(aged)
    report.bytes_freed += sum(v.text_bytes for v in versions if v.id in gone)
    into = s.execute(
        select(ChangeRecord.id, func.length(ChangeRecord.diff)).where(
            ChangeRecord.to_snapshot_id.in_(gone)
        )
    ).all()
    if any(cid in cited_changes for cid, _ in into):  # cannot happen: cited ends are kept
        raise RuntimeError(f"page {page_id}: a cited change would be dropped")
    report.changes += len(into)
    report.bytes_freed += sum(n or 0 for _, n in into)
    out_of = s.execute(
        select(ChangeRecord.id, ChangeRecord.from_snapshot_id).where(
            ChangeRecord.from_snapshot_id.in_(gone), ChangeRecord.to_snapshot_id.not_in(gone)
        )
    ).all()
    report.changes_repointed += len(out_of)
    if dry_run:
        return bodies
    s.execute(delete(ChangeRecord).where(ChangeRecord.to_snapshot_id.in_(gone)))
    for change_id, from_id in out_of:
        s.execute(
            update(ChangeRecord)
            .where(ChangeRecord.id == change_id)
            .values(from_snapshot_id=_kept_before(from_id, rerender_of))
        )
    s.execute(delete(Snapshot).where(Snapshot.id.in_(gone)))
    return bodies


def _kept_before(snapshot_id: int | None, rerender_of: dict[int, int]) -> int | None:
    """The kept version with the same text, or None when the version went for its age."""
    return rerender_of.get(snapshot_id) if snapshot_id is not None else None


def _drop_blobs(s: Session, report: RetentionReport, needed: set[str] | None) -> None:
    """Delete bodies no snapshot refers to; a dry run (``needed`` given) only counts them."""
    if needed is not None:
        for digest, size in s.execute(select(Blob.sha256, func.length(Blob.data))):
            if digest not in needed:
                report.blobs += 1
                report.bytes_freed += size or 0
        return
    orphan = ~exists().where(Snapshot.content_hash == Blob.sha256)
    count, size = s.execute(
        select(func.count(), func.sum(func.length(Blob.data))).where(orphan)
    ).one()
    report.blobs += count or 0
    report.bytes_freed += size or 0
    if count:
        s.execute(delete(Blob).where(orphan))
