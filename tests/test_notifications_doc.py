"""docs/notifications.md shows what the code sends: its samples are re-made and compared."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "notifications.md"


def blocks(text: str) -> dict[str, str]:
    """The fenced block after each ``<!-- name -->`` marker."""
    found = {}
    for m in re.finditer(r"<!-- ([a-z-]+) -->\n(`{3,})[a-z]*\n(.*?)\n\2\n", text, re.DOTALL):
        found[m.group(1)] = m.group(3) + "\n"
    return found


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location(
        "samples", REPO / "scripts/notification_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("samples")
    module.main(out)
    return out


def read(path: Path) -> str:
    return path.read_text().replace("\r\n", "\n")


def test_doc_has_every_sample() -> None:
    assert set(blocks(DOC.read_text())) == {
        "slack-payload", "email-headers", "email-text", "digest-text", "apprise-body",
    }  # fmt: skip


def test_doc_samples_are_what_the_code_sends(samples: Path) -> None:
    doc = blocks(DOC.read_text())
    assert json.loads(doc["slack-payload"]) == json.loads(read(samples / "slack.json"))
    undated = [
        ln for ln in read(samples / "alert.headers").splitlines() if not ln.startswith("Date:")
    ]
    assert [ln for ln in doc["email-headers"].splitlines() if not ln.startswith("Date:")] == undated
    assert doc["email-text"] == read(samples / "alert.txt")
    assert doc["digest-text"] == read(samples / "digest.txt")
    assert doc["apprise-body"] == read(samples / "apprise.md")


def test_screenshots_are_small() -> None:
    for name in ("email-alert.png", "email-digest.png"):
        assert (REPO / "docs" / "img" / name).stat().st_size < 200_000
