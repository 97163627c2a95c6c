"""gov.uk Content API and Search API parsing, on the real corpus where it helps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.errors import FetchError
from monitor.govuk import content_api_url, narrow_to_part, page_url_for, part_slug_for
from monitor.polling import SearchQuery
from watchers.govuk_content import parse_content_item
from watchers.govuk_search import hits_since, next_page_url, parse_search, search_url

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "govuk"
EXAMPLES = CORPUS / "content-api-examples"
needs_corpus = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"shared corpus not found at {CORPUS} (../shared/corpus)"
)


def example(rel: str) -> bytes:
    return (EXAMPLES / rel).read_bytes()


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
def test_sub_page_part_chosen_by_slug_from_the_parent_item() -> None:
    body = example("guide/guide.json")
    page = "https://www.gov.uk/national-curriculum/key-stage-1-and-2"
    assert (
        content_api_url(page)
        == "https://www.gov.uk/api/content/national-curriculum/key-stage-1-and-2"
    )
    item = parse_content_item(body)
    slug = part_slug_for(page, item.base_path)
    assert slug == "key-stage-1-and-2"
    narrowed = narrow_to_part(json.loads(body), slug)
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


def test_hits_since_stops_at_older_results_and_next_page_url_pages_on() -> None:
    q = SearchQuery(q="mental health", count=2)
    since = datetime(2025, 3, 2, tzinfo=UTC)
    base = "http://127.0.0.1:1/api/search.json"
    first = parse_search(
        json.dumps(
            {
                "results": [
                    _result("/a", "2025-03-05T10:00:00Z"),
                    _result("/b", "2025-03-04T10:00:00+00:00"),
                ],
                "total": 5,
            }
        ).encode()
    )
    hits, older = hits_since(first, q, since)
    assert [h.link for h in hits] == ["https://www.gov.uk/a", "https://www.gov.uk/b"]
    assert not older
    following = next_page_url(q, first, 0, since, base=base)
    assert following == search_url(q, start=2, since=since, base=base)
    second = parse_search(
        json.dumps(
            {
                "results": [
                    _result("/c", "2025-03-03T10:00:00Z"),
                    _result("/d", "2025-03-01T10:00:00Z"),
                ],
                "total": 5,
            }
        ).encode()
    )
    hits, older = hits_since(second, q, since)
    assert [h.link for h in hits] == ["https://www.gov.uk/c"] and older
    last = parse_search(
        json.dumps({"results": [_result("/e", "2025-03-06T10:00:00Z")], "total": 5}).encode()
    )
    assert next_page_url(q, last, 4, since, base=base) is None
    assert next_page_url(q, parse_search(b'{"results": [], "total": 9}'), 0, None) is None
