"""``commitments``: refused statuses, plain-text titles, 80-column tables, hints, deadlines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.commitment import SEED_PATH, STATUSES, load_registry

pytestmark = pytest.mark.slow
SHIPPED = len(load_registry(SEED_PATH))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('commitments') / 'seeded.db'}"
    proc = policy_monitor("commitments", "seed", "--db", url)
    assert proc.stdout.strip() == f"loaded {SHIPPED} commitments", proc.stderr
    return url


def test_an_unknown_status_is_refused_with_the_valid_ones(seeded: str) -> None:
    proc = policy_monitor("commitments", "list", "--status", "bogus", "--db", seeded)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "'bogus' is not one of" in proc.stderr
    assert all(status in proc.stderr for status in STATUSES)


@pytest.mark.parametrize("columns", ["", "80"])  # "": a pipe with no $COLUMNS
def test_the_list_reads_at_80_columns(columns: str, seeded: str) -> None:
    proc = policy_monitor("commitments", "list", "--db", seeded, env={"COLUMNS": columns})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{SHIPPED} commitments"
    assert max(len(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)  # no padding littering files
    assert len(lines) < 3 * SHIPPED + 5  # was 307 lines of cells cut to "Ment…"
    assert "…" not in proc.stdout
    for spec in load_registry(SEED_PATH):
        assert spec.id in proc.stdout  # every id whole, on one line
    assert re.search(r"nhse-111-mental-health\s+\w+\s+2024-03-31", proc.stdout)


def test_a_wide_terminal_gets_every_column(seeded: str) -> None:
    proc = policy_monitor("commitments", "list", "--db", seeded, env={"COLUMNS": "150"})
    header = next(line for line in proc.stdout.splitlines() if line.strip().startswith("id"))
    assert header.split() == ["id", "title", "status", "bodies", "deadline", "figures"]
    assert max(len(line) for line in proc.stdout.splitlines()) <= 150


def test_titles_are_text_never_markup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    title = "Beds [/] and [red]now[/red] [link=x]"
    proc = policy_monitor(
        "commitments", "add", "--db", url, "--id", "markup-pledge", "--title", title,
        "--pledge", "Open more crisis beds.", "--source-url", "https://www.gov.uk/x",
    )  # fmt: skip
    assert proc.stdout.startswith("added 1 commitment: markup-pledge"), proc.stderr
    for columns in ("80", "150"):
        listed = policy_monitor("commitments", "list", "--db", url, env={"COLUMNS": columns})
        assert listed.returncode == 0, listed.stderr
        assert title in listed.stdout


def test_an_empty_registry_hints_at_seed(tmp_path: Path) -> None:
    proc = policy_monitor("commitments", "list", "--db", f"sqlite:///{tmp_path / 'e.db'}")
    assert proc.returncode == 0 and proc.stdout.strip() == "0 commitments"
    assert f"`policy-monitor commitments seed` loads the {SHIPPED} shipped" in proc.stderr


def _deadlines(url: str, *args: str) -> tuple[list[str], str]:
    proc = policy_monitor("commitments", "deadlines", "--db", url, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), proc.stderr


def test_first_deadline_run_reports_from_today_unless_since_says_otherwise(db_url: str) -> None:
    assert policy_monitor("commitments", "seed", "--db", db_url).returncode == 0
    out, err = _deadlines(db_url, "--today", "2025-06-01")
    assert not [line for line in out if line.startswith("deadline_passed")]
    skipped = re.search(r"(\d+) deadlines that passed before 2025-06-01 \(this is the first", err)
    assert skipped and int(skipped.group(1)) > 10, err
    # --since opens the window; only deadlines that ended on or after it are queued
    out, err = _deadlines(db_url, "--today", "2025-06-01", "--since", "2024-01-01")
    passed = [line for line in out if line.startswith("deadline_passed")]
    assert passed and all(re.search(r"ends 202[45]-", line) for line in passed)
    queued = [line for line in out if line.startswith("deadline_")]
    assert out[-1] == (f"{len(queued)} events queued" if len(queued) > 1 else "1 event queued")
    # later runs keep the first run's start: no flood of old deadlines
    out, err = _deadlines(db_url, "--today", "2025-06-01")
    assert out == ["0 events queued"]
    assert "--since DATE includes them" in err
