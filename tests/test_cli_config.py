"""Config errors point at the right line and suggest the key that was meant."""

from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "m.yml")
    return str(err.value)


def test_url_outside_allowed_domains_points_at_the_urls_line() -> None:
    text = (
        "sources:\n"
        "  - name: govuk\n"
        "    allowed_domains: [www.gov.uk]\n"
        "    pages:\n"
        "      - url: https://www.gov.uk/fine\n"
        "        title: Fine\n"
        "      - url: https://evil.example/x\n"
    )
    assert _error(text) == (
        "m.yml:7: sources.0.pages.1.url: https://evil.example/x is outside allowed_domains "
        "(www.gov.uk)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "fetch:\n  concurency: 4\n",
            "m.yml:2: fetch.concurency: unknown key; did you mean 'concurrency'?",
        ),
        ("databse: sqlite:///x.db\n", "m.yml:1: databse: unknown key; did you mean 'database'?"),
        (
            "sources:\n  - name: a\n    pages:\n      - url: https://x.org/\n        titel: T\n",
            "m.yml:5: sources.0.pages.0.titel: unknown key; did you mean 'title'?",
        ),
        (
            "notify:\n  slack:\n    chanels: {}\n",
            "notify.slack.chanels: unknown key; did you mean 'channels'?",
        ),
        (
            "notify:\n  apprise:\n    teams: {url_env: T, urel_env: U}\n",
            "notify.apprise.teams.urel_env: unknown key; did you mean 'url_env'?",
        ),
    ],
)
def test_unknown_key_gets_did_you_mean(text: str, expected: str) -> None:
    assert expected in _error(text)


def test_unknown_key_without_a_near_miss_lists_the_keys() -> None:
    message = _error("fetch:\n  colour: red\n")
    assert "fetch.colour: unknown key (expected one of: user_agent, contact, concurrency" in message
    assert "did you mean" not in message


def test_where_names_the_line_of_a_top_level_key() -> None:
    cfg = parse_config("fetch:\n  contact: a@b.c\ndatabase: sqlite:///x.db\n", "m.yml")
    assert cfg.where("database") == "m.yml:3" and cfg.where("notify") == ""
