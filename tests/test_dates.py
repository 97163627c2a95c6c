"""The date grammar, date roles and deadline changes, driven by tests/cases/dates.yml."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.change import analyse
from monitor.commitment_spec import FigureSpec
from monitor.date_roles import role
from monitor.dates import find, latest_day, parse_period, reference_date
from monitor.document import Block, Document
from monitor.evidence import suggest_status
from monitor.extract import deadline

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "dates.yml").read_text("utf-8"))
ROOT = Path(__file__).resolve().parent.parent


def _ref(case: dict[str, Any]) -> date | None:
    return date.fromisoformat(case["ref"]) if case.get("ref") else None


@pytest.mark.parametrize("case", CASES["parse"], ids=[c["text"] for c in CASES["parse"]])
def test_parse(case: dict[str, Any]) -> None:
    got = [
        [s.text, s.start.isoformat(), s.end.isoformat(), s.precision]
        for s in find(case["text"], _ref(case))
    ]
    assert got == case["expect"]


@pytest.mark.parametrize("case", CASES["roles"], ids=[c["sentence"] for c in CASES["roles"]])
def test_role(case: dict[str, Any]) -> None:
    sentence = case["sentence"]
    (span,) = [s for s in find(sentence, date(2025, 1, 1)) if s.text == case["date"]]
    assert role(sentence, span, span.pos) == case["role"]


@pytest.mark.parametrize("case", CASES["changes"], ids=[c["name"] for c in CASES["changes"]])
def test_deadline_change(case: dict[str, Any]) -> None:
    got = deadline.extract(case["old"], case["new"], "S", _ref(case))
    assert len(got) == len(case["expect"]), [(c.before, c.after, c.details) for c in got]
    for change, want in zip(got, case["expect"], strict=True):
        for key in ("before", "after"):
            if key in want:
                assert getattr(change, key) == want[key], (key, change)
        for key, value in (want.get("details") or {}).items():
            assert change.details.get(key) == value, (key, change.details)
        assert {"before_start", "before_end", "after_start", "after_end"} <= set(change.details)


def _doc(text: str, meta: dict[str, Any] | None = None) -> Document:
    head, body = text.split("\n\n", 1)
    blocks = [Block(head, head, "h"), *(Block(p, head) for p in body.split("\n\n"))]
    return Document(blocks, dict(meta or {}))


@pytest.mark.parametrize("case", CASES["analyse"], ids=[c["name"] for c in CASES["analyse"]])
def test_analyse_and_status(case: dict[str, Any]) -> None:
    result = analyse(_doc(case["old"]), _doc(case["new"]))
    assert sorted({c.kind for c in result.changes}) == case["kinds"]
    suggested = [s for c in result.changes if (s := suggest_status(c))]
    assert bool(suggested) is case["status"], suggested


def test_yearless_dates_take_the_year_of_the_documents_own_date() -> None:
    old = _doc("Entry\n\nRestrictions remain until 22 February.", {"updated": "20 February 2026"})
    new = _doc("Entry\n\nRestrictions remain until 8 March.", {"updated": "25 February 2026"})
    (change,) = [c for c in analyse(old, new).changes if c.kind == "deadline"]
    assert change.details["after_end"] == "2026-03-08"
    assert change.details["before_end"] == "2026-02-22"


def test_without_a_reference_yearless_dates_compare_but_report_no_placeholder_year() -> None:
    (change,) = deadline.extract("Open until 22 February.", "Open until 8 March.", "S")
    assert change.details["days"] == 15  # 2000 is a leap year
    assert change.details["before_end"] is None and change.details["after_end"] is None


def test_reference_date_prefers_the_publishers_date() -> None:
    assert reference_date({"public_updated_at": "2024-05-01T10:00:00Z"}) == date(2024, 5, 1)
    assert reference_date({"updated": "3 June 2025"}) == date(2025, 6, 3)
    assert reference_date({"change_notes": [{"at": "2021-01-02", "note": "x"}]}) == date(2021, 1, 2)
    assert reference_date({}) is None
    assert latest_day("On 1 May 2024 and by 31 March 2025 (see 2030).") == date(2025, 3, 31)


@pytest.mark.parametrize(
    ("when", "start", "end"),
    [
        ("2023/24", date(2023, 4, 1), date(2024, 3, 31)),
        ("by 2023/24", date(2023, 4, 1), date(2024, 3, 31)),
        ("2023/2025", date(2023, 1, 1), date(2025, 12, 31)),
        ("Q1 2025", date(2025, 1, 1), date(2025, 3, 31)),
        ("31 March 2025", date(2025, 3, 31), date(2025, 3, 31)),
        ("31/03/2025", date(2025, 3, 31), date(2025, 3, 31)),
        ("winter 2024", date(2024, 12, 1), date(2025, 2, 28)),
        ("late 2014", date(2014, 9, 1), date(2014, 12, 31)),
        ("2014-10-01", date(2014, 10, 1), date(2014, 10, 1)),
    ],
)
def test_registry_reads_every_form_the_extractor_reads(when: str, start: date, end: date) -> None:
    assert parse_period(when) == (start, end)
    fig = FigureSpec(key="k", kind="deadline", when=when)
    assert (fig.start, fig.end) == (start, end)


def test_registry_rejects_what_is_not_a_date() -> None:
    with pytest.raises(ValueError):
        parse_period("soon")


def test_matcher_imports_no_sqlalchemy() -> None:
    code = "import sys, monitor.matching; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert not [m for m in json.loads(out.stdout) if m.split(".")[0] == "sqlalchemy"]
