"""Writing followed pages a batch per transaction, on a writer thread beside the crawl.

A batch's pages go in one transaction. Pages where only their own columns change (a 304, the
same bytes, a failure) are one executemany; plain new versions (first versions, markup-only
edits) three executemany in one savepoint, page by page only if that fails; every other page
has its own savepoint, so one bad page loses no other.

:class:`Writer` runs those transactions on one thread, in order. The statements' own work
(SQLite's B-tree and log, PostgreSQL's round trips) runs without the GIL, so it overlaps the
crawl's Python; outcomes are reported on the event loop once their batch is committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from monitor import store
from monitor.chain import PageOutcome, PageResult
from monitor.db import Database, lost_connection, unwritable
from monitor.errors import DatabaseError
from monitor.fetch import FetchResult, FetchTarget

log = logging.getLogger(__name__)
Written = tuple[dict[int, PageOutcome], list[FetchTarget]]  # outcomes by id(Pending), files


@dataclass(eq=False)
class Pending:
    """A page followed and waiting for its batch to be written."""

    result: FetchResult
    state: store.PageState
    found: PageResult


def write(db: Database, cycle: str, batch: list[Pending]) -> tuple[Written, DatabaseError | None]:
    """One batch's transaction, run again on a new connection if the server dropped it.

    Never raises: a page that fails is an error outcome; a database that takes no writes
    (disk full, read-only) fails the whole batch and is returned, to stop the cycle.
    """
    simple, plain, full = [], [], []
    for p in batch:
        if p.found.document is None and not p.found.events:
            simple.append(p)
        elif store.is_plain(p.found):
            plain.append(p)
        else:
            full.append(p)

    def work(s: Session) -> Written:
        found: list[FetchTarget] = []
        store.update_pages(s, [(p.state.page_id, p.found.updates) for p in simple])
        outcomes = {id(p): p.found.outcome for p in simple}
        blobs = store.existing_blobs(
            s, [p.result.digest for p in batch if p.found.document and p.result.digest]
        )
        rest = full
        if plain:
            if _save_plain(s, plain, blobs):
                outcomes.update((id(p), p.found.outcome) for p in plain)
            else:
                rest = plain + full
        held = store.load_pages(s, [p.state.page_id for p in rest])  # noqa: F841
        for p in rest:
            outcomes[id(p)] = _save_one(s, cycle, p, blobs, found)
        return outcomes, found

    try:
        return db.retrying(work), None
    except DatabaseError as exc:  # disk full, read-only: no later page could be saved
        return _failed(batch, str(exc)), exc
    except Exception as exc:  # the commit itself failed: none of the batch is stored
        log.exception("failed to write %d pages", len(batch))
        return _failed(batch, f"internal error: {exc}"), None


def _failed(batch: list[Pending], error: str) -> Written:
    return {id(p): PageOutcome(p.result.target.url, "error", error=error) for p in batch}, []


def _save_plain(s: Session, plain: list[Pending], blobs: set[str]) -> bool:
    """Write many plain new versions at once; False (nothing written) if that failed."""
    try:
        with s.begin_nested():
            store.save_plain(s, [(p.state, p.found) for p in plain], blobs)
    except Exception as exc:
        if lost_connection(exc) or unwritable(exc):
            raise  # the whole batch again on a new connection, or the cycle stops
        log.warning("writing %d pages at once failed (%s); writing them one by one",
                    len(plain), exc)  # fmt: skip
        return False
    blobs.update(p.result.digest for p in plain if p.result.digest)
    return True


def _save_one(
    s: Session, cycle: str, p: Pending, blobs: set[str], found: list[FetchTarget]
) -> PageOutcome:
    known = set(blobs)
    try:
        with s.begin_nested():
            found.extend(store.save(s, cycle, p.state, p.found, blobs=blobs))
    except Exception as exc:  # one bad page must not lose the others
        if lost_connection(exc) or unwritable(exc):
            raise  # the whole batch again on a new connection, or the cycle stops
        log.exception("failed to record %s", p.result.target.url)
        blobs.intersection_update(known)  # what its savepoint added is gone again
        return PageOutcome(p.result.target.url, "error", error=f"internal error: {exc}")
    return p.found.outcome


Report = Callable[[list[Pending], Written, DatabaseError | None], object]


class Writer:
    """Writes batches on one thread, in order; ``report`` is called on the event loop."""

    def __init__(self, db: Database, cycle: str, report: Report) -> None:
        self.db, self.cycle, self.report = db, cycle, report
        self._thread: ThreadPoolExecutor | None = None
        self._writing: dict[Future[tuple[Written, DatabaseError | None]], list[Pending]] = {}
        self._pages: set[int] = set()  # page ids of the batches being written

    def __len__(self) -> int:
        return len(self._writing)

    def holds(self, page_id: int) -> bool:
        return page_id in self._pages

    def submit(self, batch: list[Pending]) -> None:
        """Write ``batch`` on the thread (call from the event loop)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="cycle-writer")
        loop = asyncio.get_running_loop()
        future = self._thread.submit(write, self.db, self.cycle, batch)
        self._writing[future] = batch
        self._pages.update(p.state.page_id for p in batch)
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._done, f))

    async def wait(self, most: int = 0) -> None:
        """Wait until no more than ``most`` batches are being written."""
        while len(self._writing) > most:
            oldest = next(iter(self._writing))
            await asyncio.wrap_future(oldest)
            self._done(oldest)

    def drain(self) -> None:
        """Block until every batch is written (and reported)."""
        while self._writing:
            oldest = next(iter(self._writing))
            oldest.result()
            self._done(oldest)

    def stop(self) -> None:
        """Stop the thread once the batches it has are written: none is lost."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def _done(self, future: Future[tuple[Written, DatabaseError | None]]) -> None:
        batch = self._writing.pop(future, None)
        if batch is None:
            return  # already reported (by drain or wait)
        self._pages.difference_update(p.state.page_id for p in batch)
        written, fatal = future.result()
        self.report(batch, written, fatal)
