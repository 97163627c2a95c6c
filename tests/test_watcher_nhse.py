"""NHS England: feed URLs and publication listings."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchers.nhse import (
    category_feed_url,
    parse_listing,
    search_feed_url,
    site_feed_url,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def test_feed_urls() -> None:
    assert site_feed_url() == "https://www.england.nhs.uk/feed/"
    assert category_feed_url("mental-health") == (
        "https://www.england.nhs.uk/category/mental-health/feed/"
    )
    assert search_feed_url("crisis care") == "https://www.england.nhs.uk/?s=crisis%20care&feed=rss2"
    with pytest.raises(ValueError):
        category_feed_url("../x")


def test_listing_items_skip_navigation_pagination_and_other_sites() -> None:
    body = (FIXTURES / "nhse-listing.html").read_bytes()
    items = parse_listing(body, "https://www.england.nhs.uk/publication/")
    assert [(i.url, i.published) for i in items] == [
        ("https://www.england.nhs.uk/publication/fixture-mental-health-plan/", "2025-03-04"),
        ("https://www.england.nhs.uk/publication/fixture-board-papers/", "2025-03-01"),
    ]
    assert items[0].title == "Fixture mental health implementation plan"


def test_listing_of_garbage_or_non_utf8_is_empty_or_decoded() -> None:
    assert parse_listing(b"", "https://www.england.nhs.uk/") == []
    latin = b"<html><body><main><ul><li><a href='/p/'>Caf\xe9 \xa3 plan</a></li></ul></main></body></html>"
    items = parse_listing(latin, "https://www.england.nhs.uk/")
    assert items[0].title == "Caf\u00e9 \u00a3 plan"
