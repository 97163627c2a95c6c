"""Discovery through the real crawl: feeds, searches, sitemaps, listings and NICE index data.

Every scenario below serves its fixtures from a loopback server; the module runs them all,
one after another, inside one Scrapy crawl job (a subprocess, see ``tests/fetchprobe.py``),
once per database backend, each scenario on a fresh database. Each test then reads the
poll reports, the server's request log and the database of its own scenario.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fetchprobe import poll_jobs
from localserver import LocalServer, Reply
from sqlalchemy import create_engine, func, select, text

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


@dataclass
class Scenario:
    """Routes and a config for one server; ``watch`` are pages watched before the polls."""

    polls: int
    routes: Callable[[LocalServer], dict[str, Reply | list[Reply]]]
    config: Callable[[LocalServer], dict[str, Any]]
    watch: tuple[str, ...] = ()


@dataclass
class Outcome:
    reports: list[dict[str, Any]]
    db_url: str
    srv: LocalServer


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, polls: int, config: Callable[[LocalServer], dict[str, Any]], *watch: str
) -> Callable[
    [Callable[[LocalServer], dict[str, Reply | list[Reply]]]],
    Callable[[LocalServer], dict[str, Reply | list[Reply]]],
]:
    def register(
        routes: Callable[[LocalServer], dict[str, Reply | list[Reply]]],
    ) -> Callable[[LocalServer], dict[str, Reply | list[Reply]]]:
        SCENARIOS[name] = Scenario(polls, routes, config, watch)
        return routes

    return register


def source(**fields: Any) -> dict[str, Any]:
    """A config with one source (no pages: discovery only)."""
    return {"sources": [{"name": "src", "kind": "nhse", **fields}]}


def databases(
    request: pytest.FixtureRequest, tmp: Path, n: int
) -> tuple[list[str], Callable[[], None]]:
    """``n`` fresh databases of the backend in ``request.param``, and how to drop them."""
    if request.param == "sqlite":
        return [f"sqlite:///{tmp / f'db{i}.sqlite'}" for i in range(n)], lambda: None
    admin_url = str(request.getfixturevalue("pg_server"))
    names = [f"pm_disc_{uuid.uuid4().hex[:12]}" for _ in range(n)]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return [admin_url.rsplit("/", 1)[0] + f"/{name}" for name in names], drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def discovery(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Outcome]]:
    names = [n for n in SCENARIOS if n != "nice" or NICE_LITE.is_dir()]
    urls, drop = databases(request, tmp_path_factory.mktemp("discovery"), len(names))
    servers = {n: LocalServer() for n in names}
    try:
        jobs = []
        for name, db_url in zip(names, urls, strict=True):
            sc, srv = SCENARIOS[name], servers[name]
            srv.routes.update(sc.routes(srv))
            srv.__enter__()
            if sc.watch:
                watch(db_url, *sc.watch)
            jobs.append({"db": db_url, "config": sc.config(srv), "polls": sc.polls})
        reports = poll_jobs(jobs)
    finally:
        for srv in servers.values():
            srv.__exit__(None, None, None)
    yield {n: Outcome(r, u, servers[n]) for n, r, u in zip(names, reports, urls, strict=True)}
    drop()


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


FEED = (FIXTURES / "nhse-feed.rss").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}


@scenario("feed", 3, lambda srv: source(feeds=[srv.url("/feed/")], keywords=["mental health"]))
def feed_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    updated = FEED.replace(b"  <item>", NEW_ITEM + b"  <item>", 1)
    return {"/feed/": [Reply(200, FEED, RSS), Reply(200, updated, RSS, etag='"2"')]}


def test_feed_baseline_then_new_matching_entries_become_watched_pages(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["feed"]
    first, second, third = out.reports
    assert first["added"] == [] and first["errors"] == []
    assert second["added"] == ["https://www.england.nhs.uk/mental-health/crisis-111/"]
    assert third["not_modified"] == 1 and third["added"] == []
    assert out.srv.bodies["/feed/"] == 2
    conditional = [r for r in out.srv.requests if r.path == "/feed/"][2]
    assert conditional.headers["if-none-match"] == '"2"'
    assert "https://www.england.nhs.uk/estates-strategy/" not in page_urls(out.db_url)
    [ev] = events(out.db_url, "page_new")
    assert ev.payload["title"] == "Mental health crisis care: new 111 option"
    assert ev.payload["via"] == "feed"


def atom(*entries: tuple[str, str | None]) -> Reply:
    """An Atom feed of (path, updated) entries; ``None`` leaves the entry undated."""
    body = "".join(
        f"<entry><id>tag:x,2025:{p}</id><title>{'Estates' if p == '/plain' else 'Crisis care'} {p}</title>"
        f"<link rel='alternate' href='https://www.england.nhs.uk{p}'/>"
        + (f"<updated>{when}</updated>" if when else "")
        + "</entry>"
        for p, when in entries
    )
    return Reply(
        200,
        (f"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{body}</feed>").encode(),
        {"Content-Type": "application/atom+xml"},
    )


NHS = "https://www.england.nhs.uk"


@scenario(
    "same_second",
    5,
    lambda srv: source(feeds=[srv.url("/atom")], keywords=["crisis"]),
    NHS + "/a",
    NHS + "/b",
    NHS + "/c",
    NHS + "/plain",
)
def same_second_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    # Feed times are read to the second: /a and then /b change within one second.
    a, b = "2025-03-05T10:00:05.100Z", "2025-03-05T10:00:05.900Z"
    return {
        "/atom": [
            atom(
                ("/a", "2025-03-05T10:00:00Z"),
                ("/b", "2025-03-05T09:00:00Z"),
                ("/plain", "2025-03-05T08:00:00Z"),
            ),
            atom(("/a", a), ("/b", "2025-03-05T09:00:00Z"), ("/plain", "2025-03-05T10:00:01Z")),
            atom(("/b", b), ("/d", b), ("/a", a)),
            atom(("/c", None), ("/b", b), ("/a", a)),
            atom(("/c", None), ("/b", b), ("/a", a)),
        ]
    }


def test_a_feed_entry_updated_in_the_same_second_as_the_newest_is_still_updated(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["same_second"]
    reports = out.reports
    # a watched page is fetched when its entry is updated, even if no keyword matches it
    updated = [[], [NHS + "/a", NHS + "/plain"], [NHS + "/b"], [NHS + "/c"], []]
    assert [r["updated"] for r in reports] == updated
    # a new entry at the newest time is new; an undated entry is acted on once, when first
    # listed (after that only its re-crawl finds changes)
    assert [r["added"] for r in reports] == [[], [], [NHS + "/d"], [], []]
    [st] = states(out.db_url).values()
    assert st.stamps is not None and set(st.stamps) == {
        NHS + p for p in ("/a", "/b", "/d", "/plain")
    }


SITEMAP = (FIXTURES / "sitemap.xml").read_bytes()


@scenario(
    "sitemap",
    2,
    lambda srv: source(sitemaps=[srv.url("/sitemap.xml")], sitemap_prefix=MH),
    MH + "cyp/",
)
def sitemap_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    after = SITEMAP.replace(b"/mental-health/cyp/", b"/mental-health/perinatal/")
    return {"/sitemap.xml": [Reply(200, SITEMAP), Reply(200, after)]}


def test_sitemap_reveals_new_pages_under_a_section_and_unlisted_watched_pages(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["sitemap"]
    report = out.reports[1]
    assert report["added"] == [MH + "perinatal/"]
    assert report["unlisted"] == [MH + "cyp/"]
    [gone] = events(out.db_url, "page_removed")
    assert gone.payload["reason"] == "no longer listed"


def urlset(*paths: str) -> bytes:
    locs = "".join(f"<url><loc>{MH}{p}/</loc></url>" for p in paths)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


@scenario(
    "sitemap_child_fails",
    3,
    lambda srv: source(sitemaps=[srv.url("/index.xml")], sitemap_prefix=MH),
    MH + "b1/",
    MH + "b2/",
    MH + "a2/",
)
def child_fails_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{srv.url('/a.xml')}</loc></sitemap>"
        f"<sitemap><loc>{srv.url('/b.xml')}</loc></sitemap></sitemapindex>"
    ).encode()
    return {
        "/index.xml": Reply(200, index, etag='"same"'),
        "/a.xml": [Reply(200, urlset("a1", "a2")), Reply(200, urlset("a1"))],
        "/b.xml": [
            Reply(200, urlset("b1", "b2")),
            Reply(503, b"busy"),
            Reply(200, urlset("b1", "b2", "b3")),
        ],
    }


def test_a_sitemap_child_that_fails_removes_nothing(discovery: dict[str, Outcome]) -> None:
    """Regression: a child answering 5xx made every page it listed "unlisted"."""
    out = discovery["sitemap_child_fails"]
    baseline, broken, healed = out.reports
    assert out.srv.hits["/index.xml"] == 3  # an index's children are read on every poll
    assert baseline["errors"] == [] and baseline["unlisted"] == []
    assert broken["unlisted"] == [] and broken["incomplete"] == [out.srv.url("/index.xml")]
    assert "b.xml: HTTP 503" in broken["errors"][0] and "nothing removed" in broken["errors"][0]
    # a2 left the listing while b.xml was down: removed once the listing is whole again.
    assert healed["unlisted"] == [MH + "a2/"] and healed["added"] == [MH + "b3/"]
    assert healed["errors"] == []
    assert [e.payload["url"] for e in events(out.db_url, "page_removed")] == [MH + "a2/"]


def search_body(*results: tuple[str, str], total: int | None = None) -> bytes:
    rows = [
        {"link": link, "title": f"Mental health {link}", "public_timestamp": ts, "format": "news"}
        for link, ts in results
    ]
    return json.dumps({"results": rows, "total": total or len(rows), "start": 0}).encode()


def search_config(srv: LocalServer, **search: Any) -> dict[str, Any]:
    return source(searches=[search], search_api=srv.url("/api/search.json"))


@scenario(
    "search",
    2,
    lambda srv: search_config(srv, q="mental health", filters={"organisations": ["dhsc"]}),
)
def search_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    first = search_body(("/government/news/old", "2025-03-01T10:00:00Z"))
    second = search_body(
        ("/government/news/new", "2025-03-06T10:00:00Z"),
        ("/government/news/old", "2025-03-01T10:00:00Z"),
    )
    return {"/api/search.json": [Reply(200, first), Reply(200, second)]}


def test_search_api_poll_adds_documents_newer_than_the_last_poll(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["search"]
    baseline, later = out.reports
    assert baseline["added"] == []
    assert later["added"] == ["https://www.gov.uk/government/news/new"]
    queries = [r.path for r in out.srv.requests if r.path.startswith("/api/search.json")]
    assert "filter_public_timestamp=from%3A2025-03-01" in queries[1]
    [st] = states(out.db_url).values()
    assert st.high_water is not None
    assert st.high_water.replace(tzinfo=None).isoformat() == "2025-03-06T10:00:00"


@scenario("search_same_second", 3, lambda srv: search_config(srv, q="mental health"))
def search_same_second_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    first = search_body(("/x", "2025-03-06T10:00:00Z"))
    # /y was published in the same second as /x, but after the baseline poll had run
    second = search_body(("/y", "2025-03-06T10:00:00Z"), ("/x", "2025-03-06T10:00:00Z"))
    return {"/api/search.json": [Reply(200, first), Reply(200, second), Reply(200, second)]}


def test_a_search_hit_in_the_same_second_as_the_newest_is_still_found(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["search_same_second"]
    assert [r["added"] for r in out.reports] == [[], ["https://www.gov.uk/y"], []]
    assert [r["updated"] for r in out.reports] == [[], [], []]


@scenario("search_pages", 2, lambda srv: search_config(srv, q="mental health"))
def search_pages_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    first = search_body(("/a", "2025-03-01T10:00:00Z"))
    later1 = search_body(("/c", "2025-03-05T10:00:00Z"), ("/d", "2025-03-04T10:00:00Z"), total=5)
    later2 = search_body(("/e", "2025-03-03T10:00:00Z"), ("/a", "2025-03-01T10:00:00Z"), total=5)
    return {"/api/search.json": [Reply(200, first), Reply(200, later1), Reply(200, later2)]}


def test_search_api_pages_are_further_fetch_rounds_until_older_results(
    discovery: dict[str, Outcome],
) -> None:
    out = discovery["search_pages"]
    assert out.reports[1]["added"] == [f"https://www.gov.uk/{p}" for p in ("c", "d", "e")]
    asked = [r.path for r in out.srv.requests if r.path.startswith("/api/search.json")]
    assert "start=2" in asked[2] and len(asked) == 3  # page 3 is never asked for


LISTING = (FIXTURES / "nhse-listing.html").read_bytes()


@scenario(
    "listing",
    2,
    lambda srv: source(listings=[srv.url("/publication/")], keywords=["mental health"]),
)
def listing_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    extra = LISTING.replace(
        b'<article><h2><a href="https://example.org',
        b'<article><h2><a href="/publication/fixture-mental-health-update/">Mental health update</a></h2></article>'
        b'<article><h2><a href="https://example.org',
    )
    return {"/publication/": [Reply(200, LISTING), Reply(200, extra)]}


def test_listing_page_poll_adds_new_links(discovery: dict[str, Outcome]) -> None:
    out = discovery["listing"]
    assert out.reports[1]["added"] == [out.srv.url("/publication/fixture-mental-health-update/")]


@scenario("failures", 2, lambda srv: source(feeds=[srv.url("/feed/"), srv.url("/bad/")]))
def failure_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    return {"/feed/": Reply(500, b"oops"), "/bad/": Reply(200, b"<html>no feed</html>")}


def test_failures_are_reported_and_counted_not_raised(discovery: dict[str, Outcome]) -> None:
    out = discovery["failures"]
    first = out.reports[0]
    assert len(first["errors"]) == 2 and "HTTP 500" in first["errors"][0]
    found = states(out.db_url)
    assert found[out.srv.url("/feed/")].consecutive_failures == 2
    assert "not an Atom or RSS document" in (found[out.srv.url("/bad/")].last_error or "")


@scenario(
    "nice",
    2,
    lambda srv: source(
        index_feeds=[srv.url("/feeds/products-lite")], keywords=["mental", "depression"]
    ),
)
def nice_routes(srv: LocalServer) -> dict[str, Reply | list[Reply]]:
    old = (NICE_LITE / "2021-07-12.json").read_bytes()
    new = (NICE_LITE / "2022-10-18.json").read_bytes()
    return {"/feeds/products-lite": [Reply(200, old), Reply(200, new)]}


@pytest.mark.skipif(not NICE_LITE.is_dir(), reason=f"shared corpus not found at {NICE_LITE}")
def test_nice_index_snapshots_become_guidance_events(discovery: dict[str, Outcome]) -> None:
    out = discovery["nice"]
    baseline, report = out.reports
    assert baseline["index_changes"] == 0
    assert report["index_changes"] == 246 + 180 + 6 + 53
    assert sorted(report["added"]) == [
        "https://www.nice.org.uk/guidance/ng212",
        "https://www.nice.org.uk/guidance/ng222",
        "https://www.nice.org.uk/guidance/ng223",
    ]
    db = Database(out.db_url)
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


def open_transactions(db_url: str) -> str | None:
    """What a second writer meets now: None when it could write at once, else why not."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            return None
        except sqlite3.OperationalError as exc:
            return str(exc)
        finally:
            conn.close()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%'"
                )
            ).scalar()
        return f"{busy} session(s) idle in transaction" if busy else None
    finally:
        engine.dispose()


def test_no_transaction_is_open_while_discovery_fetches(db_url: str) -> None:
    """Regression: discovery held a write transaction across its HTTP requests."""
    seen: list[str | None] = []
    with LocalServer(
        {
            "/fast/": Reply(200, FEED, RSS),
            "/slow/": Reply(200, FEED, RSS, delay_s=2.0),
        }
    ) as srv:

        def probe_while_fetching() -> None:
            deadline = time.monotonic() + 60
            while not any(r.path == "/slow/" for r in srv.requests):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
            seen.append(open_transactions(db_url))

        watcher = threading.Thread(target=probe_while_fetching)
        watcher.start()
        # Two polls: the second one fetches after the first poll has written its state.
        config = source(feeds=[srv.url("/fast/"), srv.url("/slow/")])
        jobs = [{"db": db_url, "config": config, "polls": 2}]
        reports = poll_jobs(jobs)[0]
        watcher.join()
    assert [r["errors"] for r in reports] == [[], []]
    assert seen == [None]
