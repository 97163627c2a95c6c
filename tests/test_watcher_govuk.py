"""gov.uk Content API and Search API parsing on the real corpus, and fetching over loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from localserver import LocalServer, Reply

from monitor.errors import FetchError
from watchers.govuk_content import (
    content_api_url,
    narrow_to_part,
    page_url_for,
    parse_content_item,
    part_slug_for,
)
from watchers.govuk_search import SearchQuery, hits_since, parse_search, search_url
from watchers.http import Fetcher, FetchPolicy

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "govuk"
EXAMPLES = CORPUS / "content-api-examples"
needs_corpus = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"shared corpus not found at {CORPUS} (../shared/corpus)"
)


def example(rel: str) -> bytes:
    return (EXAMPLES / rel).read_bytes()


def local_fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allowed_domains=("127.0.0.1",), min_interval_s=0))


def test_content_api_url_mapping_round_trips() -> None:
    page = "https://www.gov.uk/government/publications/some-paper?utm_source=x#section"
    api = content_api_url(page)
    assert api == "https://www.gov.uk/api/content/government/publications/some-paper"
    assert page_url_for(api) == "https://www.gov.uk/government/publications/some-paper"
    assert content_api_url(api) == api
    assert content_api_url("https://www.gov.uk/") == "https://www.gov.uk/api/content/"


def test_part_slug_for_sub_pages() -> None:
    assert (
        part_slug_for(
            "https://www.gov.uk/national-curriculum/key-stage-3-and-4", "/national-curriculum"
        )
        == "key-stage-3-and-4"
    )
    assert part_slug_for("https://www.gov.uk/national-curriculum", "/national-curriculum") is None
    assert part_slug_for("https://www.gov.uk/national-curriculum-x", "/national-curriculum") is None


@needs_corpus
def test_every_corpus_content_item_parses() -> None:
    files = sorted(p for p in EXAMPLES.glob("*/*.json"))
    assert len(files) > 200
    with_history = 0
    for path in files:
        item = parse_content_item(path.read_bytes())
        assert item.base_path.startswith("/"), path
        with_history += bool(item.change_history)
    assert with_history >= 80


@needs_corpus
def test_guide_parts_and_part_selection() -> None:
    item = parse_content_item(example("guide/guide.json"))
    assert item.title == "The national curriculum"
    assert [p.slug for p in item.parts][:2] == ["overview", "key-stage-1-and-2"]
    part = item.part("key-stage-3-and-4")
    assert part is not None and part.title and "<" in part.body
    assert item.part("no-such-part") is None


@needs_corpus
def test_withdrawn_publication_with_change_history() -> None:
    item = parse_content_item(example("publication/withdrawn_publication.json"))
    assert item.withdrawn_notice and "out of date" in item.withdrawn_notice
    assert item.withdrawn_at == datetime(2015, 1, 13, 13, 5, 30, tzinfo=UTC)
    assert [c.note for c in item.change_history] == [
        "Published updated pig keepers guide.",
        "First published.",
    ]
    assert item.organisations == ["Department for Environment, Food & Rural Affairs"]


@needs_corpus
def test_attachments_organisations_and_taxons() -> None:
    pub = parse_content_item(example("publication/publication-with-featured-attachments.json"))
    assert len(pub.attachments) == 1
    att = pub.attachments[0]
    assert att.url.endswith("/PUBLIC_1392629965.pdf") and att.content_type == "application/pdf"
    assert att.title == "Number of ex-regular service personnel now part of FR20"
    case = parse_content_item(example("case_study/doing-business-in-spain.json"))
    assert case.taxons == ["Trade and investment"]
    travel = parse_content_item(example("travel_advice/full-country.json"))
    assert any(a.url.endswith(".pdf") for a in travel.attachments)


def test_not_a_content_item_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="not JSON"):
        parse_content_item(b"<html></html>")
    with pytest.raises(FetchError, match="base_path"):
        parse_content_item(b'{"results": []}')


@needs_corpus
def test_sub_page_303_to_parent_then_part_chosen_by_slug() -> None:
    body = example("guide/guide.json")
    routes = {
        "/api/content/national-curriculum": Reply(200, body, {"Content-Type": "application/json"}),
        "/api/content/national-curriculum/key-stage-1-and-2": Reply(
            303, headers={"Location": "/api/content/national-curriculum"}
        ),
    }
    with LocalServer(routes) as srv:
        page = srv.url("/national-curriculum/key-stage-1-and-2")
        res = local_fetcher().get(content_api_url(page))
    assert res.redirects == [(303, srv.url("/api/content/national-curriculum"))]
    item = parse_content_item(res.body)
    slug = part_slug_for(page, item.base_path)
    assert slug == "key-stage-1-and-2"
    narrowed = narrow_to_part(json.loads(res.body), slug)
    assert [p["slug"] for p in narrowed["details"]["parts"]] == ["key-stage-1-and-2"]


def test_search_url_uses_only_known_parameters() -> None:
    q = SearchQuery(
        q="mental health", filters={"organisations": ["department-of-health-and-social-care"]}
    )
    url = search_url(q, start=100, since=datetime(2025, 3, 1, 15, 0, tzinfo=UTC))
    params = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/api/search.json"
    assert params["q"] == ["mental health"]
    assert params["filter_organisations"] == ["department-of-health-and-social-care"]
    assert params["filter_public_timestamp"] == ["from:2025-03-01"]
    assert params["order"] == ["-public_timestamp"] and params["start"] == ["100"]
    assert "public_timestamp" in params["fields"][0].split(",")
    with pytest.raises(ValueError, match="422"):
        search_url(SearchQuery(filters={"organisation": ["x"]}))
    with pytest.raises(ValueError):
        search_url(SearchQuery(order="newest"))


@needs_corpus
def test_search_api_corpus_responses_parse() -> None:
    page = parse_search(
        (CORPUS / "search-api" / "search-q-tax-count1-autocomplete.json").read_bytes()
    )
    assert page.total == 79464 and len(page.hits) == 1
    hit = page.hits[0]
    assert hit.link == "https://www.gov.uk/vehicle-tax"
    assert hit.public_timestamp == datetime(2017, 12, 7, 12, 54, 39, tzinfo=UTC)
    assert hit.organisations == ("DVLA",) and hit.format == "transaction"
    empty = parse_search(
        (CORPUS / "search-api" / "search-api-aggregate-response.json").read_bytes()
    )
    assert empty.hits == [] and empty.total == 314216


def _result(link: str, ts: str) -> dict[str, object]:
    return {
        "link": link,
        "title": link.rsplit("/", 1)[-1],
        "public_timestamp": ts,
        "format": "news",
    }


def test_hits_since_pages_until_older_results() -> None:
    q = SearchQuery(q="mental health", count=2)
    since = datetime(2025, 3, 2, tzinfo=UTC)
    pages = [
        [_result("/a", "2025-03-05T10:00:00Z"), _result("/b", "2025-03-04T10:00:00+00:00")],
        [_result("/c", "2025-03-03T10:00:00Z"), _result("/d", "2025-03-01T10:00:00Z")],
        [_result("/e", "2025-02-01T10:00:00Z")],
    ]
    with LocalServer() as srv:
        base = srv.url("/api/search.json")
        for i, results in enumerate(pages):
            path = urlsplit(search_url(q, start=2 * i, since=since, base=base))
            body = json.dumps({"results": results, "total": 5, "start": 2 * i}).encode()
            srv.routes[f"{path.path}?{path.query}"] = Reply(200, body)
        hits = hits_since(local_fetcher(), q, since, base=base)
        assert [h.link for h in hits] == [
            "https://www.gov.uk/a",
            "https://www.gov.uk/b",
            "https://www.gov.uk/c",
        ]
        assert sum(n for p, n in srv.hits.items() if p.startswith("/api/search.json")) == 2


def test_search_api_error_status_is_raised() -> None:
    with LocalServer() as srv:
        base = srv.url("/api/search.json")
        with pytest.raises(FetchError, match="HTTP 404"):
            hits_since(local_fetcher(), SearchQuery(q="x"), None, base=base)
