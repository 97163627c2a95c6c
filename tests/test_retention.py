"""Snapshot retention: re-renders and (with an age limit) old versions go; what is cited stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from monitor import retention
from monitor.cli import run
from monitor.cycle import Cycle
from monitor.db import Database
from monitor.fetch import FetchResult, FetchTarget
from monitor.models import Blob, ChangeRecord, Event, Snapshot
from monitor.snapshot import body_of
from monitor.watchlist import adhoc_pages, targets_for

URL = "https://www.gov.uk/government/publications/crisis-care"


def page(text: str, render: int) -> bytes:
    """The same text re-rendered: the bytes differ with ``render``, the text does not."""
    return (
        f'<html><body><main data-render="{render}"><h1>Crisis care</h1><p>{text}</p></main>'
        f"<footer>Rendered {render}</footer></body></html>"
    ).encode()


def history(db: Database, texts: list[str]) -> list[str]:
    """One cycle per text, each fetch re-rendered; returns each cycle's page outcome."""
    with db.session() as s:
        (target,) = targets_for(adhoc_pages(s, [URL]))
    outcomes = []
    for render, text in enumerate(texts):
        outcomes.append(fetch(db, target, text, render))
    return outcomes


def fetch(db: Database, target: FetchTarget, text: str, render: int) -> str:
    cycle = Cycle(db)
    out = cycle.record(FetchResult(target, 200, page(text, render), "text/html", final_url=URL))
    cycle.finish()
    return out.status


def snapshot_ids(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Snapshot.id).order_by(Snapshot.id)))


TEN, TWENTY = "The fund is £10 million for 2024/25.", "The fund is £20 million for 2024/25."


def test_rerenders_go_and_every_changed_or_cited_version_stays(db: Database) -> None:
    outcomes = history(db, [TEN, TEN, TEN, TWENTY, TWENTY, TWENTY])
    assert outcomes == ["new", "noise", "noise", "changed", "noise", "noise"]
    a0, a1, a2, b3, b4, b5 = snapshot_ids(db)
    with db.session() as s:
        (event,) = s.scalars(select(Event).where(Event.kind == "page_changed"))
        assert (event.payload["from_snapshot_id"], event.payload["to_snapshot_id"]) == (a2, b3)
        blobs_before = s.scalar(select(func.count()).select_from(Blob))

    dry = retention.compact(db, dry_run=True)
    assert (dry.rerenders, dry.aged, dry.blobs, dry.changes) == (2, 0, 2, 0)
    assert snapshot_ids(db) == [a0, a1, a2, b3, b4, b5]  # a dry run changes nothing

    done = retention.compact(db)
    assert (done.rerenders, done.aged, done.blobs) == (dry.rerenders, dry.aged, dry.blobs)
    assert done.bytes_freed == dry.bytes_freed > 0
    # a1 and b4 only re-rendered; a2 is the "before" of the alert, b5 the latest version
    assert snapshot_ids(db) == [a0, a2, b3, b5]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Blob)) == blobs_before - 2
        for snap in s.scalars(select(Snapshot)):
            assert b"Crisis care" in body_of(s, snap)  # every kept version still has its body
        change = s.scalars(select(ChangeRecord)).one()
        assert (change.from_snapshot_id, change.to_snapshot_id) == (a2, b3)
    again = retention.compact(db)
    assert (again.snapshots, again.blobs, again.changes) == (0, 0, 0)


def test_age_limit_keeps_first_latest_and_cited(db: Database) -> None:
    # punctuation-only edits are noise: change rows that no event cites
    texts = [TEN, TEN.replace("million", "Million"), TWENTY, TWENTY.upper(), TWENTY.lower()]
    outcomes = history(db, [*texts, TWENTY])
    assert outcomes == ["new", "noise", "changed", "noise", "noise", "noise"]
    v1, v2, v3, v4, v5, v6 = snapshot_ids(db)
    assert retention.compact(db).snapshots == 0  # every version's text differs from the last

    later = datetime.now(UTC) + timedelta(days=400)
    report = retention.compact(db, older_than=timedelta(days=365), now=later)
    assert (report.aged, report.rerenders, report.kept_cited) == (2, 0, 2)
    assert snapshot_ids(db) == [v1, v2, v3, v6]
    assert not {v4, v5} & set(snapshot_ids(db))
    with db.session() as s:
        pairs = {(c.from_snapshot_id, c.to_snapshot_id) for c in s.scalars(select(ChangeRecord))}
    # v5 -> v6 keeps its diff; the version it was computed from went for its age
    assert pairs == {(v1, v2), (v2, v3), (None, v6)}


def test_compact_command_reports_json_and_refuses_a_bad_age(db_url: str) -> None:
    db = Database(db_url)
    try:
        history(db, [TEN, TEN, TEN])
    finally:
        db.dispose()
    assert run(["snapshots", "compact", "--db", db_url, "--older-than", "soon"]) == 2
    assert run(["snapshots", "compact", "--db", db_url, "--dry-run"]) == 0
    assert run(["snapshots", "compact", "--db", db_url, "--vacuum"]) == 0
    db = Database(db_url)
    try:
        assert len(snapshot_ids(db)) == 2
    finally:
        db.dispose()


def test_json_report(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(db_url)
    try:
        history(db, [TEN, TEN, TEN, TEN])
    finally:
        db.dispose()
    assert run(["snapshots", "compact", "--db", db_url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rerenders"] == 2 and out["snapshots_before"] == 4
    assert out["size_before"]["snapshots"] == 4 and out["size_after"]["snapshots"] == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("365d", 365 * 86400), ("2w", 14 * 86400), ("36h", 36 * 3600), ("7", 7 * 86400)],
)
def test_parse_age(text: str, seconds: int) -> None:
    assert retention.parse_age(text).total_seconds() == seconds


def test_a_draft_not_yet_published_protects_what_it_cites(db: Database) -> None:
    # a cycle saved the page (its draft is staged) but has not ended: the event is not
    # written yet, and its "before" version must survive a compaction run in between
    history(db, [TEN, TEN])
    with db.session() as s:
        (target,) = targets_for(adhoc_pages(s, [URL]))
    cycle = Cycle(db)
    out = cycle.record(FetchResult(target, 200, page(TWENTY, 9), "text/html", final_url=URL))
    assert out.status == "changed"
    before = snapshot_ids(db)
    assert retention.compact(db).snapshots == 0
    assert snapshot_ids(db) == before
    cycle.finish()
    with db.session() as s:
        (event,) = s.scalars(select(Event).where(Event.kind == "page_changed"))
        assert event.payload["from_snapshot_id"] == before[1]
