"""The ``policy-monitor compare`` command, run as a subprocess exactly as outside tools do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXE = REPO / ".venv" / "bin" / "policy-monitor"
CONTRACT_KEYS = {"meaningful", "significance", "summary", "changes", "ignored"}

pytestmark = pytest.mark.slow


def _cmd() -> list[str]:
    return [str(EXE), "compare"] if EXE.exists() else [sys.executable, "-m", "monitor.compare"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_cmd(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture
def pages(tmp_path: Path) -> dict[str, Path]:
    files = {
        "old.md": "## Crisis care\n\nStill current at:\n:   1 May 2025\n\nWe will invest £261m by 2023/24.\n",
        "new.md": "## Crisis care\n\nStill current at:\n:   9 May 2025\n\nWe will invest £300m by 2024/25.\n",
        "noise.md": "## Crisis care\n\nStill current at:\n:   2 June 2025\n\nWe will invest £261m by 2023/24.\n",
        "old.html": "<html><body><main><p>Apply by 31 May 2021.</p></main></body></html>",
        "new.html": "<html><body><main><p>Apply by 30 June 2021.</p></main></body></html>",
    }
    out = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out[name] = tmp_path / name
    return out


def test_two_files_json_contract(pages: dict[str, Path]) -> None:
    proc = _run(
        str(pages["old.md"]), str(pages["new.md"]), "--url", "https://www.gov.uk/x", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == CONTRACT_KEYS
    assert data["meaningful"] is True and 0 < data["significance"] <= 1
    kinds = {c["kind"] for c in data["changes"]}
    assert kinds == {"funding", "deadline"}
    funding = next(c for c in data["changes"] if c["kind"] == "funding")
    assert (funding["before"], funding["after"]) == ("£261m", "£300m")
    assert set(funding) == {"kind", "before", "after", "text", "summary"}
    assert funding["summary"] == "Funding raised by £39 million (15%): £261m -> £300m"
    assert any("still current" in i["reason"] for i in data["ignored"])


def test_noise_only_pair_is_not_meaningful(pages: dict[str, Path]) -> None:
    proc = _run(str(pages["old.md"]), str(pages["noise.md"]), "--json")
    data = json.loads(proc.stdout)
    assert data["meaningful"] is False and data["changes"] == [] and data["ignored"]


def test_readable_report_without_json(pages: dict[str, Path]) -> None:
    proc = _run(str(pages["old.html"]), str(pages["new.html"]))
    assert proc.returncode == 0, proc.stderr
    assert "MEANINGFUL" in proc.stdout and "deadline" in proc.stdout


def test_missing_file_is_exit_code_2(pages: dict[str, Path]) -> None:
    proc = _run(str(pages["old.md"]), str(pages["old.md"].parent / "absent.md"), "--json")
    assert proc.returncode == 2
    assert "absent.md" in proc.stderr


def test_batch_keeps_order_and_reports_bad_lines(pages: dict[str, Path], tmp_path: Path) -> None:
    lines = [
        {"id": "a", "old": "old.md", "new": "new.md", "url": ""},  # relative to the batch file
        {"id": "b", "old": str(pages["old.md"]), "new": str(tmp_path / "missing.md"), "url": ""},
        {"id": "c", "old": str(pages["old.html"]), "new": str(pages["new.html"]), "url": ""},
    ]
    jl = tmp_path / "pairs.jsonl"
    jl.write_text(
        "\n".join([json.dumps(x) for x in lines] + ["{not json"]) + "\n", encoding="utf-8"
    )
    proc = _run("--batch", str(jl), "--json")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c", None]
    assert set(out[0]) == CONTRACT_KEYS | {"id"} and out[0]["meaningful"] is True
    assert "error" in out[1] and "missing.md" in out[1]["error"]
    assert out[2]["changes"][0]["kind"] == "deadline"
    assert "error" in out[3]


def test_batch_uses_a_process_pool_for_large_batches(
    pages: dict[str, Path], tmp_path: Path
) -> None:
    jl = tmp_path / "many.jsonl"
    with jl.open("w") as fh:
        for i in range(300):
            old, new = ("old.md", "new.md") if i % 2 else ("old.md", "noise.md")
            fh.write(json.dumps({"id": i, "old": str(pages[old]), "new": str(pages[new])}) + "\n")
    proc = _run("--batch", str(jl), "--json", "--workers", "2")
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == list(range(300))
    assert [o["meaningful"] for o in out] == [bool(i % 2) for i in range(300)]
