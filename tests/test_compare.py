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


CRISIS_URL = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/"
MATCH_KEYS = {"id", "score", "reason", "change_index"}


@pytest.fixture
def crisis(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "crisis-old.md", tmp_path / "crisis-new.md"
    old.write_text(
        "## Crisis care\n\nEveryone can get urgent mental health support through NHS 111 by 2023/24.\n",
        encoding="utf-8",
    )
    new.write_text(
        "## Crisis care\n\nEveryone can get urgent mental health support through NHS 111 by 2024/25.\n",
        encoding="utf-8",
    )
    return old, new


def test_commitments_from_the_shipped_seed(crisis: tuple[Path, Path]) -> None:
    proc = _run(str(crisis[0]), str(crisis[1]), "--url", CRISIS_URL, "--json", "--commitments")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == CONTRACT_KEYS | {"commitments"}
    assert data["commitments"], data
    for hit in data["commitments"]:
        assert set(hit) == MATCH_KEYS and 0 < hit["score"] <= 1 and hit["reason"]
        assert data["changes"][hit["change_index"]]["kind"] == "deadline"
    assert "nhse-111-mental-health" in {hit["id"] for hit in data["commitments"]}
    assert data["changes"][0]["summary"] == "Deadline slipped by 1 year: by 2023/24 -> by 2024/25"
    report = _run(str(crisis[0]), str(crisis[1]), "--url", CRISIS_URL, "--commitments")
    assert "commitment nhse-111-mental-health" in report.stdout, report.stdout


def test_commitments_in_a_batch(
    crisis: tuple[Path, Path], pages: dict[str, Path], tmp_path: Path
) -> None:
    jl = tmp_path / "pairs.jsonl"
    lines = [
        {"id": "crisis", "old": str(crisis[0]), "new": str(crisis[1]), "url": CRISIS_URL},
        {"id": "noise", "old": str(pages["old.md"]), "new": str(pages["noise.md"])},
        {"id": "bad", "old": str(pages["old.md"]), "new": str(tmp_path / "absent.md")},
    ]
    jl.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    proc = _run("--batch", str(jl), "--json", "--commitments")
    out = {o["id"]: o for o in map(json.loads, proc.stdout.splitlines())}
    assert "nhse-111-mental-health" in {h["id"] for h in out["crisis"]["commitments"]}
    assert out["noise"]["commitments"] == []
    assert "error" in out["bad"] and "commitments" not in out["bad"]


def test_commitments_from_the_database_registry(
    db_url: str, crisis: tuple[Path, Path], tmp_path: Path
) -> None:
    from monitor.commitment import import_specs, parse_registry
    from monitor.db import Database

    registry = """
version: 1
commitments:
  - id: local-111-pledge
    title: Our local NHS 111 mental health option
    pledge: Everyone can get urgent mental health support through NHS 111.
    source: {title: Local plan, url: "https://example.org/plan", date: 2024-01-01}
    keywords: [NHS 111, urgent mental health support]
    figures:
      - {key: local-111, kind: deadline, label: option live, when: "2023/24"}
"""
    db = Database(db_url)
    with db.session() as s:
        import_specs(s, parse_registry(registry))
    db.dispose()
    proc = _run(str(crisis[0]), str(crisis[1]), "--json", "--commitments", "--db", db_url)
    assert proc.returncode == 0, proc.stderr
    ids = {hit["id"] for hit in json.loads(proc.stdout)["commitments"]}
    assert ids == {"local-111-pledge"}  # the database's registry, not the seed's 38


def test_an_empty_or_missing_database_falls_back_to_the_seed(
    crisis: tuple[Path, Path], tmp_path: Path
) -> None:
    from monitor.db import Database

    Database(f"sqlite:///{tmp_path / 'empty.db'}").dispose()  # schema, no commitments
    for name in ("empty.db", "missing.db"):
        url = f"sqlite:///{tmp_path / name}"
        args = ("--url", CRISIS_URL, "--json", "--commitments", "--db", url)
        proc = _run(str(crisis[0]), str(crisis[1]), *args)
        assert proc.returncode == 0, proc.stderr
        hits = json.loads(proc.stdout)["commitments"]
        assert "nhse-111-mental-health" in {h["id"] for h in hits}
    assert not (tmp_path / "missing.db").exists()  # a registry lookup never creates a database


def test_plain_compare_does_not_load_the_database_code() -> None:
    code = (
        "import sys, monitor.compare; "
        "print(sorted(m for m in ('sqlalchemy', 'monitor.db', 'monitor.matching') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr
