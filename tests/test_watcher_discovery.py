"""Discovery polls feeds, searches, sitemaps, listings and NICE index data over loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from sqlalchemy import func, select

from monitor.config import SearchConfig, SourceConfig
from monitor.db import Database
from monitor.models import Event, WatchedPage
from monitor.models.source_state import PollState
from watchers.discovery import DiscoveryInput, inputs_from_config, poll
from watchers.govuk_search import SearchQuery
from watchers.http import Fetcher, FetchPolicy

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
NICE_LITE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "nice"
    / "publications-feed-products-lite"
)

NEW_ITEM = b"""  <item>
    <title>Mental health crisis care: new 111 option</title>
    <link>https://www.england.nhs.uk/mental-health/crisis-111/</link>
    <pubDate>Wed, 05 Mar 2025 08:00:00 +0000</pubDate>
    <guid>https://www.england.nhs.uk/?p=1002</guid>
  </item>
  <item>
    <title>Estates strategy</title>
    <link>https://www.england.nhs.uk/estates-strategy/</link>
    <pubDate>Wed, 05 Mar 2025 07:00:00 +0000</pubDate>
  </item>
"""


def fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allowed_domains=("127.0.0.1",), min_interval_s=0, retries=0))


def events(db: Database, kind: str) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def page_urls(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(WatchedPage.url)))


def test_feed_baseline_then_new_matching_entries_become_watched_pages(db: Database) -> None:
    feed = (FIXTURES / "nhse-feed.rss").read_bytes()
    updated = feed.replace(b"  <item>", NEW_ITEM + b"  <item>", 1)
    rss = {"Content-Type": "application/rss+xml"}
    with LocalServer(
        {"/feed/": [Reply(200, feed, rss), Reply(200, updated, rss, etag='"2"')]}
    ) as srv:
        inp = DiscoveryInput(
            "nhse", "feed", srv.url("/feed/"), ("mental health",), source_kind="nhse"
        )
        first = poll(db, [inp], fetcher())
        assert first.added == [] and first.errors == []
        second = poll(db, [inp], fetcher())
        assert second.added == ["https://www.england.nhs.uk/mental-health/crisis-111/"]
        third = poll(db, [inp], fetcher())
        assert third.not_modified == 1 and third.added == []
        assert srv.bodies["/feed/"] == 2
    assert "https://www.england.nhs.uk/estates-strategy/" not in page_urls(db)
    [ev] = events(db, "page_new")
    assert ev.payload["title"] == "Mental health crisis care: new 111 option"
    assert ev.payload["via"] == "feed"


def test_sitemap_reveals_new_pages_under_a_section_and_unlisted_watched_pages(db: Database) -> None:
    before = (FIXTURES / "sitemap.xml").read_bytes()
    after = before.replace(b"/mental-health/cyp/", b"/mental-health/perinatal/")
    with LocalServer({"/sitemap.xml": [Reply(200, before), Reply(200, after)]}) as srv:
        inp = DiscoveryInput(
            "nhse",
            "sitemap",
            srv.url("/sitemap.xml"),
            prefix="https://www.england.nhs.uk/mental-health/",
        )
        poll(db, [inp], fetcher())
        with db.session() as s:
            s.add(
                WatchedPage(
                    url="https://www.england.nhs.uk/mental-health/cyp/", consecutive_failures=0
                )
            )
        report = poll(db, [inp], fetcher())
    assert report.added == ["https://www.england.nhs.uk/mental-health/perinatal/"]
    assert report.unlisted == ["https://www.england.nhs.uk/mental-health/cyp/"]
    [gone] = events(db, "page_removed")
    assert gone.payload["reason"] == "no longer listed"


def test_search_api_poll_adds_documents_newer_than_the_last_poll(db: Database) -> None:
    def body(*results: tuple[str, str]) -> bytes:
        rows = [
            {
                "link": link,
                "title": f"Mental health {link}",
                "public_timestamp": ts,
                "format": "news",
            }
            for link, ts in results
        ]
        return json.dumps({"results": rows, "total": len(rows), "start": 0}).encode()

    first = body(("/government/news/old", "2025-03-01T10:00:00Z"))
    second = body(
        ("/government/news/new", "2025-03-06T10:00:00Z"),
        ("/government/news/old", "2025-03-01T10:00:00Z"),
    )
    with LocalServer({"/api/search.json": [Reply(200, first), Reply(200, second)]}) as srv:
        query = SearchQuery(
            q="mental health", filters={"organisations": ["department-of-health-and-social-care"]}
        )
        inp = DiscoveryInput("govuk", "govuk_search", srv.url("/api/search.json"), (), query)
        assert poll(db, [inp], fetcher()).added == []
        assert poll(db, [inp], fetcher()).added == ["https://www.gov.uk/government/news/new"]
        second_query = [r.path for r in srv.requests if r.path.startswith("/api/search.json")][1]
        assert "filter_public_timestamp=from%3A2025-03-01" in second_query
    with db.session() as s:
        st = s.scalar(select(PollState))
        assert st is not None and st.high_water is not None
        assert st.high_water.replace(tzinfo=None).isoformat() == "2025-03-06T10:00:00"


def test_listing_page_poll_adds_new_links(db: Database) -> None:
    listing = (FIXTURES / "nhse-listing.html").read_bytes()
    extra = listing.replace(
        b'<article><h2><a href="https://example.org',
        b'<article><h2><a href="/publication/fixture-mental-health-update/">Mental health update</a></h2></article>'
        b'<article><h2><a href="https://example.org',
    )
    with LocalServer({"/publication/": [Reply(200, listing), Reply(200, extra)]}) as srv:
        inp = DiscoveryInput("nhse", "listing", srv.url("/publication/"), ("mental health",))
        poll(db, [inp], fetcher())
        report = poll(db, [inp], fetcher())
    assert report.added == [srv.url("/publication/fixture-mental-health-update/")]


def test_failures_are_reported_and_counted_not_raised(db: Database) -> None:
    with LocalServer(
        {"/feed/": Reply(500, b"oops"), "/bad/": Reply(200, b"<html>no feed</html>")}
    ) as srv:
        inputs = [
            DiscoveryInput("nhse", "feed", srv.url("/feed/")),
            DiscoveryInput("nhse", "feed", srv.url("/bad/")),
        ]
        report = poll(db, inputs, fetcher())
        poll(db, inputs[:1], fetcher())
    assert len(report.errors) == 2 and "HTTP 500" in report.errors[0]
    with db.session() as s:
        states = {st.target: st for st in s.scalars(select(PollState))}
    assert states[srv.url("/feed/")].consecutive_failures == 2
    assert "not an Atom or RSS document" in (states[srv.url("/bad/")].last_error or "")


@pytest.mark.skipif(not NICE_LITE.is_dir(), reason=f"shared corpus not found at {NICE_LITE}")
def test_nice_index_snapshots_become_guidance_events(db: Database) -> None:
    old = (NICE_LITE / "2021-07-12.json").read_bytes()
    new = (NICE_LITE / "2022-10-18.json").read_bytes()
    with LocalServer({"/feeds/products-lite": [Reply(200, old), Reply(200, new)]}) as srv:
        keywords = ("mental", "depression")
        inp = DiscoveryInput("nice", "nice_index", srv.url("/feeds/products-lite"), keywords)
        assert poll(db, [inp], fetcher()).index_changes == 0
        report = poll(db, [inp], fetcher())
    assert report.index_changes == 246 + 180 + 6 + 53
    assert sorted(report.added) == [
        "https://www.nice.org.uk/guidance/ng212",
        "https://www.nice.org.uk/guidance/ng222",
        "https://www.nice.org.uk/guidance/ng223",
    ]
    with db.session() as s:
        n = s.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "guidance_changed")
        )
    assert n == report.index_changes


def test_inputs_from_config() -> None:
    src = SourceConfig(
        name="govuk",
        kind="govuk",
        feeds=["https://www.gov.uk/search/news-and-communications.atom"],
        searches=[SearchConfig(q="mental health", filters={"organisations": ["nhs-england"]})],
        sitemaps=["https://www.gov.uk/sitemap.xml"],
        keywords=["mental health"],
    )
    inputs = inputs_from_config(src)
    assert [i.kind for i in inputs] == ["feed", "govuk_search", "sitemap"]
    assert inputs[1].query is not None and inputs[1].query.filters == {
        "organisations": ("nhs-england",)
    }
    assert len({i.key for i in inputs}) == 3
