"""Discovery through the real crawl: feeds, searches, sitemaps, listings and NICE index data.

Each test serves fixtures from a loopback server and runs ``monitor.discover.discover``
inside one Scrapy crawl job (a subprocess, see ``tests/fetchprobe.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fetchprobe import poll
from localserver import LocalServer, Reply
from sqlalchemy import func, select

from monitor.config import SearchConfig, SourceConfig
from monitor.db import Database
from monitor.models import Event, WatchedPage
from monitor.models.source_state import PollState
from monitor.polling import inputs_from_config

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
NICE_LITE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpus"
    / "nice"
    / "publications-feed-products-lite"
)
MH = "https://www.england.nhs.uk/mental-health/"

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


def source(**fields: Any) -> dict[str, Any]:
    """A config with one source (no pages: discovery only)."""
    return {"sources": [{"name": "src", "kind": "nhse", **fields}]}


def events(db_url: str, kind: str) -> list[Event]:
    db = Database(db_url)
    try:
        with db.session() as s:
            return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))
    finally:
        db.dispose()


def page_urls(db_url: str) -> set[str]:
    db = Database(db_url)
    try:
        with db.session() as s:
            return set(s.scalars(select(WatchedPage.url)))
    finally:
        db.dispose()


def watch(db_url: str, *urls: str) -> None:
    db = Database(db_url)
    try:
        with db.session() as s:
            s.add_all(WatchedPage(url=u, consecutive_failures=0) for u in urls)
    finally:
        db.dispose()


def states(db_url: str) -> dict[str, PollState]:
    db = Database(db_url)
    try:
        with db.session() as s:
            found = {st.target: st for st in s.scalars(select(PollState))}
            s.expunge_all()
            return found
    finally:
        db.dispose()


def test_feed_baseline_then_new_matching_entries_become_watched_pages(db_url: str) -> None:
    feed = (FIXTURES / "nhse-feed.rss").read_bytes()
    updated = feed.replace(b"  <item>", NEW_ITEM + b"  <item>", 1)
    rss = {"Content-Type": "application/rss+xml"}
    with LocalServer(
        {"/feed/": [Reply(200, feed, rss), Reply(200, updated, rss, etag='"2"')]}
    ) as srv:
        config = source(feeds=[srv.url("/feed/")], keywords=["mental health"])
        first, second, third = poll(db_url, config, 3)
        assert first["added"] == [] and first["errors"] == []
        assert second["added"] == ["https://www.england.nhs.uk/mental-health/crisis-111/"]
        assert third["not_modified"] == 1 and third["added"] == []
        assert srv.bodies["/feed/"] == 2
        conditional = [r for r in srv.requests if r.path == "/feed/"][2]
        assert conditional.headers["if-none-match"] == '"2"'
    assert "https://www.england.nhs.uk/estates-strategy/" not in page_urls(db_url)
    [ev] = events(db_url, "page_new")
    assert ev.payload["title"] == "Mental health crisis care: new 111 option"
    assert ev.payload["via"] == "feed"


def test_sitemap_reveals_new_pages_under_a_section_and_unlisted_watched_pages(
    db_url: str,
) -> None:
    before = (FIXTURES / "sitemap.xml").read_bytes()
    after = before.replace(b"/mental-health/cyp/", b"/mental-health/perinatal/")
    watch(db_url, MH + "cyp/")
    with LocalServer({"/sitemap.xml": [Reply(200, before), Reply(200, after)]}) as srv:
        config = source(sitemaps=[srv.url("/sitemap.xml")], sitemap_prefix=MH)
        _, report = poll(db_url, config, 2)
    assert report["added"] == [MH + "perinatal/"]
    assert report["unlisted"] == [MH + "cyp/"]
    [gone] = events(db_url, "page_removed")
    assert gone.payload["reason"] == "no longer listed"


def urlset(*paths: str) -> bytes:
    locs = "".join(f"<url><loc>{MH}{p}/</loc></url>" for p in paths)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


def test_a_sitemap_child_that_fails_removes_nothing(db_url: str) -> None:
    """Regression: a child answering 5xx made every page it listed "unlisted"."""
    watch(db_url, MH + "b1/", MH + "b2/", MH + "a2/")
    with LocalServer() as srv:
        index = (
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{srv.url('/a.xml')}</loc></sitemap>"
            f"<sitemap><loc>{srv.url('/b.xml')}</loc></sitemap></sitemapindex>"
        ).encode()
        srv.routes.update(
            {
                "/index.xml": Reply(200, index, etag='"same"'),
                "/a.xml": [Reply(200, urlset("a1", "a2")), Reply(200, urlset("a1"))],
                "/b.xml": [
                    Reply(200, urlset("b1", "b2")),
                    Reply(503, b"busy"),
                    Reply(200, urlset("b1", "b2", "b3")),
                ],
            }
        )
        config = source(sitemaps=[srv.url("/index.xml")], sitemap_prefix=MH)
        baseline, broken, healed = poll(db_url, config, 3)
        assert srv.hits["/index.xml"] == 3  # an index's children are read on every poll
    assert baseline["errors"] == [] and baseline["unlisted"] == []
    assert broken["unlisted"] == [] and broken["incomplete"] == [srv.url("/index.xml")]
    assert "b.xml: HTTP 503" in broken["errors"][0] and "nothing removed" in broken["errors"][0]
    # a2 left the listing while b.xml was down: removed once the listing is whole again.
    assert healed["unlisted"] == [MH + "a2/"] and healed["added"] == [MH + "b3/"]
    assert healed["errors"] == []
    assert [e.payload["url"] for e in events(db_url, "page_removed")] == [MH + "a2/"]


def search_body(*results: tuple[str, str], total: int | None = None) -> bytes:
    rows = [
        {"link": link, "title": f"Mental health {link}", "public_timestamp": ts, "format": "news"}
        for link, ts in results
    ]
    return json.dumps({"results": rows, "total": total or len(rows), "start": 0}).encode()


def test_search_api_poll_adds_documents_newer_than_the_last_poll(db_url: str) -> None:
    first = search_body(("/government/news/old", "2025-03-01T10:00:00Z"))
    second = search_body(
        ("/government/news/new", "2025-03-06T10:00:00Z"),
        ("/government/news/old", "2025-03-01T10:00:00Z"),
    )
    with LocalServer({"/api/search.json": [Reply(200, first), Reply(200, second)]}) as srv:
        search = {"q": "mental health", "filters": {"organisations": ["dhsc"]}}
        config = source(searches=[search], search_api=srv.url("/api/search.json"))
        baseline, later = poll(db_url, config, 2)
        assert baseline["added"] == []
        assert later["added"] == ["https://www.gov.uk/government/news/new"]
        queries = [r.path for r in srv.requests if r.path.startswith("/api/search.json")]
        assert "filter_public_timestamp=from%3A2025-03-01" in queries[1]
    [st] = states(db_url).values()
    assert st.high_water is not None
    assert st.high_water.replace(tzinfo=None).isoformat() == "2025-03-06T10:00:00"


def test_search_api_pages_are_further_fetch_rounds_until_older_results(db_url: str) -> None:
    page1 = search_body(("/a", "2025-03-01T10:00:00Z"))
    later1 = search_body(("/c", "2025-03-05T10:00:00Z"), ("/d", "2025-03-04T10:00:00Z"), total=5)
    later2 = search_body(("/e", "2025-03-03T10:00:00Z"), ("/a", "2025-03-01T10:00:00Z"), total=5)
    with LocalServer() as srv:
        srv.routes["/api/search.json"] = [Reply(200, page1), Reply(200, later1), Reply(200, later2)]
        config = source(searches=[{"q": "mental health"}], search_api=srv.url("/api/search.json"))
        _, report = poll(db_url, config, 2)
        starts = [r.path for r in srv.requests if r.path.startswith("/api/search.json")]
    assert report["added"] == [f"https://www.gov.uk/{p}" for p in ("c", "d", "e")]
    assert "start=2" in starts[2] and len(starts) == 3  # page 3 is never asked for


def test_listing_page_poll_adds_new_links(db_url: str) -> None:
    listing = (FIXTURES / "nhse-listing.html").read_bytes()
    extra = listing.replace(
        b'<article><h2><a href="https://example.org',
        b'<article><h2><a href="/publication/fixture-mental-health-update/">Mental health update</a></h2></article>'
        b'<article><h2><a href="https://example.org',
    )
    with LocalServer({"/publication/": [Reply(200, listing), Reply(200, extra)]}) as srv:
        config = source(listings=[srv.url("/publication/")], keywords=["mental health"])
        _, report = poll(db_url, config, 2)
    assert report["added"] == [srv.url("/publication/fixture-mental-health-update/")]


def test_failures_are_reported_and_counted_not_raised(db_url: str) -> None:
    with LocalServer(
        {"/feed/": Reply(500, b"oops"), "/bad/": Reply(200, b"<html>no feed</html>")}
    ) as srv:
        config = source(feeds=[srv.url("/feed/"), srv.url("/bad/")])
        first, _ = poll(db_url, config, 2)
    assert len(first["errors"]) == 2 and "HTTP 500" in first["errors"][0]
    found = states(db_url)
    assert found[srv.url("/feed/")].consecutive_failures == 2
    assert "not an Atom or RSS document" in (found[srv.url("/bad/")].last_error or "")


@pytest.mark.skipif(not NICE_LITE.is_dir(), reason=f"shared corpus not found at {NICE_LITE}")
def test_nice_index_snapshots_become_guidance_events(db_url: str) -> None:
    old = (NICE_LITE / "2021-07-12.json").read_bytes()
    new = (NICE_LITE / "2022-10-18.json").read_bytes()
    with LocalServer({"/feeds/products-lite": [Reply(200, old), Reply(200, new)]}) as srv:
        config = source(
            index_feeds=[srv.url("/feeds/products-lite")], keywords=["mental", "depression"]
        )
        baseline, report = poll(db_url, config, 2)
    assert baseline["index_changes"] == 0
    assert report["index_changes"] == 246 + 180 + 6 + 53
    assert sorted(report["added"]) == [
        "https://www.nice.org.uk/guidance/ng212",
        "https://www.nice.org.uk/guidance/ng222",
        "https://www.nice.org.uk/guidance/ng223",
    ]
    db = Database(db_url)
    with db.session() as s:
        n = s.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "guidance_changed")
        )
    db.dispose()
    assert n == report["index_changes"]


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
