"""NICE index data: products-lite snapshots, search listings and in-development lists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.errors import FetchError
from watchers.nice_index import (
    ProductStatus,
    diff_index,
    parse_indev_projects,
    parse_products_lite,
    parse_search_listing,
)

NICE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "nice"
needs_corpus = pytest.mark.skipif(
    not NICE.is_dir(), reason=f"shared corpus not found at {NICE} (../shared/corpus)"
)


@needs_corpus
def test_products_lite_snapshots_diff_on_status_title_and_major_date_only() -> None:
    folder = NICE / "publications-feed-products-lite"
    old = parse_products_lite((folder / "2021-07-12.json").read_bytes())
    new = parse_products_lite((folder / "2022-10-18.json").read_bytes())
    assert (len(old), len(new)) == (2717, 2963)
    kinds = Counter(c.kind for c in diff_index(old, new))
    # The corpus README records 246 new products, 180 status changes and 48 title changes,
    # 42 of which only add or drop a trailing space: those are not changes.
    assert kinds["new"] == 246
    assert kinds["status"] == 180
    assert kinds["title"] == 6
    # Of its 64 "last major modification" changes, 11 only truncate the time on the same day.
    assert kinds["major_modification"] == 53
    assert diff_index(old, old) == []


def test_last_modified_churn_alone_is_not_a_change() -> None:
    a = ProductStatus("NG1", "Title", "Published", "NG", "2020-01-01", "2020-01-01")
    b = ProductStatus("NG1", "Title", "Published", "NG", "2020-01-01", "2020-01-01")
    assert diff_index([a], [b]) == []
    c = ProductStatus("NG1", "Title", "Withdrawn", "NG", "2020-01-01", "2021-05-01")
    assert [(x.kind, x.old, x.new) for x in diff_index([a], [c])] == [
        ("status", "Published", "Withdrawn"),
        ("major_modification", "2020-01-01", "2021-05-01"),
    ]


@needs_corpus
def test_newfeeds_products_lite() -> None:
    api = NICE / "api-fixtures" / "publications"
    index = parse_products_lite((api / "newfeeds" / "products-lite.json").read_bytes())
    assert index["CG1"].title == "Schizophrenia" and index["CG1"].status == "Withdrawn"


@needs_corpus
def test_search_listings_and_indev_lists() -> None:
    search = NICE / "api-fixtures" / "search"
    published = parse_search_listing((search / "guidance-published.json").read_bytes())
    first = published[0]
    assert (first.id, first.status) == ("CG181", "Published")
    assert first.url == "https://www.nice.org.uk/guidance/cg181"
    indev = parse_search_listing((search / "guidance-indevelopment.json").read_bytes())
    assert indev and all(p.status == "In development" for p in indev)
    moved = diff_index(indev[:1], [ProductStatus(indev[0].id, indev[0].title, "Published")])
    assert [(c.kind, c.new) for c in moved] == [("status", "Published")]
    projects = parse_indev_projects(
        (NICE / "api-fixtures" / "inDev" / "gidprojects" / "all.json").read_bytes()
    )
    assert projects and projects[0].id.startswith("GID-")
    consult = parse_indev_projects(
        (NICE / "api-fixtures" / "inDev" / "inconsultationprojects.json").read_bytes()
    )
    assert consult and consult[0].status == "In consultation"
    with pytest.raises(FetchError, match="failed"):
        parse_search_listing((search / "search-results-failed.json").read_bytes())


def test_broken_index_data_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="not JSON"):
        parse_products_lite(b"<html>")
    with pytest.raises(FetchError, match="no products"):
        parse_products_lite(b'{"Products": []}')
