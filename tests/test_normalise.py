"""Normaliser behaviour, driven by tests/cases/normalise.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.document import Document
from monitor.normalise import SOURCES, STEPS, features, normalise, pick_kind
from monitor.normalise.registry import run_steps

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "normalise.yml").read_text("utf-8"))


def _run(case: dict[str, Any]) -> Document:
    body = str(case["input"]).encode(case.get("encoding", "utf-8"))
    return normalise(
        body, url=case.get("url", ""), filename=case.get("filename", ""), kind=case.get("kind")
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalise_case(case: dict[str, Any]) -> None:
    doc = _run(case)
    got = [(b.kind, b.text) for b in doc.blocks]
    pos = 0
    for want in case.get("blocks", []):
        kind, text = (want[0], want[1]) if isinstance(want, list) else (None, want)
        idx = next(
            (i for i in range(pos, len(got)) if got[i][1] == text and kind in (None, got[i][0])),
            None,
        )
        assert idx is not None, f"block {want!r} not found in order in {got}"
        pos = idx + 1
    for bad in case.get("absent", []):
        assert bad not in doc.text, f"{bad!r} should have been dropped: {doc.text!r}"
    reasons = {i.reason for i in doc.ignored}
    for reason in case.get("ignored", []):
        assert reason in reasons, f"expected {reason!r} among {reasons}"
    for key, value in (case.get("meta") or {}).items():
        assert doc.meta.get(key) == value, key


def test_registry_lists_every_source_and_step_with_help() -> None:
    help_lines = features()
    assert {"govuk-api", "govuk-html", "nhs-england-html", "nice-html", "markdown", "yaml"} <= set(
        SOURCES
    )
    assert {"metadata-dates", "history-banner", "cookie-banner", "csp-nonce"} <= set(STEPS)
    assert all(help_lines.values()), [k for k, v in help_lines.items() if not v]


def test_unknown_step_or_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown normalise step"):
        run_steps(Document(), ["no-such-step"])
    with pytest.raises(ValueError, match="unknown normaliser"):
        normalise(b"x", kind="no-such-kind")


def test_steps_are_configurable_per_source() -> None:
    body = b"Still current at: 26 March 2025\n\nBody."
    assert "Still current" not in normalise(body, filename="a.txt").text
    assert "Still current" in normalise(body, filename="a.txt", steps=["whitespace"]).text


@pytest.mark.parametrize(
    ("url", "filename", "body", "kind"),
    [
        ("https://www.gov.uk/x", "", b"<html><body></body></html>", "govuk-html"),
        ("https://www.england.nhs.uk/x/", "", b"<!doctype html><html></html>", "nhs-england-html"),
        ("https://www.nice.org.uk/guidance/ng10", "", b"<html></html>", "nice-html"),
        ("", "item.json", b'{"base_path": "/x", "details": {}}', "govuk-api"),
        ("", "x.json", b'{"a": 1}', "json"),
        ("", "x.yaml", b"a: 1", "yaml"),
        ("", "x.md", b"# x", "markdown"),
        ("", "", b"plain words", "text"),
        ("", "", b"  <!DOCTYPE html><html>", "html"),
    ],
)
def test_pick_kind(url: str, filename: str, body: bytes, kind: str) -> None:
    assert pick_kind(body, url=url, filename=filename) == kind


def test_typical_govuk_page_keeps_every_paragraph() -> None:
    """A 60 KB page in full; how long it takes is measured by bench/evaluate_changes.py."""
    para = "<p>The government will invest £2.3 billion a year by 2023/24 in services.</p>"
    page = f"<html><body><main id='content'><h1>T</h1>{para * 800}</main></body></html>".encode()
    assert len(page) > 60_000
    doc = normalise(page, url="https://www.gov.uk/x")
    assert [b.kind for b in doc.blocks].count("p") == 800


def test_every_source_and_step_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "change-intelligence.md").read_text(
        "utf-8"
    )
    ours = {
        f"source:{n}" for n, s in SOURCES.items() if s.fn.__module__.startswith("monitor.normalise")
    }
    ours |= {
        f"step:{n}" for n, fn in STEPS.items() if fn.__module__.startswith("monitor.normalise")
    }
    assert ours <= set(features())
    missing = sorted(name for name in ours if f"`{name}`" not in doc)
    assert not missing, f"document these in docs/change-intelligence.md: {missing}"
