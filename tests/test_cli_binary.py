"""Binary bodies and files are recognised and never typed as text."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.normalise import binary_reason, normalise, pick_kind

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
ELF = Path(sys.executable).resolve()  # a real executable on every machine that runs the tests


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (PNG, "", "a PNG image"),
        (PNG, "text/html", "a PNG image"),  # magic numbers beat a wrong content type
        (b"\x1f\x8b\x08\x00" + b"x" * 100, "", "gzip data"),
        (b"plain words", "image/jpeg", "declared image/jpeg"),
        (b"a\x00b\x00c" * 50, "", "NUL bytes"),
        (bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 20 + b"text" * 10, "", "control characters"),
    ],
)
def test_binary_is_recognised(body: bytes, content_type: str, expected: str) -> None:
    assert binary_reason(body, content_type) == expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><text>42</text></svg>", "image/svg+xml"),
        ("Funding of £5 million".encode("utf-16"), ""),  # UTF-16 text has NULs, and a BOM
        (b"<html><body><p>A stray \x00 byte</p></body></html>", "text/html; charset=utf-8"),
        (b"\x1b[1mbold\x1b[0m terminal text with an escape or two " * 5, ""),
        (b"", ""),
    ],
)
def test_text_is_not_mistaken_for_binary(body: bytes, content_type: str) -> None:
    assert binary_reason(body, content_type) is None


def test_a_binary_body_has_no_blocks_whatever_it_claims_to_be() -> None:
    for ctype in ("", "text/plain", "application/json"):
        doc = normalise(PNG, url="https://www.gov.uk/x", content_type=ctype)
        assert doc.format == "binary" and doc.blocks == []
        assert "binary body (a PNG image" in doc.ignored[0].reason
    doc = normalise(ELF.read_bytes(), filename=str(ELF))
    assert doc.format == "binary" and doc.blocks == []


def test_documents_that_are_binary_on_disk_still_go_to_their_extractor() -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(32)) * 20
    assert pick_kind(pdf) == "attachment"
    assert pick_kind(PNG) == "binary"


@pytest.mark.slow
def test_compare_two_binary_files_says_so_and_reports_no_change(tmp_path: Path) -> None:
    other = tmp_path / "random.bin"
    other.write_bytes(os.urandom(3000) + b"\x00")
    proc = policy_monitor("compare", str(ELF), str(other))
    assert proc.returncode == 0, proc.stderr
    assert "MEANINGFUL" not in proc.stdout
    assert "not compared: both files are binary, not text" in proc.stdout
    assert "£" not in proc.stdout
    proc = policy_monitor("compare", str(ELF), str(other), "--json")
    data = json.loads(proc.stdout)
    assert {"meaningful", "significance", "summary", "changes", "ignored"} <= set(data)
    assert data["meaningful"] is False and data["changes"] == [] and data["significance"] == 0
    assert data["binary"] == ["old", "new"]


@pytest.mark.slow
def test_compare_binary_against_text_is_not_a_funding_change(tmp_path: Path) -> None:
    text = tmp_path / "old.txt"
    text.write_text("We will invest £4 million in crisis care.\n", encoding="utf-8")
    data = json.loads(policy_monitor("compare", str(ELF), str(text), "--json").stdout)
    assert data["meaningful"] is False and data["changes"] == []
    assert data["binary"] == ["old"] and "the old file is binary" in data["summary"]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"id": "b", "old": str(ELF), "new": str(text)})
        + "\n"
        + json.dumps({"id": "t", "old": str(text), "new": str(text)})
        + "\n",
        encoding="utf-8",
    )
    lines = [
        json.loads(x) for x in policy_monitor("compare", "--batch", str(pairs)).stdout.splitlines()
    ]
    assert lines[0]["binary"] == ["old"] and lines[0]["changes"] == []
    assert "binary" not in lines[1]  # a text pair keeps exactly the old keys
