"""End to end: an edit of the real NHS England crisis page, analysed by the real extractors,
produces the right commitment events (the page text is read from ../shared/corpus)."""

from __future__ import annotations

import pytest
from dbutil_commitments import CRISIS_URL, corpus_dir, store_change, track

from monitor.change import analyse
from monitor.commitment import load_seed
from monitor.db import Database
from monitor.document import Block, Document


@pytest.fixture
def cdb(db: Database) -> Database:
    """The shared two-backend database fixture (conftest.py), named for these tests."""
    return db


def _document(paragraphs: list[str]) -> Document:
    return Document(blocks=[Block(p) for p in paragraphs])


def test_real_page_edit_moves_funding_and_deadline(cdb: Database) -> None:
    page = corpus_dir() / "seed-documents" / "nhs-england-mental-health-crisis-care.txt"
    paras = [p for p in page.read_text(encoding="utf-8").splitlines() if p.strip()][4:]
    edited = [
        p.replace("total of £179 million", "total of £150 million").replace(
            "By 2023/24, anyone seeking", "By 2024/25, anyone seeking"
        )
        for p in paras
    ]
    assert edited != paras, "the seed page no longer contains the sentences this test edits"
    analysis = analyse(_document(paras), _document(edited))
    load_seed(cdb)
    with cdb.session() as s:
        watched, row, _ = store_change(s, CRISIS_URL, analysis.changes)
        events = track(s, watched, row, analysis)
    got = {(e.kind, e.payload["commitment_id"]) for e in events}
    assert ("funding_changed", "nhse-crisis-alternatives") in got
    assert ("deadline_changed", "nhse-111-mental-health") in got
    assert ("status_suggested", "nhse-111-mental-health") in got
    # no other commitment on this page (11 are linked to it) is touched
    assert {cid for _, cid in got} == {"nhse-crisis-alternatives", "nhse-111-mental-health"}
    funding = next(e for e in events if e.kind == "funding_changed").payload
    assert (funding["before_gbp"], funding["after_gbp"]) == (179e6, 150e6)
    assert funding["figure_after"]["amount_gbp"] == 150e6
    assert "over 5 years" in funding["quote"]
