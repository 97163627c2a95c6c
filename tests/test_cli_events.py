"""``events``: a table people can read at 80 columns, JSON lines for machines, a hint if empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.db import Database
from monitor.events_cli import summary
from monitor.outbox import emit

pytestmark = pytest.mark.slow
LONG_TITLE = "Adult crisis and acute mental health care " * 3


@pytest.fixture
def outbox(db: Database) -> str:
    with db.session() as s:
        emit(s, "page_new", "k1", {"url": "https://www.gov.uk/a", "title": "A page"})
        emit(
            s, "page_changed", "k2",
            {"url": "https://www.england.nhs.uk/x", "title": LONG_TITLE,
             "summary": "funding: £261m -> £300m", "changes": []},
        )  # fmt: skip
        emit(s, "page_moved", "k3", {"url": "u", "from": "https://a/1", "to": "https://a/2"})
    return db.url


def test_table_reads_at_80_columns(outbox: str) -> None:
    proc = policy_monitor("events", "--db", outbox, env={"COLUMNS": ""})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "3 events, newest first"
    assert lines[1].split() == ["id", "event", "status", "created"]
    assert max(len(line) for line in lines) <= 80
    assert "page_changed" in proc.stdout and "pending" in proc.stdout
    assert "Adult crisis and acute mental health care" in proc.stdout  # cut to one line
    assert "https://a/1 -> https://a/2" in proc.stdout
    assert not proc.stdout.lstrip().startswith("{")


def test_wide_table_has_a_summary_column(outbox: str) -> None:
    proc = policy_monitor("events", "--db", outbox, env={"COLUMNS": "140"})
    assert proc.stdout.splitlines()[1].split() == ["id", "kind", "status", "created", "summary"]
    row = next(line for line in proc.stdout.splitlines() if "page_changed" in line)
    assert "funding: £261m -> £300m" in row or row.endswith("…")


def test_json_lines_keep_the_old_format(outbox: str) -> None:
    proc = policy_monitor("events", "--db", outbox, "--json")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["kind"] for r in rows] == ["page_moved", "page_changed", "page_new"]
    assert set(rows[0]) == {"id", "kind", "status", "created_at", "payload"}
    assert rows[1]["payload"]["summary"] == "funding: £261m -> £300m"


def test_an_empty_outbox_gets_a_hint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    proc = policy_monitor("events", "--db", url)
    assert proc.returncode == 0 and proc.stdout == ""
    assert "no events yet" in proc.stderr and "policy-monitor check" in proc.stderr
    assert policy_monitor("events", "--db", url, "--json").stdout == ""
    assert (
        "no delivered events"
        in policy_monitor("events", "--db", url, "--status", "delivered").stderr
    )


def test_one_line_summaries() -> None:
    assert summary("page_changed", {"title": "T", "summary": "s"}) == "T: s"
    assert summary("page_new", {"url": "https://x/"}) == "https://x/"
    deadline = {"commitment_title": "NHS 111", "figure_key": "universal", "end": "2024-03-31"}
    assert summary("deadline_passed", deadline) == "NHS 111: universal ends 2024-03-31"
    suggested = {"commitment_title": "C", "suggested_status": "achieved"}
    assert summary("status_suggested", suggested) == "C: suggested status achieved"
    assert summary(
        "funding_changed", {"commitment_title": "C", "before": "£1m", "after": "£2m"}
    ) == ("C: £1m -> £2m")
