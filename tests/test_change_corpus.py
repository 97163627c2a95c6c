"""Change intelligence on a sample of real page histories from ../shared/corpus."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from monitor.change import analyse
from monitor.normalise import normalise


def _load(path: Path) -> object:
    return normalise(path.read_bytes(), filename=path.name)


# Labelled on the raw Markdown, independently of the normaliser: the two metadata entries whose
# value churns on every republish ("Still current at", "Updated"), as definition-list items.
_METADATA_DATES = re.compile(r"^(Still current at|Updated):?\s*\n:\s+.*$", re.M)


def test_still_current_only_pairs_are_never_alerts(corpus: Path) -> None:
    """Travel-advice pairs whose raw text differs only in metadata dates are noise."""
    checked = 0
    for vfile in sorted((corpus / "govuk" / "foreign-travel-advice").glob("*/*/versions.json")):
        versions = json.loads(vfile.read_text())["versions"]
        for a, b in pairwise(versions):
            raw_a = (vfile.parent / a["file"]).read_text(encoding="utf-8")
            raw_b = (vfile.parent / b["file"]).read_text(encoding="utf-8")
            if raw_a == raw_b or _METADATA_DATES.sub("", raw_a) != _METADATA_DATES.sub("", raw_b):
                continue
            checked += 1
            old, new = _load(vfile.parent / a["file"]), _load(vfile.parent / b["file"])
            assert not analyse(old, new).meaningful, vfile  # type: ignore[arg-type]
    assert checked >= 20  # 29 such pairs in the shared corpus today


def test_named_page_edits_are_alerts(corpus: Path) -> None:
    """When GOV.UK's change note names the page and its text changed, we report it."""
    missed, total = 0, 0
    for vfile in sorted(
        (corpus / "govuk" / "foreign-travel-advice").glob("*/safety-and-security/versions.json")
    )[:40]:
        versions = json.loads(vfile.read_text())["versions"]
        for a, b in pairwise(versions):
            if "safety and security" not in (b.get("country_update_reason") or "").lower():
                continue
            old, new = _load(vfile.parent / a["file"]), _load(vfile.parent / b["file"])
            if old.text == new.text:
                continue
            total += 1
            missed += not analyse(old, new).meaningful  # type: ignore[arg-type]
    assert total > 10
    assert missed <= total * 0.02


def test_history_banner_and_capitalisation_pairs_are_noise(corpus: Path) -> None:
    for series in (
        "govuk/page-excerpts/hsccs-expert-panel-mental-health-evaluation-government-response",
        "nhs-england/page-excerpts/mental-health-adults-cmhs",
    ):
        folder = corpus / series
        old, new = sorted(folder.glob("undated-*.txt"))[:2]
        result = analyse(_load(old), _load(new))  # type: ignore[arg-type]
        assert not result.meaningful, (series, result.to_json())
        assert result.ignored


def test_coronavirus_business_page_grant_change(corpus: Path) -> None:
    """Some consecutive business-page versions change £ amounts; each is reported as funding."""
    folder = corpus / "govuk" / "coronavirus-hub-pages" / "coronavirus-business-page"
    if not folder.is_dir():
        pytest.skip("coronavirus series absent")
    versions = json.loads((folder / "versions.json").read_text())["versions"]
    found = 0
    for a, b in pairwise(versions):
        result = analyse(_load(folder / a["file"]), _load(folder / b["file"]))  # type: ignore[arg-type]
        for c in result.changes:
            if c.kind == "funding":
                found += 1
                assert c.before or c.after
                assert c.details["after_gbp"] is None or c.details["after_gbp"] > 0
    assert found >= 1
