"""Wording shared by every command: exit codes, the default database, plurals, indents, paths."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.db import DEFAULT_URL
from monitor.terminal import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, plural

REPO = Path(__file__).resolve().parents[1]
CODES = {"0", "1", "2", str(EXIT_INTERRUPTED), str(EXIT_BROKEN_PIPE)}


def test_plural() -> None:
    assert [plural(n, "page") for n in (0, 1, 2)] == ["0 pages", "1 page", "2 pages"]
    assert (
        plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"
    )


def test_exit_codes_are_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^\| `(\d+)` \|", readme, flags=re.M)) == CODES


@pytest.mark.slow
def test_exit_codes_are_in_help_and_the_default_database_is_described_once() -> None:
    top = policy_monitor("--help")
    assert top.returncode == 0
    listed = re.findall(r"^\s+(\d+)\s{2,}\S", top.stdout.split("Exit codes:")[1], flags=re.M)
    assert set(listed) == CODES
    for command in (
        ("events",),
        ("commitments", "list"),
        ("commitments", "deadlines"),
        ("db", "upgrade"),
    ):
        text = " ".join(policy_monitor(*command, "--help").stdout.split())
        assert f"$POLICY_MONITOR_DATABASE_URL, then {DEFAULT_URL}" in text, command
        assert "./policy-monitor.db" not in text


@pytest.mark.slow
def test_wrapped_compare_lines_keep_a_hanging_indent(tmp_path: Path) -> None:
    sentence = (
        "We will invest {} by 2024/25 in urgent and emergency mental health care across every area."
    )
    (tmp_path / "old.md").write_text(
        "## Care\n\n" + sentence.format("£261m") + "\n", encoding="utf-8"
    )
    (tmp_path / "new.md").write_text(
        "## Care\n\n" + sentence.format("£300m") + "\n", encoding="utf-8"
    )
    proc = policy_monitor(
        "compare", str(tmp_path / "old.md"), str(tmp_path / "new.md"), env={"COLUMNS": "60"}
    )
    lines = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("We will invest"))
    assert lines[first].startswith(" " * 10) and lines[first + 1].startswith(" " * 10)
    assert lines[first + 1].strip() and max(len(line) for line in lines) <= 60


def _venv_ready() -> bool:
    stamp = REPO / ".venv" / ".installed"
    return stamp.exists() and stamp.stat().st_mtime >= (REPO / "pyproject.toml").stat().st_mtime


@pytest.mark.slow
@pytest.mark.skipif(not _venv_ready(), reason="scripts/monitor would install .venv first")
def test_scripts_monitor_runs_where_the_user_stands(tmp_path: Path) -> None:
    header = (REPO / "scripts" / "monitor").read_text(encoding="utf-8")
    assert "monitor run " not in header  # no such command
    (tmp_path / "old.md").write_text("## Care\n\nWe will invest £261m.\n", encoding="utf-8")
    (tmp_path / "new.md").write_text("## Care\n\nWe will invest £300m.\n", encoding="utf-8")
    proc = subprocess.run(
        [str(REPO / "scripts" / "monitor"), "compare", "old.md", "new.md", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changes"][0]["after"] == "£300m"
    proc = subprocess.run(
        [str(REPO / "scripts" / "monitor"), "commitments", "seed", "--db", "sqlite:///here.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "here.db").exists()  # the database lands in the user's folder
