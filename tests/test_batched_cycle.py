"""The cycle's batched path: states read in windows, pages written many to a transaction."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from sqlalchemy import event, select

from monitor import check, store
from monitor import db as dbmod
from monitor.chain import PageOutcome
from monitor.cycle import SAVE_BATCH, Cycle
from monitor.db import Database
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Blob, Snapshot, WatchedPage
from monitor.watchlist import adhoc_pages, targets_for

HTML = "<html><body><main><h2>Funding</h2><p>{} is available.</p></main></body></html>"


def page(amount: str) -> bytes:
    return HTML.format(amount).encode()


def targets(db: Database, urls: list[str]) -> list[FetchTarget]:
    with db.session() as s:
        return targets_for(adhoc_pages(s, urls))


def ok(t: FetchTarget, body: bytes, etag: str) -> FetchResult:
    return FetchResult(t, 200, body, "text/html", etag, None, t.url)


def run_batched(db: Database, results: list[FetchResult]) -> tuple[list[PageOutcome], Cycle]:
    """Feed results through ``Cycle.take`` as ``run_cycle`` does, then finish the cycle."""
    seen: list[PageOutcome] = []
    cycle = Cycle(db, on_outcome=seen.append)

    async def go() -> None:
        cycle.prepare([r.target for r in results])
        for r in results:
            await cycle.take(r)
        cycle.finish()

    asyncio.run(go())
    return seen, cycle


def test_a_batch_stores_every_page_and_reports_after_the_commit(db: Database) -> None:
    urls = [f"https://www.gov.uk/p{i}" for i in range(40)]
    ts = targets(db, urls)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))
    outcomes, _ = run_batched(
        db, [ok(t, page(f"£{i} million"), f'"e{i}"') for i, t in enumerate(ts)]
    )
    assert [o.status for o in outcomes] == ["new"] * 40
    # 40 pages in batches, plus reading the registry and the states, and the cycle's end
    assert len(commits) <= -(-40 // SAVE_BATCH) + 3
    with db.session() as s:
        assert s.scalar(select(Snapshot.id).where(Snapshot.page_id == ts[39].page_id))
        assert s.get(WatchedPage, ts[7].page_id).etag == '"e7"'  # type: ignore[union-attr]
    # the same bytes again: no new snapshot; a 304: only the page's columns change
    again = [ok(t, page(f"£{i} million"), f'"e{i}"') for i, t in enumerate(ts[:20])]
    fresh = targets(db, urls)
    not_modified = [FetchResult(t, 304, None, "", None, None, t.url) for t in fresh[20:]]
    outcomes, _ = run_batched(db, again + not_modified)
    assert {o.status for o in outcomes} == {"unchanged"}
    with db.session() as s:
        assert len(list(s.scalars(select(Snapshot.id)))) == 40
        last = s.get(WatchedPage, ts[30].page_id)
        assert last is not None and last.last_status == 304 and last.last_checked_at is not None


def test_one_failing_page_in_a_batch_loses_no_other(db: Database, monkeypatch: Any) -> None:
    a, b, c = targets(db, ["https://www.gov.uk/a", "https://www.gov.uk/b", "https://www.gov.uk/c"])
    real = store.save

    def fails_after_writing(s: Any, cycle: str, state: Any, found: Any, **kw: Any) -> Any:
        out = real(s, cycle, state, found, **kw)  # the page's rows are written, then it fails
        if state.url == b.url:
            raise RuntimeError("disk on fire")
        return out

    real_plain = store.save_plain

    def plain_fails_after_writing(s: Any, items: Any, blobs: Any) -> None:
        real_plain(s, items, blobs)  # every row written, then the many-page write fails
        raise RuntimeError("one of the rows is bad")

    monkeypatch.setattr(store, "save", fails_after_writing)
    monkeypatch.setattr(store, "save_plain", plain_fails_after_writing)
    outcomes, _ = run_batched(db, [ok(t, page("£1 million"), '"v1"') for t in (a, b, c)])
    assert [o.status for o in outcomes] == ["new", "error", "new"]
    with db.session() as s:
        stored = {snap.page_id for snap in s.scalars(select(Snapshot))}
        assert stored == {a.page_id, c.page_id}
        assert s.get(WatchedPage, b.page_id).etag is None  # type: ignore[union-attr]
    # b is stored next time (its blob, rolled back with its savepoint, is not taken as known)
    monkeypatch.setattr(store, "save", real)
    monkeypatch.setattr(store, "save_plain", real_plain)
    outcomes, _ = run_batched(db, [ok(b, page("£1 million"), '"v1"')])
    assert [o.status for o in outcomes] == ["new"]


def test_check_help_loads_no_crawler_or_database() -> None:
    code = (
        "import sys\n"
        "from monitor.cli import run\n"
        "run(['check', '--help'])\n"
        "heavy = {'scrapy', 'twisted', 'sqlalchemy', 'alembic', 'lxml'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "--feed-driven" in out.stdout


def test_check_help_names_the_database_default_as_the_db_module_does() -> None:
    assert check.URL_HELP == dbmod.URL_HELP


def test_first_versions_of_a_batch_go_out_as_one_statement_each(db: Database) -> None:
    """Plain new versions: one INSERT for the bodies, one for the snapshots, one UPDATE."""
    ts = targets(db, [f"https://www.gov.uk/q{i}" for i in range(SAVE_BATCH)])
    statements: list[str] = []
    event.listen(
        db.engine, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0:3])
    )
    # two pages share one body: it is stored once
    bodies = [page(f"£{min(i, 1)} million") for i in range(SAVE_BATCH)]
    outcomes, _ = run_batched(
        db, [ok(t, b, f'"e{i}"') for i, (t, b) in enumerate(zip(ts, bodies, strict=True))]
    )
    assert [o.status for o in outcomes] == ["new"] * SAVE_BATCH
    inserts = [st for st in statements if st[0] == "INSERT"]
    assert [st[2] for st in inserts if st[2] in ("blob", "snapshot")] == ["blob", "snapshot"]
    with db.session() as s:
        assert len(list(s.scalars(select(Blob.sha256)))) == 2
        snaps = list(s.scalars(select(Snapshot)))
        assert sorted(x.page_id for x in snaps) == sorted(t.page_id for t in ts)
        assert all(x.text and x.text_hash and x.content_hash for x in snaps)
        pages = {p.id: p for p in s.scalars(select(WatchedPage))}
        assert all(pages[t.page_id].etag == f'"e{i}"' for i, t in enumerate(ts))


def test_a_page_whose_batch_is_being_written_is_read_after_that_write(db: Database) -> None:
    """A full batch goes to the writer thread; the same page again waits for that write."""
    ts = targets(db, [f"https://www.gov.uk/w{i}" for i in range(SAVE_BATCH)])
    first = [ok(t, page(f"£{i} million"), f'"e{i}"') for i, t in enumerate(ts)]
    again = ok(ts[0], page("£0 million"), '"e0"')  # the same bytes as its first fetch
    seen: list[PageOutcome] = []
    cycle = Cycle(db, on_outcome=seen.append)

    async def go() -> None:
        cycle.prepare([r.target for r in first])
        for r in first:
            await cycle.take(r)
        assert len(cycle.writer) <= 1  # handed over, perhaps not yet committed
        await cycle.take(again)
        cycle.finish()

    asyncio.run(go())
    assert [o.status for o in seen] == ["new"] * SAVE_BATCH + ["unchanged"]
    assert [o.url for o in seen[:SAVE_BATCH]] == [t.url for t in ts]  # in order
    with db.session() as s:
        assert len(list(s.scalars(select(Snapshot.id)))) == SAVE_BATCH
