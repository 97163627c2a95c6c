"""Source schedules: intervals and cron lines decide what ``check --due`` checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli import policy_monitor
from localserver import LocalServer, Reply

from monitor.config import ScheduleConfig, parse_config
from monitor.errors import ConfigError
from monitor.schedule import is_due, next_due

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday; London is on UTC in winter


def test_an_interval_is_due_once_it_has_passed() -> None:
    every = ScheduleConfig(every_minutes=30)
    assert is_due(every, None, NOON)  # never checked
    assert not is_due(every, NOON - timedelta(minutes=29), NOON)
    assert is_due(every, NOON - timedelta(minutes=30), NOON)


def test_a_cron_line_is_read_in_london_time() -> None:
    weekdays = ScheduleConfig(cron="0 9 * * mon-fri")
    assert next_due(weekdays, NOON, NOON) == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert next_due(weekdays, saturday_noon, saturday_noon).day == 7  # Monday
    summer = ScheduleConfig(cron="0 9 * * *")
    june = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert next_due(summer, june, june) == datetime(2026, 6, 2, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_a_bad_cron_line_is_a_config_error_on_its_line() -> None:
    text = "sources:\n  - name: a\n    schedule:\n      cron: '61 * * * *'\n"
    with pytest.raises(ConfigError, match=r"<config>:4: sources\.0\.schedule\.cron:"):
        parse_config(text)


@pytest.mark.slow
def test_check_due_skips_a_source_checked_within_its_interval(tmp_path: Path) -> None:
    page = b"<html><body><main><p>Funding is \xc2\xa3261 million.</p></main></body></html>"
    with LocalServer({"/a": Reply(body=page, headers={"Content-Type": "text/html"})}) as srv:
        cfg = tmp_path / "monitor.yml"
        cfg.write_text(
            f"database: sqlite:///{tmp_path / 'pm.db'}\nfetch: {{obey_robots: false}}\n"
            "sources:\n  - name: local\n    allowed_domains: [127.0.0.1]\n"
            f"    schedule: {{every_minutes: 60}}\n    pages:\n      - url: {srv.url('/a')}\n"
        )
        first = policy_monitor("check", "--config", str(cfg), "--due")
        second = policy_monitor("check", "--config", str(cfg), "--due")
        hits = srv.hits["/a"]
    assert first.returncode == 0 and "1 page: 1 new" in first.stdout, first.stderr
    assert second.returncode == 0, second.stderr
    assert "no source is due; next: local at" in second.stdout
    assert hits == 1
