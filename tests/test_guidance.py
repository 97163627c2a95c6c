"""Guidance changes and one-line summaries, driven by tests/cases/guidance.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.change import analyse
from monitor.diff import Hunk
from monitor.extract import Change, typed_changes
from monitor.extract.guidance import site_kind
from monitor.extract.summary import money, span
from monitor.normalise import normalise

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "cases" / "guidance.yml").read_text("utf-8"))
FIXTURE = HERE / "fixtures" / "sources" / "nice-update-information.html"
NICE_URL = "https://www.nice.org.uk/guidance/cg192/chapter/Update-information"


def _hunk(case: dict[str, Any]) -> Hunk:
    old, new = str(case["old"]), str(case["new"])
    return Hunk(
        tuple(old.splitlines()), tuple(new.splitlines()), case.get("section", "S"),
        case.get("context", ""),
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES["extract"], ids=[c["name"] for c in CASES["extract"]])
def test_guidance_case(case: dict[str, Any]) -> None:
    got = [c for c in typed_changes(_hunk(case), site=case.get("site")) if c.kind == "guidance"]
    shown = [(c.before, c.after, c.details) for c in got]
    assert len(got) == len(case["expect"]), shown
    for change, want in zip(got, case["expect"], strict=True):
        for key in ("before", "after", "summary"):
            if key in want:
                assert getattr(change, key) == want[key], (key, change)
        for key, value in (want.get("details") or {}).items():
            assert change.details.get(key) == value, (key, change.details)
        assert change.section == case.get("section", "S")
        assert change.to_json()["summary"] == change.summary
    for action in case.get("none_of", []):
        assert all(c.details.get("action") != action for c in got), shown


@pytest.mark.parametrize("case", CASES["summaries"], ids=[c["name"] for c in CASES["summaries"]])
def test_summary_case(case: dict[str, Any]) -> None:
    c = case["change"]
    change = Change(
        c["kind"], c.get("before"), c.get("after"), c.get("text") or c.get("after") or "",
        c.get("section", ""), c.get("details") or {},
    )  # fmt: skip
    assert change.summary == case["summary"]


def test_site_kinds() -> None:
    assert site_kind("https://www.nice.org.uk/guidance/ng10") == "nice"
    assert site_kind("govuk-api") == "nice"
    assert site_kind("https://www.gov.uk/guidance/x") == "nice"
    assert site_kind("https://www.england.nhs.uk/x") == "other"
    assert site_kind("nhs-england-html") == "other"
    assert site_kind("") == site_kind(None) == site_kind("text") == "unknown"


def test_money_and_spans_read_as_people_say_them() -> None:
    assert [money(39e6), money(2.3e9), money(2500), money(1.25e6)] == [
        "£39 million",
        "£2.3 billion",
        "£2,500",
        "£1.25 million",
    ]
    assert [span(366), span(730), span(14), span(91), span(3), span(1)] == [
        "1 year",
        "2 years",
        "2 weeks",
        "3 months",
        "3 days",
        "1 day",
    ]


def test_new_update_entry_on_a_nice_page_reads_as_a_sentence() -> None:
    """The whole pipeline on a NICE 'Update information' page: one dated guidance update."""
    old = FIXTURE.read_bytes()
    entry = b"<h3>January 2026</h3>\n  <p>We added a recommendation on follow-up care.</p>\n  "
    new = old.replace(b"<h3>February 2020</h3>", entry + b"<h3>February 2020</h3>")
    result = analyse(normalise(old, url=NICE_URL), normalise(new, url=NICE_URL))
    guidance = [c for c in result.changes if c.kind == "guidance"]
    assert [c.details.get("date") for c in guidance] == ["January 2026"], result.to_json()
    assert "Guidance updated, January 2026: We added a recommendation on follow-up care." in (
        result.summary
    )
    assert "(none)" not in result.summary


def test_analysis_summary_is_built_from_the_change_summaries() -> None:
    def doc(text: str) -> Any:
        return normalise(text.encode(), filename="p.txt")

    result = analyse(doc("We will spend £261 million."), doc("We will spend £300 million."))
    assert result.summary == "Funding raised by £39 million (15%): £261 million -> £300 million"
    nothing = analyse(doc("Same."), doc("Same."))
    assert nothing.summary == "no substantive change"
