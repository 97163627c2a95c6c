"""Following (pure): which events match a subscription, and which digest period is due."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.digest_period import due_periods, latest_period
from monitor.errors import ConfigError
from monitor.following import is_withdrawal, matches, parse_query, query_matches

PAYLOAD = {
    "commitment_id": "crisis-investment",
    "commitment_title": "£261m for community crisis teams",
    "summary": "funding: £261 million -> £300 million",
    "page_url": "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care/",
    "quote": "Between 2019 and 2021, £300 million was made available to local systems.",
    "source": "nhse",
    "tags": ["mental-health", "crisis"],
}


def test_a_query_has_words_phrases_and_exclusions() -> None:
    q = parse_query('Crisis "local  systems" -dental nhs')
    assert q.words == ("crisis", "nhs")
    assert q.phrases == ("local systems",)
    assert q.excluded == ("dental",)


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("crisis", True),
        ("crisis funding", True),
        ('"local systems"', True),
        ('"systems local"', False),  # a phrase keeps its order
        ("crisis -million", False),  # an exclusion present
        ("crisis -dental", True),
        ("cris", False),  # whole words only
        ("-crisis", False),  # exclusions alone match nothing
        ("", False),
    ],
)
def test_keyword_queries_match_the_event_text(query: str, hit: bool) -> None:
    assert matches("query", query, "funding_changed", PAYLOAD) is hit


def test_each_follow_kind_matches_its_own_field() -> None:
    assert matches("commitment", "crisis-investment", "funding_changed", PAYLOAD)
    assert not matches("commitment", "crisis", "funding_changed", PAYLOAD)
    page = "https://www.england.nhs.uk/mental-health/adults/crisis-and-acute-care"
    assert matches("page", page, "funding_changed", PAYLOAD)  # trailing slash ignored
    assert matches(
        "page", "https://x.example/a", "page_changed", {"also_on": ["https://x.example/a/"]}
    )
    assert not matches("page", "https://www.england.nhs.uk/", "funding_changed", PAYLOAD)
    assert matches("tag", "crisis", "funding_changed", PAYLOAD)
    assert not matches("tag", "dental", "funding_changed", PAYLOAD)
    assert matches("source", "nhse", "funding_changed", PAYLOAD)
    assert not matches("source", "govuk", "funding_changed", PAYLOAD)
    with pytest.raises(ValueError):
        matches("person", "x", "page_changed", PAYLOAD)


def test_changes_of_a_page_are_searched_too() -> None:
    payload = {"title": "Guidance", "changes": [{"kind": "text", "text": "Dental access fund"}]}
    assert query_matches(parse_query("dental fund"), "Dental access fund")
    assert matches("query", "dental", "page_changed", payload)


def test_withdrawal_is_a_removal_or_a_withdrawn_status() -> None:
    assert is_withdrawal("page_removed", {})
    assert is_withdrawal("page_changed", {"status": "withdrawn"})
    assert not is_withdrawal("page_changed", {"status": "live"})


LONDON = {"daily_at": "08:30", "weekly_day": "saturday", "timezone": "Europe/London"}


def test_the_daily_digest_is_due_at_half_past_eight_london_time() -> None:
    before = latest_period("daily", datetime(2026, 3, 3, 8, 29, tzinfo=UTC), **LONDON)
    at = latest_period("daily", datetime(2026, 3, 3, 8, 30, tzinfo=UTC), **LONDON)
    assert before.label == "2026-03-02" and at.label == "2026-03-03"
    assert (at.start, at.end) == (
        datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        datetime(2026, 3, 3, 8, 30, tzinfo=UTC),
    )
    summer = latest_period("daily", datetime(2026, 7, 3, 7, 45, tzinfo=UTC), **LONDON)
    assert summer.label == "2026-07-03" and summer.end == datetime(2026, 7, 3, 7, 30, tzinfo=UTC)


def test_a_period_across_the_clock_change_is_23_hours() -> None:
    p = latest_period("daily", datetime(2026, 3, 29, 12, 0, tzinfo=UTC), **LONDON)
    assert (p.end - p.start).total_seconds() == 23 * 3600


def test_the_weekly_digest_is_due_on_saturday_by_default() -> None:
    tuesday = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    week = latest_period("weekly", tuesday, **LONDON)
    assert week.label == "2026-02-28"  # the Saturday before
    assert week.end == datetime(2026, 2, 28, 8, 30, tzinfo=UTC)
    assert (week.end - week.start).days == 7
    early_saturday = latest_period("weekly", datetime(2026, 3, 7, 8, 0, tzinfo=UTC), **LONDON)
    assert early_saturday.label == "2026-02-28"
    monday = latest_period("weekly", tuesday, **{**LONDON, "weekly_day": "monday"})
    assert monday.label == "2026-03-02"
    assert [p.kind for p in due_periods(tuesday, **LONDON)] == ["daily", "weekly"]
    with pytest.raises(ValueError):
        latest_period("hourly", tuesday, **LONDON)


def test_the_digest_time_zone_is_checked_when_the_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("notify:\n  digest:\n    timezone: Europe/Londres\n")
    with pytest.raises(ConfigError, match=r"timezone.*unknown time zone"):
        load_config(path)
