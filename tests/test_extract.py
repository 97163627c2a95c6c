"""Typed-change extractors, driven by tests/cases/extract.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.diff import Hunk
from monitor.extract import Change, text_change, typed_changes
from monitor.extract.common import sentence_at

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "extract.yml").read_text("utf-8"))


def extract_hunk(hunk: Hunk, kinds: tuple[str, ...] | None = None) -> list[Change]:
    """What analyse does with one hunk: its typed changes, else one text change."""
    return typed_changes(hunk, kinds) or [text_change(hunk)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_extract_case(case: dict[str, Any]) -> None:
    section = case.get("section", "S")
    hunk = Hunk(tuple(str(case["old"]).splitlines()), tuple(str(case["new"]).splitlines()), section)
    kinds = tuple(case["kinds"])
    got = [c for c in extract_hunk(hunk, kinds) if c.kind in kinds]
    expect = case["expect"]
    assert len(got) == len(expect), [(c.before, c.after, c.details) for c in got]
    for change, want in zip(got, expect, strict=True):
        for key in ("before", "after"):
            if key in want:
                assert getattr(change, key) == want[key], (key, change)
        for key, value in (want.get("details") or {}).items():
            assert change.details.get(key) == value, (key, change.details)
        assert change.section == section
        assert change.text


def test_hunk_without_typed_values_is_a_text_change_with_only_changed_sentences() -> None:
    hunk = Hunk(("Keep this. Old claim here.",), ("Keep this. New claim here.",), "Intro")
    (change,) = extract_hunk(hunk)
    assert (change.kind, change.before, change.after) == (
        "text",
        "Old claim here.",
        "New claim here.",
    )


def test_text_change_for_pure_addition() -> None:
    change = text_change(Hunk((), ("A new paragraph.",), "S"))
    assert (change.before, change.after, change.details["action"]) == (
        None,
        "A new paragraph.",
        "added",
    )


def test_sentence_context() -> None:
    text = "First one. The fund is £5m this year. Last one."
    i = text.index("£5m")
    assert sentence_at(text, i, i + 3) == "The fund is £5m this year."


DETAILS_SCHEMA = {
    "funding": {"before_gbp", "after_gbp", "delta_gbp", "per_year"},
    "deadline": {"before_start", "before_end", "after_start", "after_end", "direction", "days"},
    "target": {"before_value", "after_value", "unit"},
    "guidance": {"codes", "action"},
    "status": {"before_status", "after_status"},
}


def test_every_typed_change_carries_the_agreed_details_keys() -> None:
    """Commitment matching reads these keys; a missing one would break it silently."""
    seen: set[str] = set()
    for case in CASES:
        hunk = Hunk(tuple(str(case["old"]).splitlines()), tuple(str(case["new"]).splitlines()))
        for change in extract_hunk(hunk):
            if change.kind in DETAILS_SCHEMA:
                seen.add(change.kind)
                assert DETAILS_SCHEMA[change.kind] <= set(change.details), change
            if change.kind == "deadline":
                assert change.details["direction"] in {
                    "slipped",
                    "brought forward",
                    "set",
                    "removed",
                    "unchanged",
                }
            if change.kind == "guidance":
                assert change.details["action"] in {
                    "added",
                    "removed",
                    "amended",
                    "withdrawn",
                    "replaced",
                }
    assert seen == set(DETAILS_SCHEMA)
