"""Feeds (Atom and RSS) and sitemaps, parsed from written fixtures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchers.feeds import FeedError, entries_since, parse_feed
from watchers.sitemap import SitemapError, diff_urls, parse_sitemap, under_prefix

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_rss_entries_have_urls_titles_dates_and_ids() -> None:
    feed = parse_feed(read("nhse-feed.rss"))
    assert feed.problem is None
    first = feed.entries[0]
    assert first.url == "https://www.england.nhs.uk/mental-health/community-funding-update/"
    assert first.title.startswith("Community mental health funding")
    assert first.updated == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert first.id == "https://www.england.nhs.uk/?p=1001"


def test_atom_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse_feed(read("govuk-finder.atom"), base_url="https://www.gov.uk/search/x.atom")
    urls = [e.url for e in feed.entries]
    assert urls == [
        "https://www.gov.uk/government/news/fixture-mental-health-investment",
        "https://www.gov.uk/government/publications/fixture-annual-report",
    ]


def test_entries_since_keeps_only_newer_entries_newest_first() -> None:
    feed = parse_feed(read("govuk-finder.atom"))
    since = datetime(2025, 3, 2, tzinfo=UTC)
    assert [e.title for e in entries_since(feed, since)] == [
        "Fixture: new mental health investment announced"
    ]
    assert len(entries_since(feed, None)) == 2


def test_malformed_feed_keeps_what_could_be_read_and_says_what_is_wrong() -> None:
    feed = parse_feed(read("malformed.rss"))
    assert feed.problem is not None
    assert "https://www.england.nhs.uk/readable-item/" in [e.url for e in feed.entries]


@pytest.mark.parametrize("body", [b"", b"<html><body>Not a feed</body></html>", b"\x00\xff\xfe"])
def test_non_feeds_raise_a_clear_error(body: bytes) -> None:
    with pytest.raises(FeedError, match="feed"):
        parse_feed(body, base_url="https://www.england.nhs.uk/feed/")


def test_sitemap_urls_and_lastmod() -> None:
    sm = parse_sitemap(read("sitemap.xml"))
    assert [u.loc for u in sm.urls][:2] == [
        "https://www.england.nhs.uk/mental-health/adults/",
        "https://www.england.nhs.uk/mental-health/cyp/",
    ]
    assert sm.urls[0].lastmod == "2025-02-01"
    section = under_prefix((u.loc for u in sm.urls), "https://www.england.nhs.uk/mental-health/")
    assert len(section) == 2


def test_sitemap_index_lists_child_sitemaps_and_gzip_is_accepted() -> None:
    import gzip

    sm = parse_sitemap(gzip.compress(read("sitemap-index.xml")))
    assert sm.sitemaps == [
        "https://www.england.nhs.uk/page-sitemap.xml",
        "https://www.england.nhs.uk/post-sitemap.xml",
    ]
    assert sm.urls == []


def test_sitemap_rejects_other_xml_and_entities_are_not_expanded() -> None:
    with pytest.raises(SitemapError, match="root element"):
        parse_sitemap(b"<rss><channel/></rss>")
    with pytest.raises(SitemapError):
        parse_sitemap(b"not xml at all")
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>'
    )
    assert all("root:" not in u.loc for u in parse_sitemap(evil).urls)


def test_diff_urls_reports_added_and_removed() -> None:
    added, removed = diff_urls(["a", "b"], ["b", "c"])
    assert (added, removed) == (["c"], ["a"])
