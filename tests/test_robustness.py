"""Regression tests for failure paths: one bad page, a dead worker, binary bodies, delivery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from cli import policy_monitor
from sqlalchemy import select

from monitor import settings, store
from monitor.cycle import Cycle
from monitor.db import Database
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Event, Snapshot, WatchedPage
from monitor.normalise import normalise
from monitor.outbox import emit
from monitor.watchlist import adhoc_pages, targets_for
from monitor.worker import PageJob, PageWork, make_pool, run_job

HTML = "<html><body><main><h2>Funding</h2><p>{} is available.</p></main></body></html>"


def page(amount: str) -> bytes:
    return HTML.format(amount).encode()


def targets(db: Database, *urls: str) -> list[FetchTarget]:
    with db.session() as s:
        return targets_for(adhoc_pages(s, list(urls)))


def ok(t: FetchTarget, body: bytes, etag: str = '"v1"', ctype: str = "text/html") -> FetchResult:
    return FetchResult(t, 200, body, ctype, etag, None, t.url)


def test_one_failing_page_does_not_undo_the_others(db: Database, monkeypatch: Any) -> None:
    a, b, c = targets(db, "https://www.gov.uk/a", "https://www.gov.uk/b", "https://www.gov.uk/c")
    real = store.save

    def fails_after_writing(s: Any, cycle: str, state: Any, found: Any) -> Any:
        out = real(s, cycle, state, found)  # the page's rows are written, then the disk fails
        if state.url == b.url:
            raise RuntimeError("disk on fire")
        return out

    monkeypatch.setattr(store, "save", fails_after_writing)
    rec = Cycle(db)
    statuses = [rec.record(ok(t, page(f"£{i} million"))).status for i, t in enumerate((a, b, c))]
    rec.finish()
    assert statuses == ["new", "error", "new"]
    with db.session() as s:
        stored = {s.get(WatchedPage, snap.page_id).url for snap in s.scalars(select(Snapshot))}  # type: ignore[union-attr]
        assert stored == {a.url, c.url}
        assert s.get(WatchedPage, a.page_id).etag == '"v1"'  # type: ignore[union-attr]


def test_failed_analysis_keeps_the_old_validators_so_the_change_is_not_lost(db: Database) -> None:
    (t,) = targets(db, "https://www.gov.uk/a")
    rec = Cycle(db)
    assert rec.record(ok(t, page("£261 million"), '"v1"')).status == "new"
    broken = FetchTarget(t.url, t.page_id, normaliser="no-such-normaliser")
    assert rec.record(ok(broken, page("£300 million"), '"v2"')).status == "error"
    with db.session() as s:
        (again,) = targets_for([s.get(WatchedPage, t.page_id)])  # type: ignore[list-item]
    assert again.etag == '"v1"'  # so the next fetch is not a 304 for the unrecorded body
    out = rec.record(ok(again, page("£300 million"), '"v2"'))
    rec.finish()
    assert out.status == "changed" and "£300 million" in json.dumps(out.changes, ensure_ascii=False)


def test_removal_needs_an_unbroken_run_of_404s(db: Database) -> None:
    (t,) = targets(db, "https://www.gov.uk/gone")
    rec = Cycle(db, failures_before_removed=3)
    rec.record(ok(t, page("£1")))
    seq = [404, 503, 0, 404, 404]
    errors = [
        rec.record(FetchResult(t, code, None, error="timeout" if not code else f"HTTP {code}"))
        for code in seq
    ]
    assert not any("removed" in (o.error or "") for o in errors)
    last = rec.record(FetchResult(t, 410, None, error="HTTP 410"))
    rec.finish()
    assert "removed after 3" in (last.error or "")


def test_a_dead_worker_does_not_fail_the_rest_of_the_cycle() -> None:
    pool = make_pool(100, 2)
    assert pool is not None
    try:
        victim = next(iter(pool._processes))  # type: ignore[attr-defined]
        os.kill(victim, signal.SIGKILL)
        job = PageJob("https://www.gov.uk/a", page("£5 million"), "text/html")
        works = asyncio.run(_run_many(pool, [job] * 4))
        assert all("£5 million" in w.doc.text for w in works)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


async def _run_many(pool: Any, jobs: list[PageJob]) -> list[PageWork]:
    return [await run_job(pool, j) for j in jobs]


def test_binary_bodies_yield_no_invented_changes() -> None:
    junk = os.urandom(4000)
    for ctype in ("application/pdf", "text/html", "application/json", ""):
        doc = normalise(junk, url="https://www.gov.uk/x", content_type=ctype)
        assert doc.blocks == [] or not any("\x00" in b.text for b in doc.blocks)
    doc = normalise(junk, content_type="application/pdf")
    assert doc.blocks == [] and doc.ignored and "unreadable" in doc.ignored[0].reason


def test_nul_in_text_is_stored_on_every_database(db: Database) -> None:
    (t,) = targets(db, "https://www.gov.uk/api-like")
    body = json.dumps({"title": "A\u0000B", "rows": ["x\u0000y"]}).encode()
    rec = Cycle(db)
    out = rec.record(ok(t, body, ctype="application/json"))
    rec.finish()
    assert out.status == "new"
    with db.session() as s:
        assert "\x00" not in s.scalars(select(Snapshot.text)).one()


def test_malformed_content_items_and_deep_json_do_not_raise() -> None:
    item = json.dumps({"base_path": "/x", "title": "T", "details": 5}).encode()
    normalise(item, content_type="application/json")
    normalise(b"[" * 100_000, content_type="application/json")


def test_long_dedup_keys_are_deduplicated_not_crashed(db: Database) -> None:
    key = "page_new:https://www.gov.uk/" + "x" * 400
    with db.session() as s:
        first = emit(s, "page_new", key, {"url": "u"})
        assert first is not None
        row = s.get(Event, first)
        assert row is not None and len(row.dedup_key) <= settings.DEDUP_KEY_MAX
        assert emit(s, "page_new", key, {"url": "u"}) is None
        assert emit(s, "page_new", key + "y", {"url": "u"}) is not None  # a different key


def test_batch_line_that_is_not_utf8_is_that_line_error_only(tmp_path: Path) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("Funding is £261 million.\n")
    new.write_text("Funding is £300 million.\n")
    pairs = tmp_path / "pairs.jsonl"
    good = json.dumps({"id": "ok", "old": str(old), "new": str(new), "url": ""}).encode()
    pairs.write_bytes(b'{"id": "bad\xff", "old": "x", "new": "y"}\n' + good + b"\n")
    proc = policy_monitor("compare", "--batch", str(pairs), "--json")
    assert proc.returncode == 0, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert "error" in first
    assert second["id"] == "ok" and second["changes"][0]["kind"] == "funding"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"[" * 100_000, "application/json"),
        (b"[a](" * 50_000, "text/markdown"),
        (b"![x](" * 50_000, "text/markdown"),
    ],
)
def test_bracket_runs_do_not_make_the_markdown_reader_quadratic(body: bytes, ctype: str) -> None:
    """These bodies took minutes when link patterns rescanned the rest of the text per bracket."""
    normalise(body, content_type=ctype)
