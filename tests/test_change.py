"""The analyse() facade: verdicts, typed changes and noise, driven by tests/cases/analyse.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.change import Analysis, Change, analyse
from monitor.document import Block, Document
from monitor.normalise import normalise

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "analyse.yml").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_analyse_case(case: dict[str, Any]) -> None:
    old = normalise(str(case["old"]).encode(), filename=case["filename"])
    new = normalise(str(case["new"]).encode(), filename=case["filename"])
    result = analyse(old, new)
    assert result.meaningful is case["meaningful"], result.to_json()
    assert sorted({c.kind for c in result.changes}) == case["kinds"], result.to_json()
    reasons = {i.reason for i in result.ignored}
    for reason in case.get("ignored", []):
        assert reason in reasons, (reason, reasons)
    if "summary_contains" in case:
        assert case["summary_contains"] in result.summary
    if result.meaningful:
        assert 0.0 < result.significance <= 1.0 and result.reasons
    else:
        assert result.significance == 0.0


def test_first_sighting_is_not_meaningful() -> None:
    result = analyse(None, Document(blocks=[Block("x")]))
    assert not result.meaningful and result.summary == "first snapshot"


def test_to_json_matches_the_compare_contract() -> None:
    result = Analysis(True, 0.12345, "s", [Change("funding", "£1m", "£2m", "t", "S", {"x": 1})])
    assert result.to_json() == {
        "meaningful": True,
        "significance": 0.123,
        "summary": "s",
        "changes": [
            {
                "kind": "funding",
                "before": "£1m",
                "after": "£2m",
                "text": "t",
                "summary": "Funding changed: £1m -> £2m",
            }
        ],
        "ignored": [],
    }


def test_funding_outweighs_a_small_text_edit() -> None:
    def pair(a: str, b: str) -> Analysis:
        return analyse(
            normalise(a.encode(), filename="a.txt"), normalise(b.encode(), filename="a.txt")
        )

    funding = pair("We will spend £1m on this.", "We will spend £5m on this.")
    typo = pair("Contact the ofice.", "Contact the office.")
    assert funding.significance > typo.significance > 0


def test_one_megabyte_pair_analyses_well_under_a_second() -> None:
    para = "<p>Paragraph {i}: the trust will receive funding for staff in the region.</p>"
    old_html = "".join(para.format(i=i) for i in range(13500))
    new_html = old_html.replace("Paragraph 5000:", "Paragraph 5000: from April 2026").replace(
        "Paragraph 9000: the trust", "Paragraph 9000: the new trust"
    )
    assert len(old_html) > 1_000_000
    old = normalise(
        f"<html><body><main>{old_html}</main></body></html>".encode(), filename="a.html"
    )
    new = normalise(
        f"<html><body><main>{new_html}</main></body></html>".encode(), filename="a.html"
    )
    result = analyse(old, new)  # its speed is measured by bench/evaluate_changes.py
    assert sorted(c.kind for c in result.changes) == ["deadline", "text"]
