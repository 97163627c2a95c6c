"""Configuration: valid files load, bad ones name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli import policy_monitor

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError

GOOD = """
database: sqlite:///x.db
fetch:
  contact: team@example.org
  concurrency: 4
sources:
  - name: govuk
    kind: govuk
    allowed_domains: [www.gov.uk]
    pages:
      - url: https://www.gov.uk/government/publications/x
        title: X
notify:
  slack:
    channels: {default: "#policy-alerts"}
  routes:
    - events: [page_changed]
      notify: [slack:default]
"""


def test_good_config_loads() -> None:
    cfg = parse_config(GOOD, "good.yml")
    assert cfg.fetch.concurrency == 4
    assert cfg.source("govuk").pages[0].title == "X"
    assert cfg.notify.slack is not None
    assert cfg.notify.slack.channels["default"] == "#policy-alerts"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  - name: govuk\n    kind: bogus\n", "bad.yml:3: sources.0.kind"),
        (
            "sources:\n  - name: a\n    pages:\n      - url: ftp://x\n",
            "bad.yml:4: sources.0.pages.0.url",
        ),
        ("fetch:\n  concurrency: -1\n", "bad.yml:2: fetch.concurrency"),
        ("fetch:\n  colour: red\n", "bad.yml:2: fetch.colour: unknown key"),
        ("sources: [\n", "bad.yml:2: invalid YAML"),
        ("- just\n- a list\n", "bad.yml:1: the top level must be a mapping"),
        (
            "sources:\n  - name: a\n  - name: a\n",
            "bad.yml:3: sources.1.name: duplicate source name 'a'",
        ),
        (
            "sources:\n  - name: a\n    normaliser: bogus\n",
            "bad.yml:3: sources.0.normaliser: unknown",
        ),
        (
            "sources:\n  - name: a\n    pages: []\n    pages: []\n",
            "bad.yml:4: sources.0.pages: key given twice",
        ),
        (
            "sources:\n  - name: a\n    allowed_domains: [www.gov.uk]\n"
            "    pages:\n      - url: https://evil.example/x\n",
            "outside allowed_domains",
        ),
    ],
)
def test_bad_config_names_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "bad.yml")
    assert expected in str(err.value)


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="configured: govuk"):
        parse_config(GOOD).source("nice")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")


def test_cli_reports_config_error_and_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "monitor.yml"
    cfg.write_text("sources:\n  - name: govuk\n    kind: govuk\n    schedule: {every_minutes: 0}\n")
    proc = policy_monitor("check", "--config", str(cfg), "--db", f"sqlite:///{tmp_path}/x.db")
    assert proc.returncode == 2
    assert f"{cfg}:4: sources.0.schedule.every_minutes" in proc.stderr


def test_shipped_example_config_is_valid() -> None:
    cfg = load_config(Path(__file__).resolve().parents[1] / "deploy" / "monitor.example.yml")
    assert {s.kind for s in cfg.sources} == {"govuk", "nhse", "nice"}
    for src in cfg.sources:
        for page in src.pages:
            host = page.url.split("/")[2]
            assert host in src.allowed_domains, f"{page.url} is outside {src.name}'s allowlist"


def test_nice_chapters_are_watched_as_pages(tmp_path: Path) -> None:
    from monitor.db import Database
    from monitor.watchlist import plan_targets

    cfg = parse_config(
        "sources:\n  - name: nice\n    kind: nice\n    normaliser: nice-html\n    pages:\n"
        "      - url: https://www.nice.org.uk/guidance/ng10\n"
        "        chapters: [recommendations, update-information]\n"
    )
    db = Database(f"sqlite:///{tmp_path}/c.db")
    targets = plan_targets(db, cfg, None, None)
    db.dispose()
    assert [t.url for t in targets] == [
        "https://www.nice.org.uk/guidance/ng10",
        "https://www.nice.org.uk/guidance/ng10/chapter/recommendations",
        "https://www.nice.org.uk/guidance/ng10/chapter/update-information",
    ]
    assert {t.normaliser for t in targets} == {"nice-html"}
    assert {t.kind for t in targets} == {"nice"}
