"""Commitment events from replayed changes, deadline checks and confirmed status changes."""

from __future__ import annotations

from datetime import date

import pytest
from dbutil_commitments import CRISIS_URL, store_change, track
from sqlalchemy import func, select

from monitor.change import Change
from monitor.commitment import load_seed
from monitor.db import Database
from monitor.evidence import suggest_status
from monitor.models import (
    Commitment,
    Event,
    Evidence,
    KeyFigure,
    KeyFigureHistory,
    StatusChange,
)
from monitor.tracking import (
    TrackingError,
    check_deadlines,
    confirm_status,
)


@pytest.fixture
def cdb(db: Database) -> Database:
    """The shared two-backend database fixture (conftest.py), named for these tests."""
    return db


@pytest.fixture
def seeded(cdb: Database) -> Database:
    assert load_seed(cdb) > 30
    return cdb


def _figure(db: Database, cid: str, key: str) -> KeyFigure:
    with db.session(readonly=True) as s:
        return s.scalars(select(KeyFigure).filter_by(commitment_id=cid, key=key)).one()


FUNDING = Change(
    "funding",
    "£179 million",
    "£150 million",
    "A total of £150 million will go over five years to crisis cafes, safe havens and crisis houses.",
    details={"before_gbp": 179e6, "after_gbp": 150e6, "delta_gbp": -29e6, "per_year": False},
)
SLIP_111 = Change(
    "deadline",
    "2023/24",
    "2024/25",
    "By 2024/25 anyone needing urgent mental health help can reach it through the 111 number.",
    details={"before_start": "2023-04-01", "before_end": "2024-03-31",
             "after_start": "2024-04-01", "after_end": "2025-03-31",
             "direction": "slipped", "days": 365},
)  # fmt: skip


def test_funding_change_on_watched_page_emits_event_with_evidence(seeded: Database) -> None:
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [FUNDING])
        events = track(s, page, row, analysis)
        change_id, snap_id = row.id, row.to_snapshot_id
    assert [e.kind for e in events] == ["funding_changed"]
    p = events[0].payload
    assert p["commitment_id"] == "nhse-crisis-alternatives"
    assert (p["before_gbp"], p["after_gbp"], p["delta"]) == (179e6, 150e6, -29e6)
    assert p["figure_key"] == "five-year-total" and p["to_snapshot_id"] == snap_id
    assert p["page_url"] == CRISIS_URL and "key figure" in p["reason"]
    assert (
        events[0].dedup_key == f"funding_changed:nhse-crisis-alternatives:{page.id}:{change_id}:0"
    )
    fig = _figure(seeded, "nhse-crisis-alternatives", "five-year-total")
    assert fig.amount_gbp == 150e6
    with seeded.session() as s:
        hist = s.scalars(select(KeyFigureHistory).filter_by(figure_id=fig.id)).one()
        assert hist.before["amount_gbp"] == 179e6 and hist.after["amount_gbp"] == 150e6
        assert hist.change_id == change_id and hist.snapshot_id == snap_id
        ev = s.scalars(select(Evidence).filter_by(commitment_id="nhse-crisis-alternatives")).one()
        assert ev.kind == "funding_changed" and ev.event_id == events[0].id
        assert "crisis cafes" in ev.quote


def test_replaying_a_change_queues_nothing_twice(seeded: Database) -> None:
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [FUNDING])
        assert len(track(s, page, row, analysis)) == 1
        assert track(s, page, row, analysis) == []
        assert s.scalar(select(func.count()).select_from(Evidence)) == 1
        assert s.scalar(select(func.count()).select_from(KeyFigureHistory)) == 1


def test_deadline_slip_emits_change_and_a_suggestion_but_keeps_status(seeded: Database) -> None:
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [SLIP_111])
        events = track(s, page, row, analysis)
    kinds = sorted(e.kind for e in events)
    assert kinds == ["deadline_changed", "status_suggested"]
    changed = next(e for e in events if e.kind == "deadline_changed").payload
    assert changed["commitment_id"] == "nhse-111-mental-health"
    assert changed["direction"] == "slipped" and changed["delta"] == 365
    assert changed["figure_before"]["end"] == "2024-03-31"
    assert changed["figure_after"]["end"] == "2025-03-31"
    suggestion = next(e for e in events if e.kind == "status_suggested").payload
    assert suggestion["suggested_status"] == "at_risk"
    assert _figure(seeded, "nhse-111-mental-health", "universal-111").end_date == date(2025, 3, 31)
    with seeded.session() as s:
        assert s.get(Commitment, "nhse-111-mental-health").status == "in_progress"  # type: ignore[union-attr]
        # the CYP commitment shares the page and the 2023/24 deadline but is not touched
        assert _figure(seeded, "nhse-cyp-24-7-crisis", "all-areas-24-7").end_date == date(
            2024, 3, 31
        )


def test_target_change_and_unrelated_text(seeded: Database) -> None:
    target = Change(
        "target", "11", "14",
        "14 pilot mental health trusts are testing urgent care waiting time standards.",
        details={"before_value": 11, "after_value": 14, "unit": "trusts"},
    )  # fmt: skip
    noise = Change("text", None, "Accept analytics cookies", "We use analytics cookies.")
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [target, noise])
        events = track(s, page, row, analysis)
    assert [(e.kind, e.payload["commitment_id"]) for e in events] == [
        ("target_changed", "nhse-liaison-psychiatry")
    ]
    assert _figure(seeded, "nhse-liaison-psychiatry", "pilot-trusts").value == 14


def test_confirm_requires_matching_evidence(seeded: Database) -> None:
    withdrawn = Change("withdrawn", None, None, "The crisis care concordat has been withdrawn.")
    url = "https://www.gov.uk/government/publications/mental-health-crisis-care-agreement"
    with seeded.session() as s:
        page, row, analysis = store_change(s, url, [withdrawn])
        events = track(s, page, row, analysis)
        assert [e.kind for e in events] == ["status_suggested"]
        event_id = events[0].id
        assert s.get(Commitment, "crisis-care-concordat").status == "in_progress"  # type: ignore[union-attr]
    with seeded.session() as s, pytest.raises(TrackingError, match="needs evidence"):
        confirm_status(s, "crisis-care-concordat", "withdrawn")
    with seeded.session() as s, pytest.raises(TrackingError, match="not about"):
        confirm_status(s, "nhse-111-mental-health", "withdrawn", event_id=event_id)
    with seeded.session() as s, pytest.raises(TrackingError, match="unknown status"):
        confirm_status(s, "crisis-care-concordat", "gone", event_id=event_id)
    with seeded.session() as s:
        rec = confirm_status(s, "crisis-care-concordat", "withdrawn", event_id=event_id, by="amy")
        assert (rec.from_status, rec.to_status, rec.event_id) == (
            "in_progress",
            "withdrawn",
            event_id,
        )
    with seeded.session() as s:
        assert s.get(Commitment, "crisis-care-concordat").status == "withdrawn"  # type: ignore[union-attr]
        change = s.scalars(select(StatusChange).filter_by(commitment_id="crisis-care-concordat"))
        assert change.one().evidence_id is not None


def test_check_deadlines_thresholds_and_passing(seeded: Database) -> None:
    with seeded.session() as s:
        for c in s.scalars(select(Commitment)):
            if c.id != "nhse-cyp-24-7-crisis":
                c.status = "achieved"  # keep the test to one commitment
    end = date(2024, 3, 31)
    with seeded.session() as s:
        assert check_deadlines(s, date(2023, 1, 1)) == []
        first = check_deadlines(s, date(2024, 3, 10))
        assert [(e.kind, e.payload["threshold"]) for e in first] == [("deadline_approaching", 30)]
        assert check_deadlines(s, date(2024, 3, 11)) == []  # same threshold: deduplicated
        week = check_deadlines(s, date(2024, 3, 28))
        assert [(e.kind, e.payload["threshold"]) for e in week] == [("deadline_approaching", 7)]
        passed = check_deadlines(s, date(2024, 4, 2))
        assert [e.kind for e in passed] == ["deadline_passed"]
        assert passed[0].payload["end"] == end.isoformat()
        assert check_deadlines(s, date(2024, 4, 3)) == []


def test_an_unconfirmed_achieved_cue_does_not_silence_deadline_passed(seeded: Database) -> None:
    """Status changes only when a person confirms it; a page's cue is only a suggestion."""
    with seeded.session() as s:
        s.add(
            Evidence(
                commitment_id="nhse-nhsuk-crisis-search", date=date(2021, 6, 1), kind="match",
                quote="postcode search is now live", reason="test", suggested_status="achieved",
            )
        )  # fmt: skip
    with seeded.session() as s:
        ids = {e.payload["commitment_id"] for e in check_deadlines(s, date(2022, 6, 1))}
    assert "nhse-nhsuk-crisis-search" in ids
    assert "nhse-crisis-investment-2019-21" not in ids  # confirmed status is achieved
    assert "nhse-out-of-area-placements" in ids
    with seeded.session() as s:
        later = check_deadlines(s, date(2030, 1, 1), passed_since=date(2024, 1, 1))
    assert {e.payload["figure_key"] for e in later} == {"universal-111", "all-areas-24-7"}
    with seeded.session() as s:
        confirm_status(s, "nhse-nhsuk-crisis-search", "achieved", evidence_id=1)
    with seeded.session() as s:
        again = {e.payload["commitment_id"] for e in check_deadlines(s, date(2022, 7, 1))}
    assert "nhse-nhsuk-crisis-search" not in again


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (Change("text", None, "The scheme was scrapped in 2022.", ""), "withdrawn"),
        (Change("text", None, "Roll-out has been delayed to 2025.", ""), "at_risk"),
        (Change("text", None, "The target was missed.", ""), "broken"),
        (Change("text", None, "The postcode search is now live.", ""), "achieved"),
        (Change("text", None, "Opening hours were extended.", ""), None),
        (Change("text", None, "The service will be launched in 2026.", ""), None),
        (Change("text", None, "Plans to be completed soon; it was delayed.", ""), "at_risk"),
        (
            Change("status", "open", "closed", "", details={"after_status": "withdrawn"}),
            "withdrawn",
        ),
    ],
)
def test_suggest_status(change: Change, expected: str | None) -> None:
    got = suggest_status(change)
    assert (got[0] if got else None) == expected


def test_event_rows_are_committed(seeded: Database) -> None:
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [FUNDING, SLIP_111])
        track(s, page, row, analysis)
    with seeded.session() as s:
        kinds = sorted(s.scalars(select(Event.kind)))
    assert kinds == ["deadline_changed", "funding_changed", "status_suggested"]


# From review, 2026-11-22: each of these once went wrong.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Urgent support through NHS 111 has not been achieved.", "broken"),
        ("The new service has not yet launched.", "at_risk"),
        ("The scheme has not been scrapped.", None),
        ("The service was never delivered.", "broken"),
        ("The service was delivered in 2024.", "achieved"),
    ],
)
def test_status_cues_respect_negation(text: str, expected: str | None) -> None:
    got = suggest_status(Change("text", None, text, text))
    assert (got[0] if got else None) == expected


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [("not achieved", "broken"), ("broken", "broken"), ("off track", "at_risk"),
     ("partially achieved", "in_progress"), ("achieved", "achieved")],
)  # fmt: skip
def test_tracker_verdicts_map_to_our_statuses(verdict: str, expected: str) -> None:
    change = Change("status", "in progress", verdict, f"Our verdict: {verdict}",
                    details={"before_status": "in progress", "after_status": verdict})  # fmt: skip
    got = suggest_status(change)
    assert got is not None and got[0] == expected


def test_two_changes_in_one_sentence_are_two_pieces_of_evidence(seeded: Database) -> None:
    text = (
        "A total of £150 million will fund crisis cafes, safe havens and crisis houses by 2024/25."
    )
    money = Change("funding", "£179 million", "£150 million", text,
                   details={"before_gbp": 179e6, "after_gbp": 150e6, "delta_gbp": -29e6,
                            "per_year": False})  # fmt: skip
    when = Change("deadline", "by 2023/24", "by 2024/25", text,
                  details={"before_start": "2023-04-01", "before_end": "2024-03-31",
                           "after_start": "2024-04-01", "after_end": "2025-03-31",
                           "direction": "slipped", "days": 365})  # fmt: skip
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [money, when])
        kinds = sorted(e.kind for e in track(s, page, row, analysis))
    assert "funding_changed" in kinds and "deadline_changed" in kinds


def test_a_figure_moves_only_from_its_current_value(seeded: Database) -> None:
    before = _figure(seeded, "nhse-crisis-alternatives", "five-year-total").amount_gbp
    other = Change("funding", "£200 million", "£150 million",
                   "A total of £150 million will go over five years to crisis cafes and safe havens.",
                   details={"before_gbp": 200e6, "after_gbp": 150e6, "delta_gbp": -50e6,
                            "per_year": False})  # fmt: skip
    with seeded.session() as s:
        page, row, analysis = store_change(s, CRISIS_URL, [other])
        track(s, page, row, analysis)
    assert _figure(seeded, "nhse-crisis-alternatives", "five-year-total").amount_gbp == before
